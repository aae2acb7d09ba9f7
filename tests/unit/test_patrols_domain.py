"""The patrols domain and the independent checker: demand expands to the right slots (school
holidays and public holidays skipped), bad input is named, and each hard rule, broken on
purpose, is named by the checker."""
from datetime import date, datetime, time

import pytest

from services.patrols import checker, domain
from services.patrols.domain import Assignment, Demand, Instance, Post, Slot, Warden
from services.patrols.reference import school_holidays
from shared.calendar import belgian_holidays

GATE = Post(1, "École 1", "school_gate", "Tulipe")
MARKET = Post(2, "Marché Flagey", "market", "Flagey", frozenset({"sanctions"}))


def slot(sid, day, start, end, *, post=1, required=2, skills=frozenset()) -> Slot:
    return Slot(sid, post, 1, datetime.combine(day, start), datetime.combine(day, end),
                required, frozenset(skills))


def warden(wid, hours=38.0, **kw) -> Warden:
    return Warden(wid, f"W{wid}", hours, **kw)


def instance(slots, wardens) -> Instance:
    return Instance(date(2026, 11, 30), date(2026, 12, 27), tuple(slots), tuple(wardens))


def rules(inst, pairs) -> set[str]:
    return {v.rule for v in checker.check(inst, [Assignment(s, w) for s, w in pairs])}


MON = date(2026, 11, 30)
TUE = date(2026, 12, 1)


def test_school_gate_demand_skips_school_and_public_holidays():
    first, last = date(2026, 12, 14), date(2027, 1, 10)
    closed = domain.no_school_days(school_holidays("fwb"), belgian_holidays([2026, 2027]),
                                   first, last)
    demand = Demand(1, GATE.id, time(7, 45), time(8, 30), weekday=0, school_days_only=True)
    market = Demand(2, MARKET.id, time(8, 0), time(13, 0), weekday=5)
    slots = domain.expand([GATE, MARKET], [demand, market], first, last, closed)
    gate_days = [s.day for s in slots if s.post_id == GATE.id]
    assert gate_days == [date(2026, 12, 14), date(2027, 1, 4)]   # 21, 28 Dec: winter holidays
    assert len([s for s in slots if s.post_id == MARKET.id]) == 4
    assert closed[date(2026, 12, 25)] in ("Vacances d'hiver", "Kerstmis", "Noël", "Christmas")
    assert date(2027, 1, 4) not in closed  # back to school
    vl = domain.no_school_days(school_holidays("vl"), {}, first, last)
    assert date(2027, 1, 4) not in vl and date(2027, 1, 3) in vl


def test_a_one_off_event_happens_once_and_valid_dates_bound_a_weekly_window():
    event = Demand(3, MARKET.id, time(18, 0), time(22, 0), on_date=date(2026, 12, 5),
                   required=4)
    weekly = Demand(4, GATE.id, time(15, 0), time(16, 0), weekday=2,
                    valid_from=date(2026, 12, 3), valid_to=date(2026, 12, 16))
    slots = domain.expand([GATE, MARKET], [event, weekly], date(2026, 11, 30),
                          date(2026, 12, 31))
    assert [(s.post_id, s.day, s.required) for s in slots] == [
        (2, date(2026, 12, 5), 4), (1, date(2026, 12, 9), 2), (1, date(2026, 12, 16), 2)]
    assert slots[0].unpopular and not slots[1].unpopular


def test_bad_windows_and_numbers_are_named():
    with pytest.raises(domain.DomainError, match="end"):
        domain.check_window(time(9), time(8))
    with pytest.raises(domain.DomainError, match="9 hours"):
        domain.check_window(time(6), time(16))
    with pytest.raises(domain.DomainError, match="team has 3"):
        domain.check_required(5, 3)
    with pytest.raises(domain.DomainError, match="ends before"):
        domain.check_period(date(2026, 12, 2), date(2026, 12, 1))
    with pytest.raises(domain.DomainError, match="at most"):
        domain.check_period(date(2026, 12, 1), date(2027, 2, 1))
    with pytest.raises(domain.DomainError, match="contract_hours"):
        domain.check_contract_hours(80)


def test_overlapping_windows_at_one_post_are_found():
    monday = Demand(1, 1, time(8), time(9), weekday=0)
    assert domain.overlapping_windows([monday], Demand(2, 1, time(8, 30), time(10),
                                                      weekday=0)) == monday
    assert domain.overlapping_windows([monday], Demand(2, 1, time(8, 30), time(10),
                                                      weekday=1)) is None
    assert domain.overlapping_windows([monday], Demand(2, 2, time(8, 30), time(10),
                                                      weekday=0)) is None
    assert domain.overlapping_windows([monday], Demand(2, 1, time(8, 30), time(10),
                                                      on_date=MON)) == monday
    assert domain.overlapping_windows([monday], Demand(2, 1, time(9), time(10),
                                                      weekday=0)) is None


def test_a_roster_keeping_every_rule_passes():
    inst = instance([slot("a", MON, time(8), time(9)), slot("b", MON, time(15), time(16))],
                    [warden(1), warden(2)])
    assert checker.check(inst, [Assignment("a", 1), Assignment("a", 2), Assignment("b", 1),
                                Assignment("b", 2)]) == []


@pytest.mark.parametrize(("slots", "wardens", "pairs", "rule"), [
    ([slot("a", MON, time(8), time(9))], [warden(1)], [("a", 1)], "pair"),
    ([slot("a", MON, time(8), time(9), required=1)], [warden(1), warden(2)],
     [("a", 1), ("a", 2)], "overstaffed"),
    ([slot("a", MON, time(8), time(9), required=1)], [warden(1)], [("a", 1), ("a", 1)],
     "duplicate"),
    ([slot("a", MON, time(8), time(9), required=1)], [warden(1)], [("zz", 1)], "unknown"),
    ([slot("a", MON, time(8), time(9), required=1, skills={"sanctions"})],
     [warden(1, skills=frozenset({"fr"}))], [("a", 1)], "skill"),
    ([slot("a", MON, time(8), time(9), required=1)], [warden(1, leave=frozenset({MON}))],
     [("a", 1)], "leave"),
    ([slot("a", MON, time(8), time(9), required=1)], [warden(1, active=False)], [("a", 1)],
     "inactive"),
    ([slot("a", MON, time(8), time(9), required=1),
      slot("b", MON, time(8, 30), time(10), post=2, required=1)], [warden(1)],
     [("a", 1), ("b", 1)], "overlap"),
    ([slot("a", MON, time(8), time(9), required=1),
      slot("b", MON, time(9, 5), time(10), post=2, required=1)], [warden(1)],
     [("a", 1), ("b", 1)], "travel"),
    ([slot("a", MON, time(6), time(11), required=1),
      slot("b", MON, time(12), time(17), required=1)], [warden(1)],
     [("a", 1), ("b", 1)], "daily_hours"),
    ([slot(f"d{i}", date(2026, 11, 30 + i) if i == 0 else date(2026, 12, i), time(8),
           time(12), required=1) for i in range(5)], [warden(1, hours=19)],
     [(f"d{i}", 1) for i in range(5)], "weekly_hours"),
    ([slot("a", MON, time(18), time(22), required=1),
      slot("b", TUE, time(7), time(9), required=1)], [warden(1)], [("a", 1), ("b", 1)],
     "rest"),
])
def test_each_broken_rule_is_named(slots, wardens, pairs, rule):
    found = checker.check(instance(slots, wardens), [Assignment(s, w) for s, w in pairs])
    assert rule in {v.rule for v in found}
    assert all(v.message for v in found)


def test_rest_counts_only_between_days_and_holds_at_eleven_hours():
    inst = instance([slot("a", MON, time(13), time(20), required=1),
                     slot("b", TUE, time(7), time(9), required=1)], [warden(1)])
    assert rules(inst, [("a", 1), ("b", 1)]) == set()


def test_blocking_names_what_one_more_assignment_would_break():
    a = slot("a", MON, time(8), time(9), required=1)
    b = slot("b", MON, time(8, 30), time(9, 30), post=2, required=1)
    inst = instance([a, b], [warden(1)])
    assert [v.rule for v in checker.blocking(inst, [Assignment("a", 1)], inst.wardens[0], b)] \
        == ["overlap"]
    assert checker.blocking(inst, [], inst.wardens[0], b) == []


def test_a_swap_gives_the_slot_to_the_other_warden():
    roster = [Assignment("a", 1), Assignment("a", 2)]
    assert domain.swapped(roster, "a", 1, 3) == [Assignment("a", 3), Assignment("a", 2)]
    with pytest.raises(domain.DomainError):
        domain.swapped(roster, "a", 4, 3)
