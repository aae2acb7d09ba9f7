"""The current time as a dependency, so tests can fix it."""
from datetime import UTC, datetime

from nameko.extensions import DependencyProvider


def utc_now() -> datetime:
    return datetime.now(UTC)


class Clock(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return utc_now
