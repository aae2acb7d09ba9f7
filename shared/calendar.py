"""Belgian working days: SLA and removal deadlines count them (public holidays from the
`holidays` package, weekends off, days in Brussels time)."""
import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

BRUSSELS = ZoneInfo("Europe/Brussels")


@functools.lru_cache(maxsize=16)
def _belgian_holidays(years: tuple[int, ...]) -> holidays.HolidayBase:
    return holidays.Belgium(years=list(years))


def belgian_holidays(years) -> holidays.HolidayBase:
    """Belgian public holidays of `years` (cached: building a calendar takes milliseconds)."""
    return _belgian_holidays(tuple(years))


def is_working_day(day: date, calendar) -> bool:
    return day.weekday() < 5 and day not in calendar


def day_off(day: date) -> str | None:
    """Why `day` is not a working day ('weekend', or the public holiday's name), or None."""
    if day.weekday() >= 5:
        return "weekend"
    return belgian_holidays([day.year]).get(day)


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


def working_days_deadline(start: datetime, working_days: int, calendar=None) -> datetime:
    """End of the N-th working day after `start` (Brussels time), as UTC.

    Something reported on a weekend or holiday starts counting from the next working day, as
    the antenna would when it opens."""
    local_day = start.astimezone(BRUSSELS).date()
    due_day = add_working_days(local_day, max(working_days, 0), calendar)
    if working_days <= 0:
        due_day = local_day
    end_of_day = datetime.combine(due_day, time(23, 59, 59), tzinfo=BRUSSELS)
    return end_of_day.astimezone(UTC)

