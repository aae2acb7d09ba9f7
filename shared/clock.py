"""The current time as a dependency, so tests can fix it."""
from datetime import UTC, datetime

from nameko.extensions import DependencyProvider


def utc_now() -> datetime:
    return datetime.now(UTC)


class Clock(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return utc_now


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything the services store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
