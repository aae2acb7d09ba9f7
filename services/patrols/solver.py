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


def solve(instance: Instance, *, time_limit: float = 10.0,
          pinned: Iterable[Assignment] = (), previous: Iterable[Assignment] | None = None,
          weights: Mapping[str, int] = WEIGHTS, workers: int = 2,
          seed: int = 0) -> Roster:
    """The best roster CP-SAT finds within `time_limit` seconds. `pinned` assignments (the
    published ones) are kept; with `previous` (re-plan), changes against it cost points instead.
    Pins the rules no longer allow (leave taken since) are dropped and reported."""
    started = clock.monotonic()
    pinned = list(pinned)
    slots, wardens = instance.slots_by_id, instance.wardens_by_id
    # Integers once per slot (minutes since the period's first day): the model is built from
    # tens of thousands of pairs, and datetime arithmetic in those loops costs seconds.
    origin = datetime.combine(instance.first_day, datetime.min.time())
    begin = {s.id: int((s.start - origin).total_seconds() // 60) for s in instance.slots}
    finish_ = {s.id: int((s.end - origin).total_seconds() // 60) for s in instance.slots}
    day_of = {s.id: begin[s.id] // 1440 for s in instance.slots}
    week = {s.id: week_of(s.day) for s in instance.slots}
    length = {s.id: finish_[s.id] - begin[s.id] for s in instance.slots}
    model = cp_model.CpModel()
    x: dict[tuple[int, str], cp_model.IntVar] = {}
    for w in instance.wardens:
        for s in instance.slots:
            if eligible(w, s):
                x[w.id, s.id] = model.new_bool_var(f"x_{w.id}_{s.id}")
    dropped = []
    for a in pinned:
        if (a.warden_id, a.slot_id) in x:
            model.add(x[a.warden_id, a.slot_id] == 1)
        else:
            dropped.append({"slot_id": a.slot_id, "warden_id": a.warden_id,
                            "why": "the rules no longer allow it (leave, skill, left the team)"})
    mine: dict[int, list[str]] = defaultdict(list)
    for (w_id, s_id) in x:
        mine[w_id].append(s_id)

    def weighted(ids: list[str], w_id: int, coefficient: Mapping[str, int] | None = None
                 ) -> cp_model.LinearExpr:
        return cp_model.LinearExpr.weighted_sum(
            [x[w_id, i] for i in ids], [coefficient[i] if coefficient else 1 for i in ids])

    for w_id, taken in mine.items():
        warden = wardens[w_id]
        taken.sort(key=lambda i: (begin[i], finish_[i]))
        by_day: dict[int, list[str]] = defaultdict(list)
        by_week: dict[tuple[int, int], list[str]] = defaultdict(list)
        for i in taken:
            by_day[day_of[i]].append(i)
            by_week[week[i]].append(i)
        seen: set[frozenset[str]] = set()
        for day, day_slots in by_day.items():
            for i in day_slots:   # every slot still running (or too close) when i starts
                clique = frozenset(o for o in day_slots if begin[o] <= begin[i] <
                                   finish_[o] + TRAVEL_BUFFER_MINUTES)
                if len(clique) > 1 and clique not in seen:
                    seen.add(clique)
                    model.add_at_most_one(x[w_id, o] for o in clique)
            if sum(length[i] for i in day_slots) > MAX_DAILY_MINUTES:
                model.add(weighted(day_slots, w_id, length) <= MAX_DAILY_MINUTES)
            following = by_day.get(day + 1, [])
            for a in day_slots:
                for b in following:
                    if begin[b] - finish_[a] < MIN_REST_MINUTES:
                        model.add_bool_or([x[w_id, a].negated(), x[w_id, b].negated()])
        limit = int(warden.contract_hours * 60)
        for week_slots in by_week.values():
            if sum(length[i] for i in week_slots) > limit:
                model.add(weighted(week_slots, w_id, length) <= limit)
    per_slot: dict[str, list[cp_model.IntVar]] = defaultdict(list)
    for (_warden, s_id), var in x.items():
        per_slot[s_id].append(var)
    staffed_of: dict[str, cp_model.IntVar] = {}
    for s_id, vars_ in per_slot.items():
        slot = slots[s_id]
        total = cp_model.LinearExpr.sum(vars_)
        if slot.required >= 2 and len(vars_) >= 2:   # none, or from two to `required`
            staffed = staffed_of[s_id] = model.new_bool_var(f"staffed_{s_id}")
            model.add(total <= slot.required * staffed)
            model.add(total >= 2 * staffed)
        elif slot.required >= 2:
            model.add(total == 0)                      # one eligible warden cannot go alone
        elif len(vars_) > slot.required:
            model.add(total <= slot.required)
    variables: list[cp_model.IntVar] = []
    coefficients: list[int] = []
    constant = 0
    prior = list(previous) if previous is not None else None
    before = {(a.warden_id, a.slot_id) for a in prior} if prior is not None else set()
    for (w_id, s_id), var in x.items():
        slot, warden = slots[s_id], wardens[w_id]
        points = weights["cover"] + hotspot_bonus(instance.hotspots.get(slot.neighbourhood or "",
                                                                        0))
        weekday = slot.start.weekday()
        if weekday in warden.desired_days:
            points += weights["desired_days"]
        if weekday in warden.undesired_days:
            points -= weights["undesired_days"]
        if prior is not None:   # a change is an assignment added, or one taken away
            if (w_id, s_id) in before:
                points += weights["changes"]
                constant -= weights["changes"]
            else:
                points -= weights["changes"]
        variables.append(var)
        coefficients.append(points)
    gate_use: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    for (w_id, s_id), var in x.items():
        if slots[s_id].post_kind in CONTINUITY_KINDS:
            gate_use[w_id, slots[s_id].post_id].append(var)
    used_of: dict[tuple[int, int], cp_model.IntVar] = {}
    for (w_id, post_id), vars_ in gate_use.items():
        used = used_of[w_id, post_id] = model.new_bool_var(f"gate_{w_id}_{post_id}")
        model.add_max_equality(used, vars_)
        variables.append(used)
        coefficients.append(-weights["continuity"])
    fair = [w for w in instance.wardens if w.active and _capacity(instance, w) > 0]
    load_target, unpopular_share = targets(instance)
    over_load_of: dict[int, cp_model.IntVar] = {}
    over_unpopular_of: dict[int, cp_model.IntVar] = {}
    for w in fair:   # each warden against the team's share: local, so the search moves freely
        ids = mine.get(w.id, [])
        cap = _capacity(instance, w)
        over = over_load_of[w.id] = model.new_int_var(0, 10_000, f"over_load_{w.id}")
        # over >= ceil(load % - target), as `score` counts it
        model.add(weighted(ids, w.id, length) * 100 - cap * over <= load_target * cap)
        extra = over_unpopular_of[w.id] = model.new_int_var(0, len(instance.slots),
                                                            f"over_unpopular_{w.id}")
        model.add(weighted([i for i in ids if slots[i].unpopular], w.id) - extra
                  <= unpopular_share)
        variables += [over, extra]
        coefficients += [-weights["fair_hours"], -weights["fair_unpopular"]]
    if prior is not None:
        # an earlier assignment the rules no longer allow is a change whatever the solver does
        constant -= weights["changes"] * sum(1 for key in before if key not in x)
        # the earlier roster without what the rules no longer allow, and without a warden
        # left alone in a pair slot: a roster that keeps every rule
        kept = before & set(x)
        in_slot: dict[str, int] = defaultdict(int)
        for _w, s_id in kept:
            in_slot[s_id] += 1
        hinted = {(w_id, s_id) for w_id, s_id in kept
                  if not (slots[s_id].required >= 2 and in_slot[s_id] < 2)}
    else:
        # a feasible roster to start from (the greedy one), so a first solution comes early
        hinted = {(a.warden_id, a.slot_id) for a in _greedy(instance)} & set(x)
    # The whole hint, auxiliary variables included, so it is a complete feasible solution.
    for key, var in x.items():
        model.add_hint(var, 1 if key in hinted else 0)
    count: dict[str, int] = defaultdict(int)
    for _w, s_id in hinted:
        count[s_id] += 1
    for s_id, staffed in staffed_of.items():
        model.add_hint(staffed, 1 if count[s_id] >= 2 else 0)
    gates = {(w_id, slots[s_id].post_id) for w_id, s_id in hinted}
    for key, used in used_of.items():
        model.add_hint(used, 1 if key in gates else 0)
    worked_minutes: dict[int, int] = defaultdict(int)
    unpopular: dict[int, int] = defaultdict(int)
    for w_id, s_id in hinted:
        worked_minutes[w_id] += length[s_id]
        unpopular[w_id] += 1 if slots[s_id].unpopular else 0
    for w in fair:
        cap = _capacity(instance, w)
        model.add_hint(over_load_of[w.id],
                       max(0, -(-(worked_minutes[w.id] * 100 - load_target * cap) // cap)))
        model.add_hint(over_unpopular_of[w.id], max(0, unpopular[w.id] - unpopular_share))
    model.maximize(cp_model.LinearExpr.weighted_sum(variables, coefficients) + constant)
    built = clock.monotonic() - started
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, float(time_limit) - built)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    solver.parameters.symmetry_level = 0
    solver.parameters.cp_model_presolve = False
    callback = _FirstSolution(started)
    status = solver.solve(model, callback)
    seconds = clock.monotonic() - started
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # Out of time before the search reported anything (a busy machine: building the model
        # took the limit). The roster it was given to start from is returned if it keeps every
        # rule and every pin: a feasible roster on time, never nothing.
        start = [Assignment(s_id, w_id) for (w_id, s_id) in sorted(hinted)]
        kept = {(a.warden_id, a.slot_id) for a in pinned} & set(x) <= hinted
        if status != cp_model.INFEASIBLE and start and kept and \
                not checker.check(instance, start):
            start.sort(key=lambda a: (slots[a.slot_id].start, a.slot_id, a.warden_id))
            roster = Roster(start, "cp_sat", "starting_roster",
                            score(instance, start, prior, weights)["total"], None, seconds,
                            seconds, dropped_pins=dropped)
            return finish(instance, roster, prior, weights)
        name = "infeasible" if status == cp_model.INFEASIBLE else "unknown"
        return Roster([], "cp_sat", name, 0, None, seconds, callback.first,
                      dropped_pins=dropped)
    chosen = [Assignment(s_id, w_id) for (w_id, s_id), var in x.items()
              if solver.value(var)]
    chosen.sort(key=lambda a: (slots[a.slot_id].start, a.slot_id, a.warden_id))
    roster = Roster(chosen, "cp_sat", "optimal" if status == cp_model.OPTIMAL else "feasible",
                    int(round(solver.objective_value)), int(round(solver.best_objective_bound)),
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
    chosen = _greedy(instance)
    seconds = clock.monotonic() - started
    breakdown = score(instance, chosen, None, weights)
    roster = Roster(chosen, "greedy", "feasible", breakdown["total"], None, seconds, seconds)
    return finish(instance, roster, None, weights)


def _greedy(instance: Instance) -> list[Assignment]:
    origin = datetime.combine(instance.first_day, datetime.min.time())
    begin = {s.id: int((s.start - origin).total_seconds() // 60) for s in instance.slots}
    end = {s.id: int((s.end - origin).total_seconds() // 60) for s in instance.slots}
    week = {s.id: week_of(s.day) for s in instance.slots}
    taken: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    week_minutes: dict[tuple[int, tuple[int, int]], int] = defaultdict(int)
    day_minutes: dict[tuple[int, int], int] = defaultdict(int)
    load: dict[int, int] = defaultdict(int)
    capacity = {w.id: max(1, _capacity(instance, w)) for w in instance.wardens}
    chosen: list[Assignment] = []

    def free(w: Warden, s: Slot) -> bool:
        if not eligible(w, s):
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
        candidates = sorted((w for w in instance.wardens if free(w, s)),
                            key=lambda w: (load[w.id] / capacity[w.id], w.id))
        picked = candidates[:s.required]
        if s.required >= 2 and len(picked) < 2:
            continue
        for w in picked:
            chosen.append(Assignment(s.id, w.id))
            taken[w.id][begin[s.id] // 1440].append(s.id)
            week_minutes[w.id, week[s.id]] += end[s.id] - begin[s.id]
            day_minutes[w.id, begin[s.id] // 1440] += end[s.id] - begin[s.id]
            load[w.id] += end[s.id] - begin[s.id]
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
