"""The independent checker: does a roster keep every hard rule? Names each violation.

Written apart from the solver (services/patrols/solver.py) and sharing none of its model: it
walks the assignments as a coordinator would with the roster printed out, warden by warden in
time order. Every roster the solver, the greedy baseline, a re-plan or a swap produces is
checked here before it is saved or published; tests run it on random instances.

Rules (docs/adr/0020-patrols-roster-rules-and-model.md):
- unknown       the assignment names a slot or warden that is not in the instance
- duplicate     the same warden twice in one slot
- overstaffed   more wardens than the slot requires
- pair          a slot that requires two or more has exactly one warden (nobody patrols alone)
- skill         the warden lacks a skill the post needs
- leave         the warden is on leave that day
- inactive      the warden has left the team
- overlap       one warden in two places at once
- travel        less than TRAVEL_BUFFER_MINUTES between one assignment's end and the next's start
- daily_hours   more than MAX_DAILY_MINUTES in a day
- weekly_hours  more than the contract hours in an ISO week
- rest          less than MIN_REST_MINUTES between one day's last assignment and a later day's
                first
"""
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from services.patrols.domain import (
    MAX_DAILY_MINUTES,
    MIN_REST_MINUTES,
    TRAVEL_BUFFER_MINUTES,
    Assignment,
    Instance,
    Slot,
    Warden,
    week_of,
)

RULES = ("unknown", "duplicate", "overstaffed", "pair", "skill", "leave", "inactive", "overlap",
         "travel", "daily_hours", "weekly_hours", "rest")


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    warden_id: int | None = None
    slot_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"rule": self.rule, "message": self.message, "warden_id": self.warden_id,
                "slot_ids": list(self.slot_ids)}


def check(instance: Instance, assignments: Iterable[Assignment]) -> list[Violation]:
    """Every violation of a hard rule in the roster; empty when it keeps them all."""
    slots = instance.slots_by_id
    wardens = instance.wardens_by_id
    found: list[Violation] = []
    per_slot: dict[str, list[int]] = defaultdict(list)
    per_warden: dict[int, list[Slot]] = defaultdict(list)
    for a in assignments:
        slot, warden = slots.get(a.slot_id), wardens.get(a.warden_id)
        if slot is None or warden is None:
            found.append(Violation("unknown", f"assignment of warden {a.warden_id} to slot "
                                   f"{a.slot_id}: no such " +
                                   ("slot" if slot is None else "warden"),
                                   a.warden_id, (a.slot_id,)))
            continue
        if a.warden_id in per_slot[a.slot_id]:
            found.append(Violation("duplicate", f"{warden.name} is twice in {slot.id}",
                                   warden.id, (slot.id,)))
            continue
        per_slot[a.slot_id].append(a.warden_id)
        per_warden[a.warden_id].append(slot)
        found += fit(warden, slot)
    for slot_id, present in per_slot.items():
        slot = slots[slot_id]
        if len(present) > slot.required:
            found.append(Violation("overstaffed", f"{slot.id} has {len(present)} wardens, "
                                   f"requires {slot.required}", None, (slot.id,)))
        if slot.required >= 2 and len(present) == 1:
            found.append(Violation("pair", f"{slot.id} requires {slot.required}: one warden "
                                   "would patrol alone", present[0], (slot.id,)))
    for warden_id, taken in per_warden.items():
        found += _timeline(wardens[warden_id], sorted(taken, key=lambda s: (s.start, s.end)))
    return found


def fit(warden: Warden, slot: Slot) -> list[Violation]:
    """What is wrong with this warden in this slot, whatever else they do."""
    found = []
    missing = sorted(slot.skills - warden.skills)
    if missing:
        found.append(Violation("skill", f"{warden.name} lacks {', '.join(missing)} for "
                               f"{slot.id}", warden.id, (slot.id,)))
    if slot.day in warden.leave:
        found.append(Violation("leave", f"{warden.name} is on leave on {slot.day}",
                               warden.id, (slot.id,)))
    if not warden.active:
        found.append(Violation("inactive", f"{warden.name} has left the team", warden.id,
                               (slot.id,)))
    return found


def _timeline(warden: Warden, taken: list[Slot]) -> list[Violation]:
    """The rules about one warden's assignments together, walked in time order."""
    found = []
    for before, after in zip(taken, taken[1:], strict=False):
        gap = (after.start - before.end).total_seconds() / 60
        if gap < 0:
            found.append(Violation("overlap", f"{warden.name} is in {before.id} and {after.id} "
                                   "at once", warden.id, (before.id, after.id)))
        elif gap < TRAVEL_BUFFER_MINUTES:
            found.append(Violation("travel", f"{warden.name} has {gap:.0f} minutes between "
                                   f"{before.id} and {after.id}, needs "
                                   f"{TRAVEL_BUFFER_MINUTES}", warden.id,
                                   (before.id, after.id)))
    by_day: dict = defaultdict(list)
    by_week: dict = defaultdict(int)
    for slot in taken:
        by_day[slot.day].append(slot)
        by_week[week_of(slot.day)] += slot.minutes
    for day, slots in sorted(by_day.items()):
        minutes = sum(s.minutes for s in slots)
        if minutes > MAX_DAILY_MINUTES:
            found.append(Violation("daily_hours", f"{warden.name} works {minutes / 60:.2f} h on "
                                   f"{day}, at most {MAX_DAILY_MINUTES // 60} h", warden.id,
                                   tuple(s.id for s in slots)))
    for (year, week), minutes in sorted(by_week.items()):
        if minutes > warden.contract_hours * 60 + 1e-6:
            found.append(Violation("weekly_hours", f"{warden.name} works {minutes / 60:.2f} h "
                                   f"in week {year}-W{week:02d}, contract "
                                   f"{warden.contract_hours:g} h", warden.id))
    days = sorted(by_day)
    for day, next_day in zip(days, days[1:], strict=False):
        last = max(by_day[day], key=lambda s: s.end)
        first = min(by_day[next_day], key=lambda s: s.start)
        rest = (first.start - last.end).total_seconds() / 60
        if rest < MIN_REST_MINUTES:
            found.append(Violation("rest", f"{warden.name} rests {rest / 60:.2f} h between "
                                   f"{last.id} and {first.id}, needs "
                                   f"{MIN_REST_MINUTES // 60} h", warden.id,
                                   (last.id, first.id)))
    return found


def blocking(instance: Instance, assignments: list[Assignment], warden: Warden,
             slot: Slot) -> list[Violation]:
    """What adding `warden` to `slot` in this roster would break (the pair rule aside: a pair is
    two additions). Used to explain gaps and rank who can take a shift."""
    if any(a.slot_id == slot.id and a.warden_id == warden.id for a in assignments):
        return [Violation("duplicate", f"{warden.name} is already in {slot.id}", warden.id,
                          (slot.id,))]
    # Only what adding the slot can change: its ISO week (contract hours) and the days on
    # either side (overlap, travel, daily hours, rest).
    slots = instance.slots_by_id
    near = {slot.day + timedelta(days=d) for d in (-1, 0, 1)}
    week = week_of(slot.day)
    mine = [a for a in assignments if a.warden_id == warden.id and a.slot_id in slots
            and (slots[a.slot_id].day in near or week_of(slots[a.slot_id].day) == week)]
    before = {(v.rule, v.slot_ids) for v in check(instance, mine)}
    after = check(instance, [*mine, Assignment(slot.id, warden.id)])
    return [v for v in after if (v.rule, v.slot_ids) not in before and v.rule != "pair"]
