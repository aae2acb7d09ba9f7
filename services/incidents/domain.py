"""Pure rules of the incidents service: lifecycle, SLA deadlines, routing, duplicates and ticket
numbers (who may do what: policy.py). No I/O, no framework."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.calendar import (  # noqa: F401  (part of this domain's vocabulary)
    BRUSSELS,
    add_working_days,
    belgian_holidays,
    is_working_day,
    working_days_deadline,
)
from shared.geo import degree_box, distance_m, street_key  # noqa: F401
from shared.state_machine import ANYONE, USERS, Lifecycle, MoveRefused

# -- lifecycle ---------------------------------------------------------------------------------

NEW, TRIAGED, IN_PROGRESS, RESOLVED = "new", "triaged", "in_progress", "resolved"
CLOSED, CANCELLED, REOPENED, DUPLICATE = "closed", "cancelled", "reopened", "duplicate"
STATUSES = (NEW, TRIAGED, IN_PROGRESS, RESOLVED, CLOSED, CANCELLED, REOPENED, DUPLICATE)

# Cancelled and duplicate are final; closed can be reopened when the problem comes back (a
# re-tagged wall is a new incident, a badly cleaned one is a reopening). Triaged -> triaged is a
# re-routing to another partner. The platform itself (a removal job of the tags service, as the
# tags service confirms it) may only start and finish the work, triaging first if nobody has.
LIFECYCLE = Lifecycle(
    "incident", STATUSES,
    {
        NEW: {TRIAGED: ANYONE, CANCELLED: USERS, DUPLICATE: USERS},
        TRIAGED: {TRIAGED: USERS, IN_PROGRESS: ANYONE, RESOLVED: ANYONE, CANCELLED: USERS,
                  DUPLICATE: USERS},
        IN_PROGRESS: {RESOLVED: ANYONE, CANCELLED: USERS},
        RESOLVED: {CLOSED: USERS, REOPENED: USERS},
        CLOSED: {REOPENED: USERS},
        REOPENED: {TRIAGED: USERS, IN_PROGRESS: ANYONE, RESOLVED: ANYONE, CANCELLED: USERS,
                   DUPLICATE: USERS},
        CANCELLED: {},
        DUPLICATE: {},
    },
    stamps={TRIAGED: ("triaged_at",), CLOSED: ("closed_at",), CANCELLED: ("closed_at",),
            DUPLICATE: ("closed_at",)},
    clears={REOPENED: ("closed_at",)},
    touched="updated_at",
)
OPEN_STATUSES = frozenset({NEW, TRIAGED, IN_PROGRESS, REOPENED})
FINAL_STATUSES = frozenset({CLOSED, CANCELLED, DUPLICATE})


def path_to(current: str, target: str) -> list[str]:
    """The statuses the platform goes through to reach `target` when another service's fact
    moves an incident (a removal job scheduled or done): an untriaged incident is triaged
    first. Empty when the incident is already there or beyond (e.g. closed)."""
    if current == target:
        return []
    if LIFECYCLE.allows(current, target, by_system=True):
        return [target]
    if LIFECYCLE.allows(current, TRIAGED, by_system=True) and \
            LIFECYCLE.allows(TRIAGED, target, by_system=True):
        return [TRIAGED, target]
    return []


class TransitionRefused(MoveRefused):
    pass


def check_duplicate(target: str, *, duplicate_of: int | None, incident_id: int) -> None:
    """A duplicate names another incident; only a duplicate names one."""
    if target == DUPLICATE:
        if duplicate_of is None:
            raise TransitionRefused("A duplicate needs 'duplicate_of'.")
        if duplicate_of == incident_id:
            raise TransitionRefused("An incident cannot duplicate itself.")
    elif duplicate_of is not None:
        raise TransitionRefused("'duplicate_of' only goes with the status 'duplicate'.")


def triage_note(status: str, partner_before: str, partner: str, category_before: str,
                category: str, note: str | None) -> str | None:
    """What a triage's history row says: the re-routing, if any, then the coordinator's note. A
    second triage that changes neither partner nor category is refused: there is nothing to
    re-route."""
    if status == TRIAGED and (partner_before, category_before) == (partner, category):
        raise TransitionRefused(f"Already triaged to {partner}: re-route to another partner "
                                f"or category.")
    changes = []
    if category != category_before:
        changes.append(f"category {category_before} -> {category}")
    if partner != partner_before:
        changes.append(f"re-routed from {partner_before} to {partner}")
    return "; ".join(changes + ([note] if note else [])) or None


# -- SLA in working days (Belgian calendar in shared.calendar) ---------------------------------

sla_deadline = working_days_deadline


def is_overdue(status: str, sla_due_at: datetime, now: datetime) -> bool:
    return status in OPEN_STATUSES and now > sla_due_at


# -- categories and routing -------------------------------------------------------------------

GRAFFITI_PARENT = "graffiti"


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
        reasons: list[str] = []
        metres: float | None = None
        if lat is not None and lon is not None and other.lat is not None and \
                other.lon is not None:
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


def ticket_key(text: str) -> str:
    """A ticket as a person types it: any case, spaces around ('  lisa-2026-000123 ')."""
    return text.strip().upper()
