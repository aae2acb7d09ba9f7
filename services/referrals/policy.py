"""Who may see and do what with referrals (DESIGN.md section 5, ADR 9). Pure: roles and
organisations in, yes or no out; the use cases and views ask here and nowhere else. Deny by
default."""
DESK, WARDEN, STREET_WORKER, MEDIATOR, POLICE = "desk", "warden", "street_worker", "mediator", \
    "police"
COORDINATOR, AUDITOR, ADMIN = "coordinator", "auditor", "admin"

# Roles that work with people (and may hold referral content for their organisation).
CASEWORK_ROLES = frozenset({STREET_WORKER, MEDIATOR, POLICE})
# Roles that see their own organisation's referrals (metadata).
METADATA_ROLES = frozenset({DESK, STREET_WORKER, MEDIATOR, POLICE})
# Roles that oversee every referral's metadata, never its content.
OVERSEERS = frozenset({COORDINATOR, AUDITOR, ADMIN})
SENDER_ROLES = METADATA_ROLES | {WARDEN}


def party(organisation: str, sender_org: str, receiver_org: str) -> bool:
    return organisation in (sender_org, receiver_org)


def may_read_metadata(role: str, organisation: str, sender_org: str, receiver_org: str) -> bool:
    if role in OVERSEERS:
        return True
    return role in METADATA_ROLES and party(organisation, sender_org, receiver_org)


def may_read_history(role: str, organisation: str, sender_org: str, receiver_org: str) -> bool:
    """Who moved the referral when (statuses, organisations' staff, outcomes; never content):
    whoever reads its metadata."""
    return may_read_metadata(role, organisation, sender_org, receiver_org)


def may_read_content(role: str, organisation: str, sender_org: str, receiver_org: str) -> bool:
    """Content, consent and client: users of the sending and receiving organisations who work
    with people. Not the coordinator, not the auditor (access log only), not the admin."""
    return role in CASEWORK_ROLES and party(organisation, sender_org, receiver_org)


def may_list(role: str) -> bool:
    return role in METADATA_ROLES or role in OVERSEERS


def lists_own_organisation_only(role: str) -> bool:
    return role in METADATA_ROLES


def may_send_any(role: str) -> bool:
    """May send a referral of some kind (wardens: situations only, see `may_send`)."""
    return role in SENDER_ROLES


def may_send(role: str, subject: str) -> bool:
    """Wardens signal situations only; they handle no personal data."""
    if role == WARDEN:
        return subject == "situation"
    return role in METADATA_ROLES


def may_answer(role: str, organisation: str, receiver_org: str) -> bool:
    """Accept, decline, record the first contact, close with an outcome."""
    return role in CASEWORK_ROLES and organisation == receiver_org


def is_sender(role: str, organisation: str, sender_org: str) -> bool:
    """May withdraw a referral it sent that is not answered yet."""
    return role in METADATA_ROLES and organisation == sender_org


def may_read_audit(role: str) -> bool:
    return role == AUDITOR


def may_change_directory(role: str) -> bool:
    return role == ADMIN
