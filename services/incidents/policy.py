"""Who may do what with incidents, and who sees a citizen's contact (DESIGN.md section 5). Pure:
roles and organisations in, yes or no out; the use cases and views ask here and nowhere else."""
from services.incidents.domain import GRAFFITI_PARENT

DESK, WARDEN, STREET_WORKER, MEDIATOR = "desk", "warden", "street_worker", "mediator"
POLICE, TAGS, COORDINATOR, AUDITOR, ADMIN = "police", "tags", "coordinator", "auditor", "admin"
SERVICE = "service"  # another service acting for the platform (e.g. tags reading a job's place)
# Open311 GeoReport v2 callers (ADR 30): a client with an API key, and anyone reading.
OPEN311_CLIENT, OPEN311_PUBLIC, OPEN311_CHANNEL = "open311_client", "open311_public", "open311"

STAFF_REPORTERS = frozenset({DESK, WARDEN, STREET_WORKER, MEDIATOR, POLICE, ADMIN})
REPORTERS = STAFF_REPORTERS | {OPEN311_CLIENT}
READERS = STAFF_REPORTERS | {COORDINATOR, AUDITOR, TAGS, SERVICE}
# The Open311 view (public categories, no description, no contact) is the public's.
OPEN311_READERS = READERS | {OPEN311_CLIENT, OPEN311_PUBLIC}
TRIAGERS = frozenset({COORDINATOR, ADMIN})
CONTACT_LOG_READERS = frozenset({AUDITOR, ADMIN})
# Roles that work with people: they may follow up a citizen for their organisation.
CASEWORKERS = frozenset({STREET_WORKER, MEDIATOR})


def may_report(role: str) -> bool:
    return role in REPORTERS


def may_use_channel(role: str, channel: str) -> bool:
    """An Open311 client reports through Open311 only, and only it reports through Open311:
    the channel says how a request came in, so it is never a caller's claim."""
    return (role == OPEN311_CLIENT) == (channel == OPEN311_CHANNEL)


def may_read_open311(role: str) -> bool:
    return role in OPEN311_READERS


def may_read_incidents(role: str) -> bool:
    """May read some incidents (which ones: `may_read`)."""
    return role in READERS


def reads_only(role: str) -> str | None:
    """The category group a role's reading is limited to, if any: the crew reads graffiti."""
    return GRAFFITI_PARENT if role == TAGS else None


def may_read(role: str, parent_category: str) -> bool:
    """This incident: a role outside its zone must not even learn it exists."""
    if not may_read_incidents(role):
        return False
    only = reads_only(role)
    return only is None or parent_category == only


def may_change(role: str) -> bool:
    """Triage, re-route, change the status."""
    return role in TRIAGERS


def may_read_contact(role: str, organisation: str, *, intake_organisation: str,
                     responsible_partner: str, may_contact: bool,
                     share_with_police: bool) -> bool:
    """The citizen's contact on one incident; every read is logged. The desk for its own intake;
    the police only if the citizen agreed to police follow-up; a caseworker of the responsible
    partner if the citizen agreed to be contacted; the coordinator. The service role never (a
    service reads places, not people)."""
    if role == DESK:
        return organisation == intake_organisation
    if role == POLICE:
        return share_with_police
    if role in CASEWORKERS:
        return may_contact and organisation == responsible_partner
    return role == COORDINATOR


def may_read_contact_log(role: str) -> bool:
    """Who read a contact, when and why (never the contact itself)."""
    return role in CONTACT_LOG_READERS
