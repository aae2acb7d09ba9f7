"""Pure rules of the indicators: which events feed which projection, periods, the figures
(median, share within a deadline, ratio) and small-count suppression. No I/O, no framework."""
import re
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.calendar import BRUSSELS

DIMENSION_COLUMNS = 6
NONE = ""                     # a dimension the event does not give (stored, never shown)
MAX_RANGE_MONTHS = 120        # a query spans at most ten years
SUPPRESSED = "<5"
PERIOD = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")
GRAINS = ("month", "quarter", "year")


class BadPeriod(ValueError):
    """A malformed period or range; the message says which."""


# -- events to projections ------------------------------------------------------------------------

def month_of(at: datetime) -> str:
    """The reporting month of an instant, in Brussels time (a report at 00:30 on 1 March in
    Brussels belongs to March)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(BRUSSELS).strftime("%Y-%m")


def matches(where: Iterable[tuple[str, Any]], payload: Mapping[str, Any]) -> bool:
    """Equality filters on payload fields (a boolean is not a number here: True != 1)."""
    for field, wanted in where:
        value = payload.get(field)
        if isinstance(wanted, bool) or isinstance(value, bool):
            if value is not wanted:
                return False
        elif value != wanted:
            return False
    return True


def dimension_value(value: Any) -> str:
    """How a payload field is stored as a dimension (strings and integers; a missing or null
    field is NONE)."""
    if value is None:
        return NONE
    return str(value)


def dimension_values(dimensions: Iterable[str], payload: Mapping[str, Any]) -> tuple[str, ...]:
    values = [dimension_value(payload.get(d)) for d in dimensions]
    return tuple(values + [NONE] * (DIMENSION_COLUMNS - len(values)))


def parse_instant(value: Any) -> datetime | None:
    """An ISO 8601 instant from a payload (naive means UTC); None if absent or not one."""
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


# -- periods --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Range:
    first: str      # YYYY-MM
    last: str       # YYYY-MM

    def months(self) -> int:
        fy, fm = map(int, self.first.split("-"))
        ly, lm = map(int, self.last.split("-"))
        return (ly - fy) * 12 + lm - fm + 1


def period_bounds(period: str) -> tuple[str, str]:
    """'2026' -> ('2026-01', '2026-12'); '2026-Q2' -> ('2026-04', '2026-06'); '2026-03' -> both
    '2026-03'. BadPeriod otherwise."""
    found = PERIOD.match(period.strip()) if isinstance(period, str) else None
    if not found or not 1900 <= int(found.group(1)) <= 2999:
        raise BadPeriod(f"{period!r} is not a period: give YYYY, YYYY-Qn or YYYY-MM.")
    year, month, quarter = found.groups()
    if month:
        return f"{year}-{month}", f"{year}-{month}"
    if quarter:
        first = (int(quarter) - 1) * 3 + 1
        return f"{year}-{first:02d}", f"{year}-{first + 2:02d}"
    return f"{year}-01", f"{year}-12"


def period_range(start: str, end: str | None = None) -> Range:
    """From the first month of `start` to the last of `end` (default: `start`), at most ten
    years."""
    first, last = period_bounds(start)[0], period_bounds(end or start)[1]
    if last < first:
        raise BadPeriod(f"the range ends ({end}) before it starts ({start}).")
    found = Range(first, last)
    if found.months() > MAX_RANGE_MONTHS:
        raise BadPeriod(f"the range spans {found.months()} months; at most "
                        f"{MAX_RANGE_MONTHS} (ten years).")
    return found


def bucket(month: str, grain: str) -> str:
    """The period of `grain` holding `month` (YYYY-MM)."""
    year, m = month.split("-")
    if grain == "year":
        return year
    if grain == "quarter":
        return f"{year}-Q{(int(m) - 1) // 3 + 1}"
    return month


def commune_of(antenna_id: str) -> str:
    """Antenna ids are `<commune>-<neighbourhood>` (ixelles-tulipe): the antennas of one commune
    share the prefix."""
    return antenna_id.split("-", 1)[0]


# -- figures --------------------------------------------------------------------------------------

@dataclass
class Tally:
    """What one point of a series is computed from."""
    count: int = 0                 # events (count, sum), distinct values, or spans ended
    total: float = 0.0             # sum
    values: set | None = None      # distinct
    durations: list | None = None  # spans: hours from start to end
    within: int = 0                # spans ended by their deadline
    with_deadline: int = 0         # spans that had one
    numerator: "Tally | None" = None


def hours_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def span_figures(started: datetime | None, ended: datetime | None, deadline: datetime | None,
                 within_hours: float | None) -> tuple[float | None, bool | None]:
    """(duration in hours, ended by the deadline) of a span; None where it cannot be said
    (no start seen: the duration; no deadline: whether it was met)."""
    if ended is None:
        return None, None
    duration = hours_between(started, ended) if started is not None else None
    if within_hours is not None:
        return duration, None if duration is None else duration <= within_hours
    return duration, None if deadline is None else ended <= deadline


def value_of(kind: str, unit: str, tally: Tally) -> tuple[int, float | None]:
    """(n, value): n is the number of people-level facts behind the figure (what suppression
    looks at); value the figure itself, in `unit`."""
    if kind == "count":
        return tally.count, float(tally.count)
    if kind == "sum":
        return tally.count, round(tally.total, 3)
    if kind == "distinct":
        n = len(tally.values or ())
        return n, float(n)
    if kind == "median_duration":
        durations = tally.durations or []
        if not durations:
            return 0, None
        median = statistics.median(durations)
        return len(durations), round(median / 24 if unit == "days" else median, 3)
    if kind == "share_within":
        if not tally.with_deadline:
            return 0, None
        return tally.with_deadline, round(100 * tally.within / tally.with_deadline, 2)
    if kind == "ratio":
        denominator = tally.count
        numerator = tally.numerator.count if tally.numerator else 0
        if not denominator:
            return 0, None
        return denominator, round(100 * numerator / denominator, 2)
    raise ValueError(f"unknown measure kind {kind!r}")


def published(n: int, value: float | None, suppress_below: int) -> dict:
    """A figure as every output shows it: under `suppress_below` people-level facts (but not
    none), the count shows as "<5" and the value is withheld."""
    if 0 < n < suppress_below:
        return {"n": SUPPRESSED, "value": None, "suppressed": True}
    return {"n": n, "value": value, "suppressed": False}


def status_against(target: float | None, actual: float | None, kind: str) -> str | None:
    """met / not_met / None (no target or no figure). A median duration is met at or under its
    target, everything else at or over."""
    if target is None or actual is None:
        return None
    if kind == "median_duration":
        return "met" if actual <= target else "not_met"
    return "met" if actual >= target else "not_met"
