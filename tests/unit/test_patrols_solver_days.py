"""The large-instance path of the roster solver: a complete starting roster (greedy, or the
earlier one for a re-plan), then CP-SAT re-solving it one day at a time with the rest of the
roster fixed. Forced here on small instances (WHOLE_MODEL_VARIABLES set to -1) so every rule
across the day boundaries (rest, weekly hours, pins, pairs) meets the independent checker.
The generous time limits are never reached: each day's model is proved optimal in
milliseconds and the passes stop when a pass changes nothing. Nothing asserts on time."""
from datetime import time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings

from services.patrols import checker, solver
from services.patrols.domain import Assignment
from tests.unit.test_patrols_solver import FIRST, inst, instances, slot, w


@pytest.fixture(autouse=True)
def day_by_day(monkeypatch):
    monkeypatch.setattr(solver, "WHOLE_MODEL_VARIABLES", -1)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(instances())
def test_day_by_day_rosters_keep_every_rule_and_never_score_below_greedy(instance):
    greedy = solver.greedy(instance)
    roster = solver.solve(instance, time_limit=30)
    assert roster.status in ("feasible", "starting_roster")
    assert checker.check(instance, roster.assignments) == []
    assert roster.objective == roster.breakdown["total"] >= greedy.objective
    assert roster.bound is not None and roster.bound >= roster.objective
    for gap in roster.gaps:
        assert gap["why"] and gap["missing"] > 0


def test_each_day_gives_the_skilled_pair_to_the_post_that_needs_it():
    # on some days the greedy roster sends the Dutch speakers to the gate that opens first and
    # leaves the stop that needs Dutch empty; the day's model swaps them
    gates = [slot(f"g{i}", FIRST + timedelta(days=i), time(8), time(9), post=1,
                  kind="school_gate") for i in range(5)]
    stops = [slot(f"s{i}", FIRST + timedelta(days=i), time(8, 30), time(10), post=2,
                  skills={"nl"}, kind="transport_stop") for i in range(5)]
    team = [w(1, skills=frozenset({"nl"})), w(2, skills=frozenset({"nl"})), w(3), w(4)]
    instance = inst([*gates, *stops], team)
    greedy = solver.greedy(instance)
    best = solver.solve(instance, time_limit=30)
    assert greedy.coverage(instance) < 1.0
    assert best.status == "feasible"
    assert best.coverage(instance) == 1.0
    assert checker.check(instance, best.assignments) == []
    assert best.bound is not None and best.bound >= best.objective > greedy.objective


def test_the_rest_rule_holds_across_the_day_being_solved():
    # a late Monday pair, a Tuesday morning pair: the same two wardens cannot do both
    late = slot("late", FIRST, time(18), time(23))
    morning = slot("morning", FIRST + timedelta(days=1), time(7), time(9), post=2)
    instance = inst([late, morning], [w(1), w(2), w(3), w(4)])
    roster = solver.solve(instance, time_limit=30)
    assert checker.check(instance, roster.assignments) == []
    assert len(roster.assignments) == 4


def test_weekly_hours_count_the_other_days_of_the_week():
    days = [slot(f"d{i}", FIRST + timedelta(days=i), time(8), time(16)) for i in range(5)]
    instance = inst(days, [w(1, hours=24), w(2, hours=24), w(3, hours=16), w(4, hours=16)])
    roster = solver.solve(instance, time_limit=30)
    assert checker.check(instance, roster.assignments) == []
    assert len(roster.assignments) == 10     # 80 contract hours, five pairs of 8 hours


def test_pins_stay_and_a_replan_changes_as_little_as_it_can():
    days = [slot(f"d{i}", FIRST + timedelta(days=i), time(8), time(10)) for i in range(5)]
    team = [w(1), w(2), w(3), w(4)]
    instance = inst(days, team)
    pinned = solver.solve(instance, time_limit=30, pinned=[Assignment("d2", 4)])
    assert Assignment("d2", 4) in pinned.assignments
    assert checker.check(instance, pinned.assignments) == []
    before = pinned.assignments
    absent = 4
    away = inst(days, [w(i, leave=frozenset(FIRST + timedelta(days=d) for d in range(7)))
                       if i == absent else w(i) for i in range(1, 5)])
    after = solver.solve(away, time_limit=30, previous=before)
    lost = sum(1 for a in before if a.warden_id == absent)
    assert checker.check(away, after.assignments) == []
    assert len(after.assignments) == 10
    assert after.changes == 2 * lost
    assert after.breakdown["changes"] == -300 * after.changes
