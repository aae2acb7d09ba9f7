"""The one way to move state (shared/state_machine.py): the table says who may make each move,
`move` checks it, stamps the record and writes the history row."""
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from shared.state_machine import (
    ANYONE,
    SYSTEM,
    USERS,
    Lifecycle,
    MoveRefused,
    begin,
    move,
    note,
    validate,
)

AT = datetime(2026, 11, 23, 9, tzinfo=UTC)
LIFECYCLE = Lifecycle(
    "parcel", ("new", "sent", "lost", "done"),
    {"new": {"sent": USERS, "lost": SYSTEM}, "sent": {"done": ANYONE, "new": USERS},
     "lost": {}, "done": {}},
    stamps={"sent": ("sent_at",), "done": ("done_at",)}, clears={"new": ("sent_at",)},
    touched="updated_at")


@dataclass
class Actor:
    user: str
    role: str
    is_service: bool = False


@dataclass
class Parcel:
    status: str = "new"
    sent_at: datetime | None = None
    done_at: datetime | None = None
    updated_at: datetime | None = None


PERSON, PLATFORM = Actor("ana", "clerk"), Actor("parcels", "service", True)


def test_a_move_is_checked_stamped_and_written():
    parcel, history = Parcel(), []
    step = move(LIFECYCLE, parcel, "sent", by=PERSON, at=AT, write=history.append, why="post")
    assert (parcel.status, parcel.sent_at, parcel.updated_at) == ("sent", AT, AT)
    assert history == [step]
    assert step.row() == {"from_status": "new", "to_status": "sent", "actor": "ana",
                          "actor_role": "clerk", "at": AT, "note": "post"}
    move(LIFECYCLE, parcel, "new", by=PERSON, at=AT, write=history.append)
    assert parcel.sent_at is None  # cleared by the move back


@pytest.mark.parametrize("current, target, actor, message", [
    ("new", "lost", PERSON, "Only the platform itself may"),
    ("new", "sent", PLATFORM, "Only people may"),
    ("new", "done", PERSON, r"allowed: sent\)"),
    ("done", "new", PLATFORM, "allowed: none"),
])
def test_a_move_outside_the_table_or_not_for_this_actor_is_refused(current, target, actor,
                                                                     message):
    parcel, history = Parcel(status=current), []
    with pytest.raises(MoveRefused, match=message):
        move(LIFECYCLE, parcel, target, by=actor, at=AT, write=history.append)
    assert parcel.status == current and history == []


def test_both_kinds_of_actor_make_a_move_for_anyone():
    for actor in (PERSON, PLATFORM):
        parcel = Parcel(status="sent")
        move(LIFECYCLE, parcel, "done", by=actor, at=AT, write=lambda step: None)
        assert parcel.done_at == AT


def test_first_row_and_notes():
    parcel, history = Parcel(status=""), []
    begin(LIFECYCLE, parcel, "new", by=PERSON, at=AT, write=history.append)
    note(LIFECYCLE, parcel, by=PLATFORM, at=AT, write=history.append, why="reminder")
    assert [(s.from_status, s.to_status, s.note) for s in history] == [
        (None, "new", None), ("new", "new", "reminder")]
    with pytest.raises(MoveRefused):
        begin(LIFECYCLE, Parcel(), "unknown", by=PERSON, at=AT, write=history.append)


def test_what_the_table_says_of_itself():
    assert LIFECYCLE.system_only == {("new", "lost")}
    assert LIFECYCLE.final == {"lost", "done"}
    assert LIFECYCLE.targets("new", by_system=True) == {"lost"}


@pytest.mark.parametrize("moves, statuses", [
    ({"a": {"b": USERS}, "b": {}}, ("a", "b", "c")),   # a status without a row
    ({"a": {"z": USERS}, "b": {}}, ("a", "b")),        # an unknown target
    ({"a": {"b": "users"}, "b": {}}, ("a", "b")),      # who may make it, not said
])
def test_a_broken_table_is_refused(moves, statuses):
    with pytest.raises(ValueError):
        validate(moves, statuses)
