"""The current time as a dependency, so tests can fix it."""
from datetime import UTC, datetime
from typing import overload

from nameko.extensions import DependencyProvider


def utc_now() -> datetime:
    return datetime.now(UTC)


class Clock(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return utc_now


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything the services store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
