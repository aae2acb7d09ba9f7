"""The patrols domain: posts, demand, wardens and the slots a roster fills. Pure: no I/O.

Times are wall-clock times in Brussels (naive datetimes): a school gate opens at 08:00 whatever
the season, and the rules below (9 hours a day, 11 hours of rest) are about the warden's day.

- A *post* is a place to be: a school gate, a market, an event, a hotspot, a park, a public
  transport stop; it may need skills (`sanctions`: certified to record municipal administrative
  sanctions; `fr`, `nl`; `first_aid`).
- *Demand* is a time window at a post with the number of wardens required (2 unless stated: the
  Gardiens de la Paix patrol in pairs). A window recurs on a weekday (from a date, until a date),
  optionally only on school days (not in the school holidays of the chosen school authority nor
  on Belgian public holidays), or happens once (an event).
- Expanding the demand over a period gives *slots*: one window on one day at one post.
- A *warden* has contract hours a week, skills, leave (days off) and preferred and unwanted
  weekdays.

The hard rules every roster keeps are checked by services/patrols/checker.py, independently of
the solver (services/patrols/solver.py) that builds rosters.
"""
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from shared.state_machine import USERS, Lifecycle

POST_KINDS = ("school_gate", "market", "event", "hotspot", "park", "transport_stop")
SKILLS = ("sanctions", "fr", "nl", "first_aid")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# A roster is drafted by the solver, published by the warden coordinator, and superseded when a
# later roster of the same period is published; a swap is offered by a warden, accepted by
# another, then approved or refused by the coordinator. Every move through shared/state_machine.
DRAFT, PUBLISHED, SUPERSEDED = "draft", "published", "superseded"
ROSTER_LIFECYCLE = Lifecycle(
    "roster", (DRAFT, PUBLISHED, SUPERSEDED),
    {DRAFT: {PUBLISHED: USERS}, PUBLISHED: {SUPERSEDED: USERS}, SUPERSEDED: {}},
    stamps={PUBLISHED: ("published_at",)},
)
OFFERED, ACCEPTED, APPROVED, REFUSED = "offered", "accepted", "approved", "refused"
SWAP_LIFECYCLE = Lifecycle(
    "swap", (OFFERED, ACCEPTED, APPROVED, REFUSED),
    {OFFERED: {ACCEPTED: USERS}, ACCEPTED: {APPROVED: USERS, REFUSED: USERS},
     APPROVED: {}, REFUSED: {}},
    stamps={APPROVED: ("decided_at",), REFUSED: ("decided_at",)},
)

# The hard rules (docs/adr/0020-patrols-roster-rules-and-model.md).
MAX_DAILY_MINUTES = 9 * 60
MIN_REST_MINUTES = 11 * 60        # between the last assignment of a day and the next day's first
TRAVEL_BUFFER_MINUTES = 15        # between the end of one assignment and the start of the next
DEFAULT_REQUIRED = 2              # wardens go in pairs unless the demand says otherwise
MAX_PERIOD_DAYS = 35              # a week to a month (five weeks: a month starting mid-week)

# Unpopular slots, spread fairly: early mornings, evenings, weekends.
EARLY_BEFORE = time(8, 0)
EVENING_AFTER = time(19, 0)


class DomainError(ValueError):
    """An input that cannot make sense (the API answers 422 naming it)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Post:
    id: int
    name: str
    kind: str
    neighbourhood: str | None = None
    skills: frozenset[str] = frozenset()
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Demand:
    """A window at a post: weekly on `weekday` (0 = Monday) from `valid_from` until `valid_to`,
    or once on `on_date`."""
    id: int
    post_id: int
    start: time
    end: time
    required: int = DEFAULT_REQUIRED
    weekday: int | None = None
    on_date: date | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    school_days_only: bool = False


@dataclass(frozen=True)
class Warden:
    id: int
    name: str
    contract_hours: float                         # a week
    skills: frozenset[str] = frozenset()
    leave: frozenset[date] = frozenset()
    desired_days: frozenset[int] = frozenset()    # weekdays, 0 = Monday
    undesired_days: frozenset[int] = frozenset()
    active: bool = True


@dataclass(frozen=True)
class Slot:
    """One window on one day at one post: what a roster fills."""
    id: str
    post_id: int
    demand_id: int
    start: datetime
    end: datetime
    required: int
    skills: frozenset[str] = frozenset()
    neighbourhood: str | None = None
    post_kind: str = "hotspot"

    @property
    def day(self) -> date:
        return self.start.date()

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    @property
    def unpopular(self) -> bool:
        return (self.start.time() < EARLY_BEFORE or self.end.time() > EVENING_AFTER
                or self.start.weekday() >= 5)


@dataclass(frozen=True)
class Assignment:
    slot_id: str
    warden_id: int


@dataclass(frozen=True)
class Instance:
    """Everything a roster of one period is made for."""
    first_day: date
    last_day: date
    slots: tuple[Slot, ...]
    wardens: tuple[Warden, ...]
    hotspots: Mapping[str, int] = field(default_factory=dict)   # neighbourhood -> incidents

    def slot(self, slot_id: str) -> Slot:
        return self.slots_by_id[slot_id]

    @functools.cached_property
    def slots_by_id(self) -> dict[str, Slot]:
        return {s.id: s for s in self.slots}

    @functools.cached_property
    def wardens_by_id(self) -> dict[int, Warden]:
        return {w.id: w for w in self.wardens}


# -- validation of what the coordinator enters ---------------------------------------------------

def check_window(start: time, end: time) -> None:
    """A window within one day, start before end (a night window is two windows)."""
    if end <= start:
        raise DomainError("end", "a window ends after it starts, on the same day")
    if (datetime.combine(date.min, end) - datetime.combine(date.min, start)) > \
            timedelta(minutes=MAX_DAILY_MINUTES):
        raise DomainError("end", f"a window lasts at most {MAX_DAILY_MINUTES // 60} hours "
                                 "(nobody may work longer in a day)")


def check_required(required: int, wardens_available: int) -> None:
    if required < 1:
        raise DomainError("required", "at least one warden")
    if required > wardens_available:
        raise DomainError("required", f"{required} wardens asked for, the team has "
                                      f"{wardens_available}")


def check_period(first_day: date, last_day: date) -> None:
    if last_day < first_day:
        raise DomainError("last_day", "the period ends before it starts")
    if (last_day - first_day).days + 1 > MAX_PERIOD_DAYS:
        raise DomainError("last_day", f"a period lasts at most {MAX_PERIOD_DAYS} days")


def check_contract_hours(hours: float) -> None:
    if not 0 < hours <= 48:
        raise DomainError("contract_hours", "between 0 and 48 hours a week (working time law)")


def overlapping_windows(existing: Iterable[Demand], new: Demand) -> Demand | None:
    """A demand at the same post whose window overlaps the new one on a day they share."""
    for other in existing:
        if other.post_id != new.post_id or other.id == new.id:
            continue
        if not (new.start < other.end and other.start < new.end):
            continue
        if _share_a_day(other, new):
            return other
    return None


def _share_a_day(a: Demand, b: Demand) -> bool:
    def days(d: Demand) -> tuple[date, date]:
        if d.on_date is not None:
            return d.on_date, d.on_date
        return d.valid_from or date.min, d.valid_to or date.max

    a_first, a_last = days(a)
    b_first, b_last = days(b)
    if a_last < b_first or b_last < a_first:
        return False
    if a.on_date is not None and b.on_date is not None:
        return a.on_date == b.on_date
    if a.weekday is not None and b.weekday is not None:
        return a.weekday == b.weekday
    once, weekly = (a, b) if a.on_date is not None else (b, a)
    return once.on_date is not None and once.on_date.weekday() == weekly.weekday


# -- days off and slots -----------------------------------------------------------------------

def no_school_days(school_holidays: Iterable[tuple[str, date, date]],
                   public_holidays: Mapping[date, str], first_day: date,
                   last_day: date) -> dict[date, str]:
    """Days of the period without school (school holidays, public holidays), with why."""
    closed: dict[date, str] = {}
    for name, start, end in school_holidays:
        day = max(start, first_day)
        while day <= min(end, last_day):
            closed[day] = name
            day += timedelta(days=1)
    for day, name in public_holidays.items():
        if first_day <= day <= last_day:
            closed.setdefault(day, name)
    return closed


def expand(posts: Iterable[Post], demands: Iterable[Demand], first_day: date, last_day: date,
           closed_days: Mapping[date, str] | None = None) -> list[Slot]:
    """The slots of the period: each weekly window on its weekday (skipping days without school
    when it only runs on school days), each one-off window on its date."""
    closed = closed_days or {}
    by_id = {p.id: p for p in posts}
    slots = []
    for d in demands:
        post = by_id.get(d.post_id)
        if post is None:
            continue
        day = first_day
        while day <= last_day:
            if _happens(d, day, closed):
                slots.append(Slot(
                    id=f"{d.id}@{day.isoformat()}", post_id=post.id, demand_id=d.id,
                    start=datetime.combine(day, d.start), end=datetime.combine(day, d.end),
                    required=d.required, skills=post.skills, neighbourhood=post.neighbourhood,
                    post_kind=post.kind))
            day += timedelta(days=1)
    return sorted(slots, key=lambda s: (s.start, s.post_id, s.id))


def _happens(d: Demand, day: date, closed: Mapping[date, str]) -> bool:
    if d.on_date is not None:
        return d.on_date == day
    if d.weekday != day.weekday():
        return False
    if d.valid_from is not None and day < d.valid_from:
        return False
    if d.valid_to is not None and day > d.valid_to:
        return False
    return not (d.school_days_only and day in closed)


def week_of(day: date) -> tuple[int, int]:
    """The ISO week (year, week): contract hours are counted per week."""
    iso = day.isocalendar()
    return iso[0], iso[1]


# -- hotspots -------------------------------------------------------------------------------------

HOTSPOT_WINDOW_DAYS = 28
HOTSPOT_STEP = 50          # objective points per incident in the neighbourhood, per warden-slot
HOTSPOT_CAP = 500


def hotspot_bonus(incidents: int) -> int:
    """How much more a covered warden-slot in a neighbourhood with `incidents` incidents in the
    last 28 days is worth than one elsewhere (capped: one street must not empty the others)."""
    return min(max(incidents, 0) * HOTSPOT_STEP, HOTSPOT_CAP)


def counts_as_hotspot_incident(reported_at: datetime, now: datetime) -> bool:
    return now - timedelta(days=HOTSPOT_WINDOW_DAYS) <= reported_at <= now


# -- swaps ------------------------------------------------------------------------------------

SWAP_LIFECYCLE_STATES = ("offered", "accepted", "approved", "refused", "withdrawn")


def swapped(assignments: Iterable[Assignment], slot_id: str, from_warden: int,
            to_warden: int) -> list[Assignment]:
    """The roster with `from_warden`'s assignment to the slot given to `to_warden`."""
    out = []
    found = False
    for a in assignments:
        if a.slot_id == slot_id and a.warden_id == from_warden:
            out.append(Assignment(slot_id, to_warden))
            found = True
        else:
            out.append(a)
    if not found:
        raise DomainError("slot_id", f"warden {from_warden} is not assigned to {slot_id}")
    return out
