from datetime import UTC, date, datetime, timedelta

import pytest

from services.tags import domain, planning
from services.tags.domain import (
    AWAITING_CONSENT,
    CANCELLED,
    CREATED,
    DONE,
    READY,
    REJECTED,
    SCHEDULED,
)
from shared.calendar import BRUSSELS

# The lifecycle as scenarios through the use cases: tests/service/test_lifecycle_scenarios.py


@pytest.mark.parametrize("status, ownership, consent, after", [
    (READY, "private", False, AWAITING_CONSENT),      # found private on site
    (SCHEDULED, "commercial", False, AWAITING_CONSENT),
    (SCHEDULED, "private", True, SCHEDULED),          # the waiver is on record
    (AWAITING_CONSENT, "public", False, READY),       # no waiver needed after all
    (AWAITING_CONSENT, "private", False, AWAITING_CONSENT),
    (READY, "public", False, READY),
])
def test_what_an_assessment_means_for_the_job(status, ownership, consent, after):
    assert domain.status_after_assessment(status, ownership, consent) == after


def test_only_the_rules_decide_where_a_new_job_starts():
    assert {(CREATED, AWAITING_CONSENT), (CREATED, READY), (CREATED, REJECTED)} <= \
        domain.LIFECYCLE.system_only
    assert domain.LIFECYCLE.targets(CREATED, by_system=False) == frozenset()
    assert domain.LIFECYCLE.final == {DONE, CANCELLED, REJECTED}


@pytest.mark.parametrize("ownership, consent, status", [
    ("public", False, READY), ("private", False, AWAITING_CONSENT),
    ("commercial", False, AWAITING_CONSENT), ("private", True, READY),
])
def test_private_property_waits_for_consent(ownership, consent, status):
    assert domain.first_status(ownership, consent) == status


def brussels(y, m, d, hh=10):
    return datetime(y, m, d, hh, tzinfo=BRUSSELS)


def end_of_day(y, m, d):
    return datetime(y, m, d, 23, 59, 59, tzinfo=BRUSSELS).astimezone(UTC)


@pytest.mark.parametrize("content, ownership, priority, due", [
    ("hate", "private", 1, (2026, 11, 12)),       # 1 working day, 11 Nov skipped, no consent
    ("offensive", "public", 1, (2026, 11, 12)),
    ("ordinary", "public", 2, (2026, 11, 18)),    # 5 working days: 12, 13, 16, 17, 18
])
def test_deadlines_by_content_and_ownership(content, ownership, priority, due):
    assert domain.urgency(content, ownership).priority == priority
    assert domain.deadline(content, ownership, brussels(2026, 11, 10), None) == end_of_day(*due)


def test_private_deadline_counts_from_consent():
    created = brussels(2026, 11, 2)
    assert domain.deadline("ordinary", "private", created, None) is None
    # consent Tue 10 Nov: 10 working days -> 11 Nov skipped -> Wed 25 Nov
    assert domain.deadline("ordinary", "private", created, brussels(2026, 11, 10)) == \
        end_of_day(2026, 11, 25)


def test_consent_reminder_after_ten_working_days():
    since = brussels(2026, 11, 2)            # Monday
    assert not domain.consent_reminder_due(since, brussels(2026, 11, 13), None)
    assert domain.consent_reminder_due(since, brussels(2026, 11, 17), None)   # 11 Nov skipped
    assert not domain.consent_reminder_due(since, brussels(2026, 11, 17), brussels(2026, 11, 17))


def test_legal_walls_reject_nearby_sites():
    wall = domain.LegalWall("flagey", "Mur libre", 50.8276, 4.3723, 30)
    assert domain.legal_wall_at(50.8277, 4.3723, [wall]) == wall
    assert domain.legal_wall_at(50.8300, 4.3735, [wall]) is None
    assert domain.legal_wall_at(None, None, [wall]) is None


def test_recurrence_within_90_days():
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert domain.is_recurrence(now - timedelta(days=89), now)
    assert not domain.is_recurrence(now - timedelta(days=91), now)
    assert not domain.is_recurrence(None, now)


@pytest.mark.parametrize("args, message", [
    (("lava", 2, 1, "public", "ordinary"), "surface"),
    (("brick", -1, 1, "public", "ordinary"), "area"),
    (("brick", 0, 1, "public", "ordinary"), "area"),
    (("brick", 10_000, 1, "public", "ordinary"), "area"),
    (("brick", 2, 40, "public", "ordinary"), "height"),
    (("brick", 2, 1, "stolen", "ordinary"), "ownership"),
    (("brick", 2, 1, "public", "rude"), "content"),
])
def test_absurd_jobs_are_refused(args, message):
    with pytest.raises(domain.RuleViolation, match=message):
        domain.validate_job(*args)


@pytest.mark.parametrize("removed, method, minutes, crew, message", [
    (None, "chemical", 30, ["a"], "m2"), (0, "chemical", 30, ["a"], "m2"),
    (3, "magic", 30, ["a"], "Method"), (3, "chemical", 0, ["a"], "Minutes"),
    (3, "chemical", 30, [], "crew"), (10_000, "chemical", 30, ["a"], "implausible"),
])
def test_completion_needs_the_facts(removed, method, minutes, crew, message):
    with pytest.raises(domain.RuleViolation, match=message):
        domain.check_completion(removed, method, minutes, crew, estimated_m2=3)


def test_estimates():
    assert domain.estimated_minutes("glass", 2, 1) == 20 + 12
    assert domain.estimated_minutes("brick", 2, 4) == 20 + 28 + 30
    assert domain.crew_needed(4) == 2 and domain.crew_needed(3) == 1


# -- planning -------------------------------------------------------------------------------------

DAY = date(2026, 11, 24)
DEPOT = (50.8338, 4.3703)
CREW = [planning.CrewMember("Karim"), planning.CrewMember("Sofie"),
        planning.CrewMember("Luc"), planning.CrewMember("Ana")]


def job(job_id, priority=2, area=3.0, minutes=60, crew=1, lat=50.834, lon=4.370,
        hood="Tulipe", due_days=5, scheduled_for=None):
    return planning.PlanJob(
        job_id=job_id, priority=priority,
        due_at=datetime(2026, 11, 24, tzinfo=UTC) + timedelta(days=due_days), area_m2=area,
        minutes=minutes, crew_needed=crew, lat=lat, lon=lon, neighbourhood=hood,
        scheduled_for=scheduled_for, created_at=datetime(2026, 11, 1, tzinfo=UTC))


def assert_valid(plan):
    assert plan.m2_planned <= plan.m2_capacity
    assert plan.minutes_planned <= plan.minutes_available
    assert [v["order"] for v in plan.visits] == list(range(1, len(plan.visits) + 1))
    planned = {v["job_id"] for v in plan.visits}
    assert not planned & {entry["job_id"] for entry in plan.left_out}


def test_plan_fits_capacity_and_explains_what_is_left_out():
    jobs = [job(n, area=7.0) for n in range(1, 7)]      # 42 m2 for a 32 m2 day
    plan = planning.plan_day(DAY, CREW, jobs, DEPOT)
    assert_valid(plan)
    assert len(plan.visits) == 4 and plan.m2_planned == 28
    assert all("m2 capacity" in entry["reason"] for entry in plan.left_out)


def test_priorities_and_deadlines_come_first():
    jobs = [job(1, priority=3, area=10), job(2, priority=2, area=10, due_days=9),
            job(3, priority=2, area=10, due_days=1), job(4, priority=1, area=10)]
    plan = planning.plan_day(DAY, CREW, jobs, DEPOT)
    assert_valid(plan)
    assert {v["job_id"] for v in plan.visits} == {4, 3, 2}
    assert plan.left_out == [{"job_id": 1, "reason": plan.left_out[0]["reason"]}]


def test_a_smaller_job_still_fits_after_a_big_one_was_left_out():
    jobs = [job(1, priority=1, area=30), job(2, priority=2, area=5), job(3, priority=3, area=2)]
    plan = planning.plan_day(DAY, CREW, jobs, DEPOT)
    assert {v["job_id"] for v in plan.visits} == {1, 3}
    assert [entry["job_id"] for entry in plan.left_out] == [2]
    assert_valid(plan)


def test_time_is_a_limit_too():
    jobs = [job(n, area=1, minutes=300) for n in range(1, 10)]   # 75 min each with 4 members
    plan = planning.plan_day(DAY, CREW, jobs, DEPOT)
    assert_valid(plan)
    assert 3 <= len(plan.visits) <= 6
    assert all("no time left" in entry["reason"] for entry in plan.left_out)


def test_work_above_three_metres_needs_two_members():
    plan = planning.plan_day(DAY, CREW[:1], [job(1, crew=2), job(2)], DEPOT)
    assert [v["job_id"] for v in plan.visits] == [2]
    assert "needs 2 crew members" in plan.left_out[0]["reason"]


def test_no_crew_no_plan():
    plan = planning.plan_day(DAY, [], [job(1)], DEPOT)
    assert plan.visits == [] and plan.left_out[0]["reason"] == "no crew member available"


def test_jobs_already_scheduled_for_the_day_come_first():
    jobs = [job(1, priority=1, area=20), job(2, priority=3, area=20, scheduled_for=DAY)]
    plan = planning.plan_day(DAY, CREW, jobs, DEPOT)
    assert {v["job_id"] for v in plan.visits} == {2}


def test_route_groups_neighbourhoods():
    tulipe = [job(n, area=1, minutes=20, lat=50.8338 + n * 0.0002, lon=4.3703, hood="Tulipe")
              for n in range(1, 4)]
    flagey = [job(n, area=1, minutes=20, lat=50.8276 + n * 0.0002, lon=4.3723, hood="Flagey")
              for n in range(4, 7)]
    interleaved = [tulipe[0], flagey[0], tulipe[1], flagey[1], tulipe[2], flagey[2]]
    plan = planning.plan_day(DAY, CREW, interleaved, DEPOT)
    hoods = [v["neighbourhood"] for v in plan.visits]
    changes = sum(1 for a, b in zip(hoods, hoods[1:], strict=False) if a != b)
    assert len(hoods) == 6 and changes == 1
    assert_valid(plan)
