"""Pure rules of the incidents service: state machine, SLA deadlines, routing, duplicates,
ticket numbers, and who may see a reporter's contact. No I/O, no framework."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import state_machine
from shared.calendar import (  # noqa: F401  (part of this domain's vocabulary)
    BRUSSELS,
    add_working_days,
    belgian_holidays,
    is_working_day,
    working_days_deadline,
)
from shared.geo import degree_box, distance_m, street_key  # noqa: F401

# -- state machine --------------------------------------------------------------------------

NEW, TRIAGED, IN_PROGRESS, RESOLVED = "new", "triaged", "in_progress", "resolved"
CLOSED, CANCELLED, REOPENED, DUPLICATE = "closed", "cancelled", "reopened", "duplicate"
STATUSES = (NEW, TRIAGED, IN_PROGRESS, RESOLVED, CLOSED, CANCELLED, REOPENED, DUPLICATE)

# from -> allowed targets. Cancelled and duplicate are final; closed can be reopened when the
# problem comes back (a re-tagged wall is a new incident, a badly cleaned one is a reopening).
TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({TRIAGED, CANCELLED, DUPLICATE}),
    TRIAGED: frozenset({IN_PROGRESS, RESOLVED, CANCELLED, DUPLICATE}),
    IN_PROGRESS: frozenset({RESOLVED, CANCELLED}),
    RESOLVED: frozenset({CLOSED, REOPENED}),
    CLOSED: frozenset({REOPENED}),
    REOPENED: frozenset({TRIAGED, IN_PROGRESS, RESOLVED, CANCELLED, DUPLICATE}),
    CANCELLED: frozenset(),
    DUPLICATE: frozenset(),
}
OPEN_STATUSES = frozenset({NEW, TRIAGED, IN_PROGRESS, REOPENED})
FINAL_STATUSES = frozenset({CLOSED, CANCELLED, DUPLICATE})


def path_to(current: str, target: str) -> list[str]:
    """The statuses to go through to reach `target` when another service's fact moves an
    incident (a removal job scheduled or done): an untriaged incident is triaged first. Empty
    when the incident is already there or beyond (e.g. closed)."""
    if current == target:
        return []
    if target in TRANSITIONS.get(current, ()):
        return [target]
    if current == NEW and target in TRANSITIONS[TRIAGED]:
        return [TRIAGED, target]
    return []
state_machine.validate(TRANSITIONS, STATUSES)


class TransitionRefused(ValueError):
    pass


def check_transition(current: str, target: str, *, duplicate_of: int | None = None,
                     incident_id: int | None = None) -> None:
    state_machine.check(TRANSITIONS, current, target, TransitionRefused)
    if target == DUPLICATE:
        if duplicate_of is None:
            raise TransitionRefused("A duplicate needs 'duplicate_of'.")
        if duplicate_of == incident_id:
            raise TransitionRefused("An incident cannot duplicate itself.")
    elif duplicate_of is not None:
        raise TransitionRefused("'duplicate_of' only goes with the status 'duplicate'.")


# -- SLA in working days (Belgian calendar in shared.calendar) ---------------------------------

sla_deadline = working_days_deadline


def is_overdue(status: str, sla_due_at: datetime, now: datetime) -> bool:
    return status in OPEN_STATUSES and now > sla_due_at


# -- categories and routing -------------------------------------------------------------------

@dataclass(frozen=True)
class CategoryRule:
    code: str
    parent_code: str
    partner: str
    sla_working_days: int
    zone: str
    phenomenon: str | None = None


def route(rule: CategoryRule, override_partner: str | None = None) -> str:
    """Responsible partner: the category's rule unless triage decided otherwise."""
    return override_partner or rule.partner


# -- duplicates -------------------------------------------------------------------------------

DUPLICATE_RADIUS_M = 50.0
DUPLICATE_WINDOW = timedelta(days=14)
MAX_DUPLICATE_HINTS = 10


@dataclass(frozen=True)
class Candidate:
    incident_id: int
    ticket: str
    category: str
    status: str
    street: str | None
    lat: float | None
    lon: float | None
    reported_at: datetime


def duplicate_hints(category: str, street: str | None, lat: float | None, lon: float | None,
                    now: datetime, candidates: list[Candidate]) -> list[dict]:
    """Open incidents of the same category within 50 m or on the same street, last 14 days."""
    hints = []
    for other in candidates:
        if other.category != category or other.status not in OPEN_STATUSES:
            continue
        if now - other.reported_at > DUPLICATE_WINDOW:
            continue
        reasons, metres = [], None
        if None not in (lat, lon, other.lat, other.lon):
            metres = distance_m(lat, lon, other.lat, other.lon)
            if metres <= DUPLICATE_RADIUS_M:
                reasons.append("within_50m")
        if street and other.street and street == other.street:
            reasons.append("same_street")
        if reasons:
            hints.append({"incident_id": other.incident_id, "ticket": other.ticket,
                          "reasons": reasons,
                          "distance_m": round(metres, 1) if metres is not None else None})
    hints.sort(key=lambda h: (h["distance_m"] is None, h["distance_m"] or 0))
    return hints[:MAX_DUPLICATE_HINTS]


# -- ticket numbers ---------------------------------------------------------------------------

def ticket_number(year: int, sequence: int) -> str:
    return f"LISA-{year}-{sequence:06d}"


# -- who sees the citizen's contact (DESIGN.md section 5) ---------------------------------------

def contact_visibility(role: str, organisation: str, intake_organisation: str,
                       consent_police: bool) -> str | None:
    """None: hidden. 'read': visible. 'read_logged': visible and written to the access log."""
    if role == "desk" and organisation == intake_organisation:
        return "read_logged"
    if role == "police" and consent_police:
        return "read_logged"
    if role == "coordinator":
        return "read_logged"
    return None


# -- who may do what with incidents -----------------------------------------------------------

REPORTERS = frozenset({"desk", "warden", "street_worker", "mediator", "police", "admin"})
READERS = REPORTERS | {"coordinator", "auditor", "tags", "service"}
TRIAGERS = frozenset({"coordinator", "admin"})
GRAFFITI_PARENT = "graffiti"


def may_read(role: str, parent_category: str) -> bool:
    """`service`: another service acting for the platform (e.g. tags reading a graffiti
    incident's place); it never sees the citizen's contact (contact_visibility)."""
    if role == "tags":
        return parent_category == GRAFFITI_PARENT
    return role in READERS
