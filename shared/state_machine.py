"""One way to move state: each domain declares its lifecycle as a table of moves, and every status
change of every service goes through `move`, which checks the move against the table, sets the
status and the move's timestamps, and writes the history row (who, when, from, to, why).

The table says who may make each move (signals' STATUS_CHOICES_APP idea): people, as the
service's policy lets them (`USERS`), only the platform itself (`SYSTEM`: a timer, or a service
acting on a fact it confirmed, e.g. a referral expiring), or both (`ANYONE`). The system is held
to its moves as users are to theirs: deny by default, for code too.

Pure: no framework, no database. The caller hands `move` the function that stores the history
row (`write`, typically `session.add(History(record_id=..., **step.row()))`), so the rules stay
testable without a session.
"""
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol


class Who(Enum):
    USERS = "users"      # people, as the service's policy allows
    SYSTEM = "system"    # only the platform itself
    ANYONE = "anyone"    # both


USERS, SYSTEM, ANYONE = Who.USERS, Who.SYSTEM, Who.ANYONE


class MoveRefused(ValueError):
    """A move the lifecycle does not allow, or not to this kind of actor."""


class Actor(Protocol):
    """Who moves a record: a person or a service acting on its own behalf."""

    @property
    def user(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def is_service(self) -> bool: ...


@dataclass(frozen=True)
class Step:
    """One line of a record's history."""

    from_status: str | None
    to_status: str
    actor: str
    actor_role: str
    at: datetime
    note: str | None = None

    def row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Lifecycle:
    """`moves`: from -> {to: who may make that move}. `stamps`: target status -> attributes set
    to the time of the move; `clears`: target status -> attributes emptied by it. `touched`: an
    attribute set at every move and note (e.g. `updated_at`), if the record has one."""

    name: str
    statuses: tuple[str, ...]
    moves: Mapping[str, Mapping[str, Who]]
    stamps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    clears: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    touched: str | None = None

    def __post_init__(self) -> None:
        validate(self.moves, self.statuses)
        unknown = (set(self.stamps) | set(self.clears)) - set(self.statuses)
        if unknown:
            raise ValueError(f"Stamps for unknown statuses: {sorted(unknown)}.")

    def targets(self, current: str, *, by_system: bool) -> frozenset[str]:
        """Where an actor of this kind may take a record that is `current`."""
        mine = (SYSTEM, ANYONE) if by_system else (USERS, ANYONE)
        return frozenset(target for target, who in self.moves.get(current, {}).items()
                         if who in mine)

    def allows(self, current: str, target: str, *, by_system: bool = False) -> bool:
        return target in self.targets(current, by_system=by_system)

    def check(self, current: str, target: str, *, by_system: bool = False) -> None:
        if self.allows(current, target, by_system=by_system):
            return
        if target in self.moves.get(current, {}):
            only = "the platform itself" if self.moves[current][target] is SYSTEM else "people"
            raise MoveRefused(f"Only {only} may move a {self.name} from '{current}' to "
                              f"'{target}'.")
        allowed = ", ".join(sorted(self.targets(current, by_system=by_system))) or "none"
        raise MoveRefused(f"Cannot move a {self.name} from '{current}' to '{target}' "
                          f"(allowed: {allowed}).")

    @property
    def system_only(self) -> frozenset[tuple[str, str]]:
        return frozenset((current, target) for current, row in self.moves.items()
                         for target, who in row.items() if who is SYSTEM)

    @property
    def final(self) -> frozenset[str]:
        return frozenset(status for status in self.statuses if not self.moves.get(status))


Write = Callable[[Step], object]


def move(lifecycle: Lifecycle, record: Any, target: str, *, by: Actor, at: datetime,
         write: Write, why: str | None = None) -> Step:
    """Check the move, make it, stamp it and write its history row. A later failure in the same
    unit of work rolls all of it back."""
    lifecycle.check(record.status, target, by_system=by.is_service)
    step = Step(record.status, target, by.user, by.role, at, why)
    record.status = target
    for attribute in lifecycle.stamps.get(target, ()):
        setattr(record, attribute, at)
    for attribute in lifecycle.clears.get(target, ()):
        setattr(record, attribute, None)
    _touch(lifecycle, record, at)
    write(step)
    return step


def begin(lifecycle: Lifecycle, record: Any, first: str, *, by: Actor, at: datetime,
          write: Write, why: str | None = None) -> Step:
    """A new record's first history row (from nothing to `first`)."""
    if first not in lifecycle.statuses:
        raise MoveRefused(f"'{first}' is not a status of a {lifecycle.name}.")
    record.status = first
    for attribute in lifecycle.stamps.get(first, ()):
        setattr(record, attribute, at)
    _touch(lifecycle, record, at)
    step = Step(None, first, by.user, by.role, at, why)
    write(step)
    return step


def note(lifecycle: Lifecycle, record: Any, *, by: Actor, at: datetime, write: Write,
         why: str) -> Step:
    """A history row without a move (an assessment, a reminder)."""
    _touch(lifecycle, record, at)
    step = Step(record.status, record.status, by.user, by.role, at, why)
    write(step)
    return step


def _touch(lifecycle: Lifecycle, record: Any, at: datetime) -> None:
    if lifecycle.touched is not None:
        setattr(record, lifecycle.touched, at)


def validate(moves: Mapping[str, Mapping[str, Who]], statuses: Iterable[str]) -> None:
    """Every status has a row, and every target is a known status (checked at import)."""
    statuses = set(statuses)
    if set(moves) != statuses:
        raise ValueError(f"Rows {sorted(moves)} do not match statuses {sorted(statuses)}.")
    unknown = set().union(*(set(row) for row in moves.values())) - statuses
    if unknown:
        raise ValueError(f"Unknown target statuses: {sorted(unknown)}.")
    strangers = [who for row in moves.values() for who in row.values()
                 if not isinstance(who, Who)]
    if strangers:
        raise ValueError(f"Say who may make each move (USERS, SYSTEM, ANYONE): {strangers}.")
