"""Pure rules of the incidents service: state machine, SLA deadlines, routing, duplicates,
ticket numbers, and who may see a reporter's contact. No I/O, no framework."""
import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

BRUSSELS = ZoneInfo("Europe/Brussels")

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
assert set(TRANSITIONS) == set(STATUSES)
assert all(targets <= set(STATUSES) for targets in TRANSITIONS.values())


class TransitionRefused(ValueError):
    pass


def check_transition(current: str, target: str, *, duplicate_of: int | None = None,
                     incident_id: int | None = None) -> None:
    if target not in TRANSITIONS.get(current, ()):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "none"
        raise TransitionRefused(f"Cannot go from '{current}' to '{target}' (allowed: {allowed}).")
    if target == DUPLICATE:
        if duplicate_of is None:
            raise TransitionRefused("A duplicate needs 'duplicate_of'.")
        if duplicate_of == incident_id:
            raise TransitionRefused("An incident cannot duplicate itself.")
    elif duplicate_of is not None:
        raise TransitionRefused("'duplicate_of' only goes with the status 'duplicate'.")


# -- SLA in working days ----------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def _belgian_holidays(years: tuple[int, ...]) -> holidays.HolidayBase:
    return holidays.Belgium(years=list(years))


def belgian_holidays(years) -> holidays.HolidayBase:
    """Belgian public holidays of `years` (cached: building a calendar takes milliseconds)."""
    return _belgian_holidays(tuple(years))


def is_working_day(day: date, calendar) -> bool:
    return day.weekday() < 5 and day not in calendar


def add_working_days(start: date, days: int, calendar=None) -> date:
    """The `days`-th working day after `start` (start itself does not count)."""
    calendar = calendar if calendar is not None else belgian_holidays(
        range(start.year, start.year + 2 + days // 200))
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if is_working_day(current, calendar):
            left -= 1
    return current


def sla_deadline(reported_at: datetime, working_days: int, calendar=None) -> datetime:
    """End of the N-th working day after the report (Brussels time), as UTC.

    A report made on a weekend or holiday starts counting from the next working day, as the
    antenna would when it opens."""
    local_day = reported_at.astimezone(BRUSSELS).date()
    due_day = add_working_days(local_day, max(working_days, 0), calendar)
    if working_days <= 0:
        due_day = local_day
    end_of_day = datetime.combine(due_day, time(23, 59, 59), tzinfo=BRUSSELS)
    return end_of_day.astimezone(UTC)


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


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in metres."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def degree_box(lat: float, metres: float) -> tuple[float, float]:
    """Half-sizes in degrees (lat, lon) of a box that contains every point within `metres`."""
    dlat = metres / 111_000.0 * 1.01
    dlon = metres / (111_000.0 * max(math.cos(math.radians(lat)), 0.01)) * 1.01
    return dlat, dlon


_HOUSE_NUMBER = re.compile(r"\b\d+[a-z]?(\s*(bte|bus|boite|box)\s*\w+)?\b")
_POSTCODE_TAIL = re.compile(r",.*$")


def street_key(address: str | None) -> str | None:
    """'Rue de la Tulipe 12, 1050 Ixelles' and 'rue de la tulipe 3' give the same key."""
    if not address:
        return None
    text = unicodedata.normalize("NFKD", address).encode("ascii", "ignore").decode().lower()
    text = _POSTCODE_TAIL.sub("", text)
    text = _HOUSE_NUMBER.sub(" ", text)
    text = re.sub(r"[^a-z ]+", " ", text)
    key = " ".join(text.split())
    return key or None


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
READERS = REPORTERS | {"coordinator", "auditor", "tags"}
TRIAGERS = frozenset({"coordinator", "admin"})
GRAFFITI_PARENT = "graffiti"


def may_read(role: str, parent_category: str) -> bool:
    if role == "tags":
        return parent_category == GRAFFITI_PARENT
    return role in READERS
