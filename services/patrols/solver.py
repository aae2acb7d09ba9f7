"""Rosters with OR-Tools CP-SAT, a greedy baseline, explained gaps and the score breakdown.
Pure: instances in, rosters out; no I/O. Every roster returned has been run through the
independent checker (services/patrols/checker.py); one that fails it is never returned as good.

The model (docs/adr/0020-patrols-roster-rules-and-model.md):
- x[w, s] = warden w patrols slot s, made only where w has the post's skills, is not on leave
  and is in the team (so those rules hold by construction).
- Nobody in two places, with the travel buffer: for each warden, every set of slots that all
  contain one slot's start (its end stretched by the buffer) takes at most one of them (the
  cliques of an interval graph, so each conflict is covered once, without all pairs).
- At most 9 hours a day; at most the contract hours in each ISO week; 11 hours of rest between a
  day's assignment and the next day's when they are closer than that.
- Per slot: at most the number required; a slot requiring two or more has none or at least two.
- Published assignments are pinned (x = 1) unless re-planning.
- A large instance (a month of forty wardens) is solved one day at a time around the rest of a
  complete roster (`solve`; docs/adr/0021-patrols-solving-publishing-and-feeds.md).

The objective (maximised; weights in WEIGHTS, each term reported on its own by `score`):
  cover           +1000 per warden-slot filled, + the hotspot bonus of its neighbourhood
                  (50 per incident reported there in the last 28 days, at most +500)
  desired_days    +20 per assignment on a weekday the warden asked for
  undesired_days  -60 per assignment on a weekday the warden asked not to work
  continuity      -30 per distinct (warden, school gate): the same faces at the same gate
  fair_hours      -10 per percentage point a warden's load (hours over the contract hours of
                  the days they are not on leave) is above the team's share (`targets`)
  fair_unpopular  -40 per unpopular slot (early, evening, weekend) a warden has above the
                  team's share
  changes         -300 per assignment added or removed against the previous roster (re-plan)
Covering always pays more than any penalty an assignment can bring, so a slot stays uncovered
only when the rules leave no one: the gaps are then explained by `explain_gaps`.
"""
import time as clock
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ortools.sat.python import cp_model

from services.patrols import checker
from services.patrols.domain import (
    MAX_DAILY_MINUTES,
    MIN_REST_MINUTES,
    TRAVEL_BUFFER_MINUTES,
    Assignment,
    Instance,
    Slot,
    Warden,
    hotspot_bonus,
    week_of,
)

WEIGHTS: dict[str, int] = {
    "cover": 1000, "desired_days": 20, "undesired_days": 60, "continuity": 30,
    "fair_hours": 10, "fair_unpopular": 40, "changes": 300,
}
CONTINUITY_KINDS = frozenset({"school_gate"})


@dataclass
class Roster:
    assignments: list[Assignment]
    method: str                         # cp_sat, greedy
    status: str                         # optimal, feasible, infeasible, unknown
    objective: int
    bound: int | None
    seconds: float
    first_solution_seconds: float | None = None
    breakdown: dict[str, int] = field(default_factory=dict)
    gaps: list[dict] = field(default_factory=list)
    violations: list[checker.Violation] = field(default_factory=list)
    changes: int | None = None
    dropped_pins: list[dict] = field(default_factory=list)
    # day by day (a large instance): day models solved, proved optimal, that changed the roster
    days: dict[str, int] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """(bound - objective) / bound: how far from the best possible, at most."""
        if self.bound is None:
            return None
        return max(0.0, (self.bound - self.objective) / max(1, abs(self.bound)))

    def coverage(self, instance: Instance) -> float:
        required = sum(s.required for s in instance.slots)
        return 1.0 if required == 0 else len(self.assignments) / required


def eligible(warden: Warden, slot: Slot) -> bool:
    return (warden.active and slot.skills <= warden.skills and slot.day not in warden.leave
            and slot.minutes <= MAX_DAILY_MINUTES
            and slot.minutes <= warden.contract_hours * 60)


def _conflict(a: Slot, b: Slot) -> bool:
    first, second = (a, b) if (a.start, a.end) <= (b.start, b.end) else (b, a)
    return (second.start - first.end).total_seconds() / 60 < TRAVEL_BUFFER_MINUTES


def _rest_clash(a: Slot, b: Slot) -> bool:
    first, second = (a, b) if a.start <= b.start else (b, a)
    return first.day != second.day and \
        (second.start - first.end).total_seconds() / 60 < MIN_REST_MINUTES


def _available_days(instance: Instance, warden: Warden) -> int:
    days = (instance.last_day - instance.first_day).days + 1
    return days - sum(1 for d in warden.leave if instance.first_day <= d <= instance.last_day)


def targets(instance: Instance) -> tuple[int, int]:
    """The team's fair share: the load (% of contract hours) every warden would have if the
    demand were spread by contract hours, and the unpopular slots each would take."""
    fair = [w for w in instance.wardens if w.active and _capacity(instance, w) > 0]
    if not fair:
        return 100, 0
    demand = sum(s.minutes * s.required for s in instance.slots)
    load = min(100, -(-demand * 100 // sum(_capacity(instance, w) for w in fair)))
    unpopular = sum(s.required for s in instance.slots if s.unpopular)
    return load, -(-unpopular // len(fair))


def _capacity(instance: Instance, warden: Warden) -> int:
    """Contract minutes of the days the warden is not on leave (the fair-hours yardstick)."""
    return int(warden.contract_hours * 60 * _available_days(instance, warden) / 7)


# -- the score, computed from a roster (independently of the model) -----------------------------

def score(instance: Instance, assignments: Iterable[Assignment],
          previous: Iterable[Assignment] | None = None,
          weights: Mapping[str, int] = WEIGHTS) -> dict[str, int]:
    """Each soft goal's points for this roster; `total` is their sum (the objective)."""
    slots, wardens = instance.slots_by_id, instance.wardens_by_id
    chosen = list(assignments)
    cover = desired = undesired = 0
    pairs: set[tuple[int, int]] = set()
    minutes: dict[int, int] = defaultdict(int)
    unpopular: dict[int, int] = defaultdict(int)
    for a in chosen:
        slot, warden = slots[a.slot_id], wardens[a.warden_id]
        cover += weights["cover"] + hotspot_bonus(instance.hotspots.get(slot.neighbourhood or "",
                                                                        0))
        weekday = slot.start.weekday()
        desired += weights["desired_days"] if weekday in warden.desired_days else 0
        undesired -= weights["undesired_days"] if weekday in warden.undesired_days else 0
        if slot.post_kind in CONTINUITY_KINDS:
            pairs.add((warden.id, slot.post_id))
        minutes[warden.id] += slot.minutes
        unpopular[warden.id] += 1 if slot.unpopular else 0
    load_target, unpopular_share = targets(instance)
    over_load = over_unpopular = 0
    for w in instance.wardens:
        cap = _capacity(instance, w)
        if w.active and cap > 0:
            over_load += max(0, -(-(minutes[w.id] * 100 - load_target * cap) // cap))
            over_unpopular += max(0, unpopular[w.id] - unpopular_share)
    breakdown = {
        "cover": cover, "desired_days": desired, "undesired_days": undesired,
        "continuity": -weights["continuity"] * len(pairs),
        "fair_hours": -weights["fair_hours"] * over_load,
        "fair_unpopular": -weights["fair_unpopular"] * over_unpopular,
    }
    if previous is not None:
        before = {(a.slot_id, a.warden_id) for a in previous}
        after = {(a.slot_id, a.warden_id) for a in chosen}
        breakdown["changes"] = -weights["changes"] * len(before ^ after)
    breakdown["total"] = sum(breakdown.values())
    return breakdown


def changed(previous: Iterable[Assignment], roster: Iterable[Assignment]) -> int:
    return len({(a.slot_id, a.warden_id) for a in previous}
               ^ {(a.slot_id, a.warden_id) for a in roster})


# -- CP-SAT --------------------------------------------------------------------------------------

class _FirstSolution(cp_model.CpSolverSolutionCallback):
    def __init__(self, started: float):
        super().__init__()
        self.started = started
        self.first: float | None = None

    def on_solution_callback(self) -> None:
        if self.first is None:
            self.first = clock.monotonic() - self.started


class _Period:
    """The instance as integers, computed once (datetime arithmetic in the model's loops costs
    seconds): each slot's start and end in minutes from the period's first midnight, its day,
    ISO week and length; each warden's slots by the rules of the slot alone (skill, leave, team,
    length); each (warden, slot)'s points in the objective; the ISO weeks in order."""

    def __init__(self, instance: Instance, prior: list[Assignment] | None,
                 weights: Mapping[str, int]):
        origin = datetime.combine(instance.first_day, datetime.min.time())
        self.instance = instance
        self.begin = {s.id: int((s.start - origin).total_seconds() // 60) for s in instance.slots}
        self.finish = {s.id: int((s.end - origin).total_seconds() // 60) for s in instance.slots}
        self.day = {i: b // 1440 for i, b in self.begin.items()}
        self.length = {i: self.finish[i] - self.begin[i] for i in self.begin}
        self.week = {s.id: week_of(s.day) for s in instance.slots}
        self.weeks = sorted(set(self.week.values()))
        self.unpopular = {s.id: s.unpopular for s in instance.slots}
        self.capacity = {w.id: _capacity(instance, w) for w in instance.wardens}
        self.fair = [w for w in instance.wardens if w.active and self.capacity[w.id] > 0]
        self.targets = targets(instance)
        self.before = {(a.warden_id, a.slot_id) for a in prior} if prior is not None else None
        fits: dict[tuple[frozenset[str], frozenset[str]], bool] = {}
        self.eligible: dict[int, list[str]] = {}
        self.points: dict[tuple[int, str], int] = {}
        bonus = {s.id: weights["cover"] + hotspot_bonus(instance.hotspots.get(
            s.neighbourhood or "", 0)) for s in instance.slots}
        for w in instance.wardens:
            if not w.active:
                self.eligible[w.id] = []
                continue
            limit = min(MAX_DAILY_MINUTES, w.contract_hours * 60)
            mine = self.eligible[w.id] = []
            for s in instance.slots:
                key = (s.skills, w.skills)
                if key not in fits:
                    fits[key] = s.skills <= w.skills
                if fits[key] and self.length[s.id] <= limit and s.day not in w.leave:
                    mine.append(s.id)
                    weekday = s.start.weekday()
                    points = bonus[s.id]
                    if weekday in w.desired_days:
                        points += weights["desired_days"]
                    if weekday in w.undesired_days:
                        points -= weights["undesired_days"]
                    if self.before is not None:   # a change: an assignment added or taken away
                        points += weights["changes"] if (w.id, s.id) in self.before \
                            else -weights["changes"]
                    self.points[w.id, s.id] = points
        self.by_day: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
        for w_id, ids in self.eligible.items():
            for i in ids:
                self.by_day[self.day[i]][w_id].append(i)

    def bound(self, weights: Mapping[str, int]) -> int:
        """An upper bound of the objective over every roster that keeps the rules: each slot
        filled by the `required` eligible wardens it pays most for (the other terms are
        penalties, at most 0). Valid whatever the search did, so the gap is a real one."""
        best: dict[str, list[int]] = defaultdict(list)
        for (_w, s_id), points in self.points.items():
            if points > 0:
                best[s_id].append(points)
        slots = self.instance.slots_by_id
        total = sum(sum(sorted(p, reverse=True)[:slots[s_id].required])
                    for s_id, p in best.items())
        if self.before is not None:
            total -= weights["changes"] * len(self.before)
        return total

    def cliques(self, day_slots: list[str]) -> list[frozenset[str]]:
        """The maximal sets of a day's slots that all overlap, each one's end stretched by the
        travel buffer (an interval graph: two slots clash iff they share one of these)."""
        out: list[frozenset[str]] = []
        ordered = sorted(day_slots, key=lambda i: self.begin[i])
        for k, i in enumerate(ordered):
            here = frozenset(o for o in ordered[:k + 1]
                             if self.begin[i] < self.finish[o] + TRAVEL_BUFFER_MINUTES)
            following = ordered[k + 1] if k + 1 < len(ordered) else None
            # maximal when the next slot starts after one of these is over
            if following is None or any(self.begin[following] >= self.finish[o] +
                                        TRAVEL_BUFFER_MINUTES for o in here):
                if len(here) > 1:
                    out.append(here)
        return out


# A model up to this many (warden, slot) Booleans is solved whole (CP-SAT proves optimality and
# bounds it); a larger one (a month of a large team) is solved day by day (docs/adr/0021).
WHOLE_MODEL_VARIABLES = 4000
BLOCK_SECONDS = 1.5      # at least this for a day's model (building included) while time is left
MIN_BLOCK_SECONDS = 0.3  # no day's model is started with less time than this left


def solve(instance: Instance, *, time_limit: float = 10.0,
          pinned: Iterable[Assignment] = (), previous: Iterable[Assignment] | None = None,
          weights: Mapping[str, int] = WEIGHTS, workers: int = 2,
          seed: int = 0) -> Roster:
    """The best roster CP-SAT finds within `time_limit` seconds (model building included).
    `pinned` assignments (the published ones) are kept; with `previous` (re-plan), changes
    against it cost points instead. Pins the rules no longer allow (leave taken since) are
    dropped and reported.

    A small instance is one CP-SAT model. A large one starts from a complete feasible roster
    (the greedy one around the pins, or for a re-plan the earlier roster without what the rules
    no longer allow) and CP-SAT then re-solves it one day at a time, the rest of the roster
    fixed: each day's model has every warden and every slot of the day, the hours the rest of
    the week already uses, the rest rule against the days around it, and the soft goals over the
    whole period, and starts from the current day as a hint, so each solve keeps every rule and
    never lowers the objective. The days short of wardens go first; passes repeat while time
    is left. The bound is `_Period.bound` (valid for any roster), or CP-SAT's own when the model
    is whole."""
    started = clock.monotonic()
    prior = list(previous) if previous is not None else None
    period = _Period(instance, prior, weights)
    allowed = {(w_id, s_id) for w_id, ids in period.eligible.items() for s_id in ids}
    pins, dropped = [], []
    for a in pinned:
        if (a.warden_id, a.slot_id) in allowed:
            pins.append(a)
        else:
            dropped.append({"slot_id": a.slot_id, "warden_id": a.warden_id,
                            "why": "the rules no longer allow it (leave, skill, left the team)"})
    slots = instance.slots_by_id
    everything = set(slots)
    if len(allowed) <= WHOLE_MODEL_VARIABLES:
        part = _solve_block(period, everything, _Fixed(), pins, prior, weights, None,
                            budget=time_limit - (clock.monotonic() - started), workers=workers,
                            seed=seed, started=started)
        if part is None:
            return Roster([], "cp_sat", "infeasible", 0, None, clock.monotonic() - started,
                          None, dropped_pins=dropped)
        status, chosen, whole_bound, first = part
        if status == "unknown":
            return Roster([], "cp_sat", "unknown", 0, None, clock.monotonic() - started,
                          None, dropped_pins=dropped)
        bound = period.bound(weights)
        if whole_bound is not None:
            bound = min(bound, whole_bound)
        return _roster(instance, period, chosen, status, bound, started, first, prior, dropped,
                       weights)
    current = _starting_roster(period, pins, prior)
    if current is None:
        return Roster([], "cp_sat", "infeasible", 0, None, clock.monotonic() - started,
                      None, dropped_pins=dropped)
    first = clock.monotonic() - started
    days: dict[int, set[str]] = defaultdict(set)
    for s_id in slots:
        days[period.day[s_id]].add(s_id)
    if prior is not None:
        # a re-plan re-solves only the days the absence (or any rule change) touched: the
        # others stay as published, whatever coverage a new roster could win there
        touched = {(a.slot_id, a.warden_id) for a in prior} ^ \
            {(a.slot_id, a.warden_id) for a in current}
        days = {d: ids for d, ids in days.items()
                if any(period.day.get(s_id) == d for s_id, _w in touched)}
    roster = _Days(period, current)
    counts = {"solved": 0, "optimal": 0, "changed": 0}
    while True:
        filled: dict[str, int] = defaultdict(int)
        for a in roster.all():
            filled[a.slot_id] += 1
        short = {d: sum(slots[i].required - filled[i] for i in ids) for d, ids in days.items()}
        # the days short of wardens first (where coverage can grow), the others after them
        order = sorted(days, key=lambda d: (-short[d], d))
        changed_any = False
        for k, day in enumerate(order):
            # kept back: scoring the roster after the last day's model
            left = time_limit - (clock.monotonic() - started) - 0.2
            if left <= MIN_BLOCK_SECONDS:
                break
            to_go = sum(1 for d in order[k:] if short[d] > 0) or len(order) - k
            mine = roster.on.get(day, [])
            part = _solve_block(period, days[day], roster.around(day), pins, prior, weights,
                                mine, budget=max(min(left, BLOCK_SECONDS), left / to_go),
                                workers=workers, seed=seed, started=started)
            if part is None or part[0] in ("unknown", "starting_roster"):
                continue
            counts["solved"] += 1
            counts["optimal"] += part[0] == "optimal"
            if {(a.slot_id, a.warden_id) for a in part[1]} != \
                    {(a.slot_id, a.warden_id) for a in mine}:
                roster.on[day] = part[1]
                counts["changed"] += 1
                changed_any = True
        else:
            if changed_any:
                continue     # another pass: the days around the changed ones may gain now
        break
    result = _roster(instance, period, roster.all(),
                     "feasible" if counts["solved"] else "starting_roster",
                     period.bound(weights), started, first, prior, dropped, weights)
    result.days = counts
    return result


def _roster(instance: Instance, period: "_Period", chosen: list[Assignment], status: str,
            bound: int, started: float, first: float | None, prior: list[Assignment] | None,
            dropped: list[dict], weights: Mapping[str, int]) -> Roster:
    slots = instance.slots_by_id
    chosen = sorted(chosen, key=lambda a: (slots[a.slot_id].start, a.slot_id, a.warden_id))
    objective = score(instance, chosen, prior, weights)["total"]
    roster = Roster(chosen, "cp_sat", status, objective, max(bound, objective),
                    clock.monotonic() - started, first, dropped_pins=dropped)
    return finish(instance, roster, prior, weights)


def _starting_roster(period: "_Period", pins: list[Assignment],
                     prior: list[Assignment] | None) -> list[Assignment] | None:
    """A complete roster that keeps every rule and pin: for a re-plan, the earlier roster
    without what the rules no longer allow and without a warden left alone in a pair slot;
    otherwise (or if that one fails the checker), the greedy roster around the pins."""
    instance = period.instance
    slots = instance.slots_by_id
    if prior is not None:
        kept = {(a.warden_id, a.slot_id) for a in prior} & \
            {(w_id, s_id) for w_id, ids in period.eligible.items() for s_id in ids}
        kept |= {(p.warden_id, p.slot_id) for p in pins}
        in_slot: dict[str, int] = defaultdict(int)
        for _w, s_id in kept:
            in_slot[s_id] += 1
        start = [Assignment(s_id, w_id) for w_id, s_id in sorted(kept)
                 if not (slots[s_id].required >= 2 and in_slot[s_id] < 2)]
        if not checker.check(instance, start):
            return start
    allowed = {(w_id, s_id) for w_id, ids in period.eligible.items() for s_id in ids}
    start = [*pins, *_greedy(instance, fixed=pins, allowed=allowed)]
    return None if checker.check(instance, start) else start


@dataclass
class _Fixed:
    """What the rest of the roster (outside the block being solved) already decides."""
    near: list[Assignment] = field(default_factory=list)   # on the days around the block
    week_minutes: dict[tuple[int, tuple[int, int]], int] = field(default_factory=dict)
    worked: dict[int, int] = field(default_factory=dict)       # minutes, per warden
    unpopular: dict[int, int] = field(default_factory=dict)
    gates: set[tuple[int, int]] = field(default_factory=set)   # (warden, school gate)

    @property
    def empty(self) -> bool:
        return not (self.near or self.week_minutes or self.worked or self.gates)


class _Days:
    """A complete roster kept day by day, so the block of one day sees the rest cheaply."""

    def __init__(self, period: "_Period", assignments: list[Assignment]):
        self.period = period
        self.on: dict[int, list[Assignment]] = defaultdict(list)
        for a in assignments:
            self.on[period.day[a.slot_id]].append(a)

    def all(self) -> list[Assignment]:
        return [a for day in sorted(self.on) for a in self.on[day]]

    def around(self, day: int) -> _Fixed:
        p = self.period
        slots = p.instance.slots_by_id
        fixed = _Fixed(near=[*self.on.get(day - 1, ()), *self.on.get(day + 1, ())])
        worked: dict[int, int] = defaultdict(int)
        unpopular: dict[int, int] = defaultdict(int)
        week_minutes: dict[tuple[int, tuple[int, int]], int] = defaultdict(int)
        for d, assignments in self.on.items():
            if d == day:
                continue
            for a in assignments:
                i = a.slot_id
                worked[a.warden_id] += p.length[i]
                unpopular[a.warden_id] += p.unpopular[i]
                week_minutes[a.warden_id, p.week[i]] += p.length[i]
                if slots[i].post_kind in CONTINUITY_KINDS:
                    fixed.gates.add((a.warden_id, slots[i].post_id))
        fixed.worked, fixed.unpopular, fixed.week_minutes = worked, unpopular, week_minutes
        return fixed


def _solve_block(period: "_Period", here: set[str], fixed: _Fixed,
                 pins: list[Assignment], prior: list[Assignment] | None,
                 weights: Mapping[str, int], current: list[Assignment] | None, *,
                 budget: float, workers: int, seed: int, started: float
                 ) -> tuple[str, list[Assignment], int | None, float | None] | None:
    """The CP-SAT model of the slots `here` (whole days), everything else `fixed`: (status,
    the block's assignments, CP-SAT's bound of the block, seconds to its first solution), or
    None when the rules and pins cannot all hold. The hint is `current` (the block as it is in
    a complete roster) or, without one, the greedy roster of the block around the fixed
    assignments and pins (or the earlier roster, for a re-plan)."""
    t0 = clock.monotonic()
    instance = period.instance
    slots, wardens = instance.slots_by_id, instance.wardens_by_id
    begin, finish_, day_of, length = period.begin, period.finish, period.day, period.length
    # what is decided outside the block: the fixed assignments, and pins of other days
    outside: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    week_used: dict[tuple[int, tuple[int, int]], int] = defaultdict(int)
    for a in [*fixed.near, *(p for p in pins if p.slot_id not in here)]:
        outside[a.warden_id][day_of[a.slot_id]].append(a.slot_id)
    week_used.update(fixed.week_minutes)

    def rested(w_id: int, i: str) -> bool:
        near = outside.get(w_id)
        if not near:
            return True
        d = day_of[i]
        return all(begin[i] - finish_[o] >= MIN_REST_MINUTES for o in near.get(d - 1, ())) \
            and all(begin[o] - finish_[i] >= MIN_REST_MINUTES for o in near.get(d + 1, ()))

    model = cp_model.CpModel()
    x: dict[tuple[int, str], cp_model.IntVar] = {}
    mine: dict[int, list[str]] = {}
    block_days = {day_of[i] for i in here}
    whole = len(block_days) == len(period.by_day)
    for w_id, ids in period.eligible.items():
        candidates = ids if whole else \
            [i for d in sorted(block_days) for i in period.by_day[d].get(w_id, ())]
        taken = mine[w_id] = [i for i in candidates if i in here and rested(w_id, i)]
        for i in taken:
            x[w_id, i] = model.new_bool_var("")
    block_pins = [p for p in pins if p.slot_id in here]
    for p in block_pins:
        if (p.warden_id, p.slot_id) not in x:
            return None        # a pin the rest rule forbids next to other pins
        model.add(x[p.warden_id, p.slot_id] == 1)

    by_day: dict[int, list[str]] = defaultdict(list)
    for i in sorted(here, key=lambda i: (begin[i], finish_[i], i)):
        by_day[day_of[i]].append(i)
    cliques = {d: period.cliques(ids) for d, ids in by_day.items()}
    rest_pairs = {d: [(a, b) for a in ids for b in by_day.get(d + 1, ())
                      if begin[b] - finish_[a] < MIN_REST_MINUTES]
                  for d, ids in by_day.items()}
    for w_id, taken in mine.items():
        if not taken:
            continue
        ok = set(taken)
        seen: set[frozenset[str]] = set()
        warden_days: dict[int, list[str]] = defaultdict(list)
        warden_weeks: dict[tuple[int, int], list[str]] = defaultdict(list)
        for i in taken:
            warden_days[day_of[i]].append(i)
            warden_weeks[period.week[i]].append(i)
        for d, day_slots in warden_days.items():
            for clique in cliques[d]:
                sub = clique & ok
                if len(sub) > 1 and sub not in seen:
                    seen.add(sub)
                    model.add_at_most_one(x[w_id, o] for o in sub)
            if sum(length[i] for i in day_slots) > MAX_DAILY_MINUTES:
                model.add(cp_model.LinearExpr.weighted_sum(
                    [x[w_id, i] for i in day_slots], [length[i] for i in day_slots])
                    <= MAX_DAILY_MINUTES)
            for late, early in rest_pairs.get(d, ()):
                if late in ok and early in ok:
                    model.add_bool_or([x[w_id, late].negated(), x[w_id, early].negated()])
        for week, week_slots in warden_weeks.items():
            limit = int(wardens[w_id].contract_hours * 60) - week_used[w_id, week]
            if sum(length[i] for i in week_slots) > limit:
                model.add(cp_model.LinearExpr.weighted_sum(
                    [x[w_id, i] for i in week_slots], [length[i] for i in week_slots])
                    <= limit)
    per_slot: dict[str, list[cp_model.IntVar]] = defaultdict(list)
    for (_w, s_id), var in x.items():
        per_slot[s_id].append(var)
    staffed_of: dict[str, cp_model.IntVar] = {}
    for s_id, vars_ in per_slot.items():
        required = slots[s_id].required
        total = cp_model.LinearExpr.sum(vars_)
        if required >= 2 and len(vars_) >= 2:   # none, or from two to `required`
            staffed = staffed_of[s_id] = model.new_bool_var("")
            model.add(total <= required * staffed)
            model.add(total >= 2 * staffed)
        elif required >= 2:
            model.add(total == 0)                  # one eligible warden cannot go alone
        elif len(vars_) > required:
            model.add(total <= required)

    variables: list[cp_model.IntVar] = list(x.values())
    coefficients: list[int] = [period.points[key] for key in x]
    # continuity: a (warden, gate) the fixed assignments already use costs nothing more
    known = fixed.gates
    gate_use: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    for (w_id, s_id), var in x.items():
        slot = slots[s_id]
        if slot.post_kind in CONTINUITY_KINDS and (w_id, slot.post_id) not in known:
            gate_use[w_id, slot.post_id].append(var)
    used_of: dict[tuple[int, int], cp_model.IntVar] = {}
    for pair, vars_ in gate_use.items():
        used = used_of[pair] = model.new_bool_var("")
        model.add_max_equality(used, vars_)
        variables.append(used)
        coefficients.append(-weights["continuity"])
    # fair shares over the period, the fixed assignments counted: the terms of `score`
    fair = period.fair
    load_target, share = period.targets
    worked: dict[int, int] = defaultdict(int, fixed.worked)
    unpopular_worked: dict[int, int] = defaultdict(int, fixed.unpopular)
    over_load_of: dict[int, tuple[cp_model.IntVar, int]] = {}
    over_unpopular_of: dict[int, cp_model.IntVar] = {}
    for w in fair:
        cap = period.capacity[w.id]
        ids = mine.get(w.id, [])
        over = model.new_int_var(0, 10_000, "")
        over_load_of[w.id] = (over, cap)
        # over >= ceil(load % - target), as `score` counts it
        model.add(cp_model.LinearExpr.weighted_sum([x[w.id, i] for i in ids],
                                                   [length[i] * 100 for i in ids])
                  - cap * over <= load_target * cap - worked[w.id] * 100)
        extra = over_unpopular_of[w.id] = model.new_int_var(0, len(instance.slots), "")
        unpop = [x[w.id, i] for i in ids if slots[i].unpopular]
        model.add(cp_model.LinearExpr.sum(unpop) - extra
                  <= share - unpopular_worked[w.id])
        variables += [over, extra]
        coefficients += [-weights["fair_hours"], -weights["fair_unpopular"]]

    # a complete feasible hint, auxiliary variables included
    if current is not None:
        hinted = {(a.warden_id, a.slot_id) for a in current}
    elif prior is not None:
        kept = {key for key in period.before or () if key in x}
        kept |= {(p.warden_id, p.slot_id) for p in block_pins}
        in_slot: dict[str, int] = defaultdict(int)
        for _w, s_id in kept:
            in_slot[s_id] += 1
        hinted = {(w_id, s_id) for w_id, s_id in kept
                  if not (slots[s_id].required >= 2 and in_slot[s_id] < 2)}
    else:
        start = _greedy(instance, fixed=pins, only=here)
        hinted = {(a.warden_id, a.slot_id) for a in start} | \
            {(p.warden_id, p.slot_id) for p in block_pins}
    hinted &= set(x)
    hint_vars: list[int] = []
    hint_values: list[int] = []

    def hint(var: cp_model.IntVar, value: int) -> None:
        hint_vars.append(var.index)
        hint_values.append(value)

    for key, var in x.items():
        hint(var, 1 if key in hinted else 0)
    count: dict[str, int] = defaultdict(int)
    minutes: dict[int, int] = defaultdict(int)
    unpopular: dict[int, int] = defaultdict(int)
    for w_id, s_id in hinted:
        count[s_id] += 1
        minutes[w_id] += length[s_id]
        unpopular[w_id] += 1 if slots[s_id].unpopular else 0
    for s_id, staffed in staffed_of.items():
        hint(staffed, 1 if count[s_id] >= 2 else 0)
    gates = {(w_id, slots[s_id].post_id) for w_id, s_id in hinted}
    for pair, used in used_of.items():
        hint(used, 1 if pair in gates else 0)
    for w_id, (over, cap) in over_load_of.items():
        load = (worked[w_id] + minutes[w_id]) * 100 - load_target * cap
        hint(over, max(0, -(-load // cap)))
        hint(over_unpopular_of[w_id],
             max(0, unpopular_worked[w_id] + unpopular[w_id] - share))
    model.proto.solution_hint.vars.extend(hint_vars)
    model.proto.solution_hint.values.extend(hint_values)
    # the objective straight into the model (CP-SAT minimises: maximising is scaling by -1);
    # the expression API walks the terms one by one in Python
    model.proto.objective.vars.extend(v.index for v in variables)
    model.proto.objective.coeffs.extend(-c for c in coefficients)
    model.proto.objective.scaling_factor = -1.0

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, budget - (clock.monotonic() - t0))
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    if not fixed.empty:
        # a day of a large instance (~1,500 Booleans): one worker, no presolve, no symmetry
        # search. Measured on the shared 2-core machine: so the hint is the first solution at
        # once and the search proves the day optimal in about a second; two workers, or
        # presolve, spent the time competing and proved nothing (docs/adr/0021)
        solver.parameters.num_workers = 1
        solver.parameters.cp_model_presolve = False
        solver.parameters.symmetry_level = 0
    callback = _FirstSolution(started)
    status = solver.solve(model, callback)
    if status == cp_model.INFEASIBLE:
        return None
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # out of time before the search reported anything (a busy machine): the block's
        # starting roster, if it keeps every rule with the rest
        start = [Assignment(s_id, w_id) for (w_id, s_id) in sorted(hinted)]
        if current is not None:     # the block as it is in a roster that keeps every rule
            return "starting_roster", list(current), None, clock.monotonic() - started
        pinned_here = {(p.warden_id, p.slot_id) for p in block_pins} <= hinted
        if pinned_here and fixed.empty and not checker.check(instance, start):
            return "starting_roster", start, None, clock.monotonic() - started
        return "unknown", [], None, None
    chosen = [Assignment(s_id, w_id) for (w_id, s_id), var in x.items()
              if solver.boolean_value(var)]
    # the objective of the block leaves out constants (the fixed assignments' points, the
    # changes already counted): CP-SAT's bound is the whole roster's only when nothing is fixed
    bound = None
    if fixed.empty:
        constant = -weights["changes"] * len(period.before) if period.before is not None else 0
        bound = int(round(solver.best_objective_bound)) + constant
    return ("optimal" if status == cp_model.OPTIMAL else "feasible", chosen, bound,
            callback.first)


def finish(instance: Instance, roster: Roster, previous: list[Assignment] | None = None,
           weights: Mapping[str, int] = WEIGHTS) -> Roster:
    """Check the roster with the independent checker, score it term by term, explain its
    gaps, count its changes."""
    roster.violations = checker.check(instance, roster.assignments)
    roster.breakdown = score(instance, roster.assignments, previous, weights)
    roster.gaps = explain_gaps(instance, roster.assignments)
    if previous is not None:
        roster.changes = changed(previous, roster.assignments)
    return roster


# -- greedy baseline --------------------------------------------------------------------------

def greedy(instance: Instance, weights: Mapping[str, int] = WEIGHTS) -> Roster:
    """What a coordinator with a spreadsheet does: slots in time order, each filled with the
    least-loaded wardens free for it; a pair slot only when two are free. The benchmark's
    baseline."""
    started = clock.monotonic()
    chosen = _greedy(instance)
    seconds = clock.monotonic() - started
    breakdown = score(instance, chosen, None, weights)
    roster = Roster(chosen, "greedy", "feasible", breakdown["total"], None, seconds, seconds)
    return finish(instance, roster, None, weights)


def _greedy(instance: Instance, fixed: Iterable[Assignment] = (),
            only: set[str] | None = None,
            allowed: set[tuple[int, str]] | None = None) -> list[Assignment]:
    """The greedy assignments of the slots in `only` (all by default), around the `fixed`
    ones (kept, and counted in every rule). `allowed`: the (warden, slot) pairs `eligible`
    allows, when already known."""
    origin = datetime.combine(instance.first_day, datetime.min.time())
    begin = {s.id: int((s.start - origin).total_seconds() // 60) for s in instance.slots}
    end = {s.id: int((s.end - origin).total_seconds() // 60) for s in instance.slots}
    week = {s.id: week_of(s.day) for s in instance.slots}
    taken: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    week_minutes: dict[tuple[int, tuple[int, int]], int] = defaultdict(int)
    day_minutes: dict[tuple[int, int], int] = defaultdict(int)
    load: dict[int, int] = defaultdict(int)
    present: dict[str, int] = defaultdict(int)
    capacity = {w.id: max(1, _capacity(instance, w)) for w in instance.wardens}
    chosen: list[Assignment] = []

    def take(w_id: int, i: str) -> None:
        taken[w_id][begin[i] // 1440].append(i)
        week_minutes[w_id, week[i]] += end[i] - begin[i]
        day_minutes[w_id, begin[i] // 1440] += end[i] - begin[i]
        load[w_id] += end[i] - begin[i]
        present[i] += 1

    for a in fixed:
        take(a.warden_id, a.slot_id)

    def free(w: Warden, s: Slot) -> bool:
        if (w.id, s.id) not in allowed if allowed is not None else not eligible(w, s):
            return False
        i, day, minutes = s.id, begin[s.id] // 1440, end[s.id] - begin[s.id]
        if day_minutes[w.id, day] + minutes > MAX_DAILY_MINUTES:
            return False
        if week_minutes[w.id, week[i]] + minutes > w.contract_hours * 60:
            return False
        mine = taken[w.id]
        for o in mine.get(day, ()):   # apart by the travel buffer, whichever comes first
            if begin[i] < end[o] + TRAVEL_BUFFER_MINUTES and \
                    begin[o] < end[i] + TRAVEL_BUFFER_MINUTES:
                return False
        if any(begin[i] - end[o] < MIN_REST_MINUTES for o in mine.get(day - 1, ())):
            return False
        return not any(begin[o] - end[i] < MIN_REST_MINUTES for o in mine.get(day + 1, ()))

    for s in sorted(instance.slots, key=lambda s: (s.start, s.end, s.id)):
        if only is not None and s.id not in only:
            continue
        candidates = sorted((w for w in instance.wardens if free(w, s)),
                            key=lambda w: (load[w.id] / capacity[w.id], w.id))
        picked = candidates[:s.required - present[s.id]]
        if s.required >= 2 and present[s.id] + len(picked) < 2:
            continue
        for w in picked:
            chosen.append(Assignment(s.id, w.id))
            take(w.id, s.id)
    return chosen


# -- explanations -----------------------------------------------------------------------------

REASONS = {
    "skill": "lack a skill the post needs",
    "leave": "are on leave",
    "inactive": "have left the team",
    "busy": "are elsewhere at that time (or too close to get there)",
    "rest": "would not have 11 hours of rest",
    "daily_hours": "would work more than 9 hours that day",
    "contract_hours": "would exceed their weekly contract hours",
}
_CATEGORY = {"skill": "skill", "leave": "leave", "inactive": "inactive", "overlap": "busy",
             "travel": "busy", "rest": "rest", "daily_hours": "daily_hours",
             "weekly_hours": "contract_hours", "duplicate": "busy"}


def explain_gaps(instance: Instance, assignments: list[Assignment]) -> list[dict]:
    """Each slot with fewer wardens than required, and why: for every warden not in it, the
    first rule (by the order of REASONS) that adding them would break, counted by reason."""
    present: dict[str, list[int]] = defaultdict(list)
    for a in assignments:
        present[a.slot_id].append(a.warden_id)
    by_warden: dict[int, list[Assignment]] = defaultdict(list)
    for a in assignments:
        by_warden[a.warden_id].append(a)
    gaps = []
    for slot in instance.slots:
        assigned = len(present[slot.id])
        if assigned >= slot.required:
            continue
        counts = dict.fromkeys(REASONS, 0)
        free = 0
        for w in instance.wardens:
            if w.id in present[slot.id]:
                continue
            unfit = checker.fit(w, slot)   # skill, leave, team: whatever else they do
            if unfit:
                counts[next(r for r in REASONS if r in {v.rule for v in unfit})] += 1
                continue
            rules = {_CATEGORY.get(v.rule, v.rule)
                     for v in checker.blocking(instance, by_warden[w.id], w, slot)}
            if not rules:
                free += 1
                continue
            counts[next(r for r in REASONS if r in rules)] += 1
        missing = slot.required - assigned
        why = [f"{n} warden{'s' if n != 1 else ''} {REASONS[r]}"
               for r, n in counts.items() if n]
        skilled = sum(1 for w in instance.wardens if w.active and slot.skills <= w.skills)
        if skilled < slot.required:
            why.insert(0, f"not enough wardens with the skill: {skilled} have "
                          f"{', '.join(sorted(slot.skills)) or 'it'}, {slot.required} required")
        if free and slot.required >= 2 and assigned == 0 and free < 2:
            why.append("only one warden is free and this post is patrolled in pairs")
        elif free:
            why.append(f"{free} warden{'s' if free != 1 else ''} free but not placed "
                       "(the solver stopped at its time limit, or the pair rule)")
        main = max(counts, key=lambda r: counts[r]) if any(counts.values()) else "pair"
        if skilled < slot.required:
            main = "skill"
        gaps.append({"slot_id": slot.id, "post_id": slot.post_id, "start": slot.start,
                     "end": slot.end, "required": slot.required, "assigned": assigned,
                     "missing": missing, "main_reason": main,
                     "reasons": {**counts, "free": free}, "why": why})
    return gaps


def candidates(instance: Instance, assignments: list[Assignment], slot_id: str) -> list[dict]:
    """Who can take this shift: every warden not in it, those who break no rule first, ranked
    by how loaded they are (hours over contract), then whether they asked for that day, already
    know the post, and have fewest unpopular slots; the others with the rules they would
    break."""
    slot = instance.slot(slot_id)
    by_warden: dict[int, list[Assignment]] = defaultdict(list)
    for a in assignments:
        by_warden[a.warden_id].append(a)
    slots = instance.slots_by_id
    ranked = []
    for w in instance.wardens:
        mine = by_warden[w.id]
        if any(a.slot_id == slot_id for a in mine):
            continue
        blocked = checker.blocking(instance, mine, w, slot)
        worked = sum(slots[a.slot_id].minutes for a in mine)
        cap = _capacity(instance, w)
        load = round(worked * 100 / cap) if cap else 100
        knows = any(slots[a.slot_id].post_id == slot.post_id for a in mine)
        weekday = slot.start.weekday()
        ranked.append({
            "warden_id": w.id, "name": w.name, "can_take": not blocked,
            "load_percent": load, "desired_day": weekday in w.desired_days,
            "undesired_day": weekday in w.undesired_days, "knows_post": knows,
            "unpopular_slots": sum(1 for a in mine if slots[a.slot_id].unpopular),
            "blocked_by": [v.to_dict() for v in blocked]})
    ranked.sort(key=lambda c: (not c["can_take"], c["undesired_day"], c["load_percent"],
                               not c["desired_day"], not c["knows_post"],
                               c["unpopular_slots"], c["warden_id"]))
    return ranked
