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

The objective (maximised; weights in WEIGHTS, each term reported on its own by `score`):
  cover           +1000 per warden-slot filled, + the hotspot bonus of its neighbourhood
                  (50 per incident reported there in the last 28 days, at most +500)
  desired_days    +20 per assignment on a weekday the warden asked for
  undesired_days  -60 per assignment on a weekday the warden asked not to work
  continuity      -30 per distinct (warden, school gate): the same faces at the same gate
  fair_hours      -10 per percentage point between the most and the least loaded warden
                  (hours over the contract hours of the days they are not on leave)
  fair_unpopular  -40 per unpopular slot (early, evening, weekend) of the warden who has most
  changes         -300 per assignment added or removed against the previous roster (re-plan)
Covering always pays more than any penalty an assignment can bring, so a slot stays uncovered
only when the rules leave no one: the gaps are then explained by `explain_gaps`.
"""
import time as clock
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

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
    # in whole percentage points: the most loaded rounded up, the least rounded down
    loads = [(minutes[w.id] * 100, _capacity(instance, w)) for w in instance.wardens
             if w.active and _capacity(instance, w) > 0]
    spread = (max(-(-m // c) for m, c in loads) - min(m // c for m, c in loads)) if loads else 0
    breakdown = {
        "cover": cover, "desired_days": desired, "undesired_days": undesired,
        "continuity": -weights["continuity"] * len(pairs),
        "fair_hours": -weights["fair_hours"] * spread,
        "fair_unpopular": -weights["fair_unpopular"] * max(unpopular.values(), default=0),
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


def solve(instance: Instance, *, time_limit: float = 10.0,
          pinned: Iterable[Assignment] = (), previous: Iterable[Assignment] | None = None,
          weights: Mapping[str, int] = WEIGHTS, workers: int = 2,
          seed: int = 0) -> Roster:
    """The best roster CP-SAT finds within `time_limit` seconds. `pinned` assignments (the
    published ones) are kept; with `previous` (re-plan), changes against it cost points instead.
    Pins the rules no longer allow (leave taken since) are dropped and reported."""
    started = clock.monotonic()
    slots, wardens = instance.slots_by_id, instance.wardens_by_id
    model = cp_model.CpModel()
    x: dict[tuple[int, str], cp_model.IntVar] = {}
    for w in instance.wardens:
        for s in instance.slots:
            if eligible(w, s):
                x[w.id, s.id] = model.NewBoolVar(f"x_{w.id}_{s.id}")
    dropped = []
    for a in pinned:
        if (a.warden_id, a.slot_id) in x:
            model.Add(x[a.warden_id, a.slot_id] == 1)
        else:
            dropped.append({"slot_id": a.slot_id, "warden_id": a.warden_id,
                            "why": "the rules no longer allow it (leave, skill, left the team)"})
    mine: dict[int, list[Slot]] = defaultdict(list)
    for (w_id, s_id) in x:
        mine[w_id].append(slots[s_id])
    for w_id, taken in mine.items():
        warden = wardens[w_id]
        taken.sort(key=lambda s: (s.start, s.end))
        by_day: dict[date, list[Slot]] = defaultdict(list)
        by_week: dict[tuple[int, int], list[Slot]] = defaultdict(list)
        for s in taken:
            by_day[s.day].append(s)
            by_week[week_of(s.day)].append(s)
        seen: set[frozenset[str]] = set()
        for day_slots in by_day.values():
            for s in day_slots:
                clique = frozenset(o.id for o in day_slots
                                   if o.start <= s.start and _conflict(o, s))
                if len(clique) > 1 and clique not in seen:
                    seen.add(clique)
                    model.AddAtMostOne(x[w_id, o] for o in clique)
            if sum(s.minutes for s in day_slots) > MAX_DAILY_MINUTES:
                model.Add(sum(s.minutes * x[w_id, s.id] for s in day_slots) <=
                          MAX_DAILY_MINUTES)
        for week_slots in by_week.values():
            limit = int(warden.contract_hours * 60)
            if sum(s.minutes for s in week_slots) > limit:
                model.Add(sum(s.minutes * x[w_id, s.id] for s in week_slots) <= limit)
        for day, day_slots in by_day.items():
            following = by_day.get(date.fromordinal(day.toordinal() + 1), [])
            for a in day_slots:
                for b in following:
                    if _rest_clash(a, b):
                        model.AddBoolOr([x[w_id, a.id].Not(), x[w_id, b.id].Not()])
    per_slot: dict[str, list[cp_model.IntVar]] = defaultdict(list)
    for (_warden, s_id), var in x.items():
        per_slot[s_id].append(var)
    for s_id, vars_ in per_slot.items():
        slot = slots[s_id]
        model.Add(sum(vars_) <= slot.required)
        if slot.required >= 2:
            staffed = model.NewBoolVar(f"staffed_{s_id}")
            model.Add(sum(vars_) >= 2).OnlyEnforceIf(staffed)
            model.Add(sum(vars_) == 0).OnlyEnforceIf(staffed.Not())
    terms = []
    for (w_id, s_id), var in x.items():
        slot, warden = slots[s_id], wardens[w_id]
        points = weights["cover"] + hotspot_bonus(instance.hotspots.get(slot.neighbourhood or "",
                                                                        0))
        weekday = slot.start.weekday()
        if weekday in warden.desired_days:
            points += weights["desired_days"]
        if weekday in warden.undesired_days:
            points -= weights["undesired_days"]
        terms.append(points * var)
    gate_use: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    for (w_id, s_id), var in x.items():
        if slots[s_id].post_kind in CONTINUITY_KINDS:
            gate_use[w_id, slots[s_id].post_id].append(var)
    for (w_id, post_id), vars_ in gate_use.items():
        used = model.NewBoolVar(f"gate_{w_id}_{post_id}")
        model.AddMaxEquality(used, vars_)
        terms.append(-weights["continuity"] * used)
    fair = [w for w in instance.wardens if w.active and _capacity(instance, w) > 0]
    if fair:
        high = model.NewIntVar(0, 10_000, "load_high")
        low = model.NewIntVar(0, 10_000, "load_low")
        for w in fair:
            worked = sum(s.minutes * x[w.id, s.id] for s in mine.get(w.id, []))
            cap = _capacity(instance, w)
            # high >= ceil(load %), low <= load %: the term is the rounded-up spread
            model.Add(worked * 100 <= high * cap)
            model.Add(worked * 100 >= low * cap)
        terms.append(-weights["fair_hours"] * (high - low))
        most = model.NewIntVar(0, len(instance.slots), "unpopular_most")
        for w in fair:
            model.Add(most >= sum(x[w.id, s.id] for s in mine.get(w.id, []) if s.unpopular))
        terms.append(-weights["fair_unpopular"] * most)
    prior = list(previous) if previous is not None else None
    if prior is not None:
        before = {(a.warden_id, a.slot_id) for a in prior}
        for key, var in x.items():
            terms.append(-weights["changes"] * (1 - var) if key in before
                         else -weights["changes"] * var)
        # an earlier assignment the rules no longer allow is a change whatever the solver does
        lost = sum(1 for key in before if key not in x)
        terms.append(-weights["changes"] * lost)
        for key in before & set(x):
            model.AddHint(x[key], 1)
    model.Maximize(sum(terms))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    callback = _FirstSolution(started)
    status = solver.Solve(model, callback)
    seconds = clock.monotonic() - started
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        name = "infeasible" if status == cp_model.INFEASIBLE else "unknown"
        return Roster([], "cp_sat", name, 0, None, seconds, callback.first,
                      dropped_pins=dropped)
    chosen = [Assignment(s_id, w_id) for (w_id, s_id), var in x.items()
              if solver.Value(var)]
    chosen.sort(key=lambda a: (slots[a.slot_id].start, a.slot_id, a.warden_id))
    roster = Roster(chosen, "cp_sat", "optimal" if status == cp_model.OPTIMAL else "feasible",
                    int(round(solver.ObjectiveValue())), int(round(solver.BestObjectiveBound())),
                    seconds, callback.first, dropped_pins=dropped)
    return finish(instance, roster, prior, weights)


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
    taken: dict[int, list[Slot]] = defaultdict(list)
    week_minutes: dict[tuple[int, tuple[int, int]], int] = defaultdict(int)
    day_minutes: dict[tuple[int, date], int] = defaultdict(int)
    load: dict[int, int] = defaultdict(int)
    chosen: list[Assignment] = []

    def free(w: Warden, s: Slot) -> bool:
        if not eligible(w, s):
            return False
        if day_minutes[w.id, s.day] + s.minutes > MAX_DAILY_MINUTES:
            return False
        if week_minutes[w.id, week_of(s.day)] + s.minutes > w.contract_hours * 60:
            return False
        return not any(_conflict(o, s) or _rest_clash(o, s) for o in taken[w.id])

    for s in sorted(instance.slots, key=lambda s: (s.start, s.end, s.id)):
        candidates = sorted((w for w in instance.wardens if free(w, s)),
                            key=lambda w: (load[w.id] / max(1, _capacity(instance, w)), w.id))
        picked = candidates[:s.required]
        if s.required >= 2 and len(picked) < 2:
            continue
        for w in picked:
            chosen.append(Assignment(s.id, w.id))
            taken[w.id].append(s)
            week_minutes[w.id, week_of(s.day)] += s.minutes
            day_minutes[w.id, s.day] += s.minutes
            load[w.id] += s.minutes
    seconds = clock.monotonic() - started
    breakdown = score(instance, chosen, None, weights)
    roster = Roster(chosen, "greedy", "feasible", breakdown["total"], None, seconds, seconds)
    return finish(instance, roster, None, weights)


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
