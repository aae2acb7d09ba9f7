from datetime import UTC, date, datetime, timedelta

import pytest

from services.incidents import domain
from services.incidents.domain import (
    CANCELLED,
    CLOSED,
    DUPLICATE,
    IN_PROGRESS,
    NEW,
    REOPENED,
    RESOLVED,
    TRIAGED,
)

BRU = domain.BRUSSELS

# -- lifecycle (scenarios through the use cases: tests/service/test_lifecycle_scenarios.py) ------

@pytest.mark.parametrize("duplicate_of, incident_id, message", [
    (None, 1, "needs 'duplicate_of'"),
    (1, 1, "cannot duplicate itself"),
])
def test_duplicate_needs_another_incident(duplicate_of, incident_id, message):
    with pytest.raises(domain.TransitionRefused, match=message):
        domain.check_duplicate(DUPLICATE, duplicate_of=duplicate_of, incident_id=incident_id)


def test_duplicate_of_only_with_duplicate_status():
    with pytest.raises(domain.TransitionRefused, match="only goes with"):
        domain.check_duplicate(TRIAGED, duplicate_of=3, incident_id=1)


@pytest.mark.parametrize("status, before, after, note, written", [
    (NEW, ("tags", "graffiti_public"), ("tags", "graffiti_public"), None, None),
    (NEW, ("tags", "graffiti_public"), ("tags", "graffiti_public"), "ok", "ok"),
    (TRIAGED, ("cleanliness", "litter"), ("street_work", "litter"), "squat",
     "re-routed from cleanliness to street_work; squat"),
    (TRIAGED, ("tags", "graffiti_public"), ("cleanliness", "litter"), None,
     "category graffiti_public -> litter; re-routed from tags to cleanliness"),
])
def test_what_a_triage_writes_in_the_history(status, before, after, note, written):
    assert domain.triage_note(status, before[0], after[0], before[1], after[1], note) == written


def test_a_second_triage_must_re_route():
    with pytest.raises(domain.TransitionRefused, match="Already triaged to tags"):
        domain.triage_note(TRIAGED, "tags", "tags", "graffiti_public", "graffiti_public", "x")


@pytest.mark.parametrize("current, target, path", [
    (NEW, IN_PROGRESS, [TRIAGED, IN_PROGRESS]), (NEW, RESOLVED, [TRIAGED, RESOLVED]),
    (TRIAGED, IN_PROGRESS, [IN_PROGRESS]), (REOPENED, RESOLVED, [RESOLVED]),
    (IN_PROGRESS, IN_PROGRESS, []), (CLOSED, RESOLVED, []), (CANCELLED, IN_PROGRESS, []),
    (RESOLVED, IN_PROGRESS, []),
])
def test_the_path_a_removal_job_takes_an_incident_along(current, target, path):
    assert domain.path_to(current, target) == path


def test_the_platform_never_closes_cancels_nor_re_routes_an_incident():
    for current in domain.STATUSES:
        assert domain.LIFECYCLE.targets(current, by_system=True) <= {TRIAGED, IN_PROGRESS,
                                                                     RESOLVED}
    assert not domain.LIFECYCLE.allows(TRIAGED, TRIAGED, by_system=True)


@pytest.mark.parametrize("typed", ["LISA-2026-000123", "lisa-2026-000123",
                                   "  Lisa-2026-000123\t"])
def test_a_ticket_as_typed(typed):
    assert domain.ticket_key(typed) == "LISA-2026-000123"


# -- SLA over Belgian holidays ----------------------------------------------------------------

def brussels(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=BRU)


def end_of_day_utc(y, m, d):
    return datetime(y, m, d, 23, 59, 59, tzinfo=BRU).astimezone(UTC)


@pytest.mark.parametrize("reported, days, due", [
    # Tuesday 10 Nov 2026, 1 working day: Wednesday 11 Nov (Armistice) is skipped.
    (brussels(2026, 11, 10), 1, (2026, 11, 12)),
    # Monday 9 Nov, 5 working days: 10, 12, 13, 16, 17 (11 Nov skipped, weekend skipped).
    (brussels(2026, 11, 9), 5, (2026, 11, 17)),
    # Reported on the holiday itself: counting starts after it.
    (brussels(2026, 11, 11), 1, (2026, 11, 12)),
    # Saturday: the next working day is Monday.
    (brussels(2026, 11, 14), 1, (2026, 11, 16)),
    # Thursday 24 Dec: 25 Dec is Christmas, then a weekend.
    (brussels(2026, 12, 24), 1, (2026, 12, 28)),
    # Across the new year: 1 Jan 2027 is a Friday holiday.
    (brussels(2026, 12, 31), 1, (2027, 1, 4)),
    # 21 July (National Day, Tuesday in 2026).
    (brussels(2026, 7, 20), 1, (2026, 7, 22)),
    # Zero days: due the same day.
    (brussels(2026, 11, 23), 0, (2026, 11, 23)),
])
def test_sla_deadline_in_working_days(reported, days, due):
    assert domain.sla_deadline(reported, days) == end_of_day_utc(*due)


def test_sla_uses_brussels_day_not_utc_day():
    # 23:30 UTC on Monday 9 Nov is already Tuesday 10 Nov in Brussels.
    reported = datetime(2026, 11, 9, 23, 30, tzinfo=UTC)
    assert domain.sla_deadline(reported, 1) == end_of_day_utc(2026, 11, 12)


def test_working_day_helpers():
    calendar = domain.belgian_holidays([2026])
    assert not domain.is_working_day(date(2026, 11, 11), calendar)
    assert not domain.is_working_day(date(2026, 11, 14), calendar)
    assert domain.is_working_day(date(2026, 11, 12), calendar)
    assert domain.add_working_days(date(2026, 11, 10), 2, calendar) == date(2026, 11, 13)


@pytest.mark.parametrize("status, overdue", [
    (NEW, True), (TRIAGED, True), (IN_PROGRESS, True), (REOPENED, True),
    (RESOLVED, False), (CLOSED, False), (CANCELLED, False), (DUPLICATE, False),
])
def test_overdue_only_while_open(status, overdue):
    due = datetime(2026, 11, 12, tzinfo=UTC)
    assert domain.is_overdue(status, due, due + timedelta(seconds=1)) is overdue
    assert domain.is_overdue(status, due, due - timedelta(seconds=1)) is False


# -- routing ----------------------------------------------------------------------------------

RULE = domain.CategoryRule(code="graffiti_public", parent_code="graffiti",
                           partner="cellule_tags", sla_working_days=5, zone="public_space")


def test_routing_follows_the_category_rule():
    assert domain.route(RULE) == "cellule_tags"


def test_triage_can_override_the_route():
    assert domain.route(RULE, "public_cleanliness") == "public_cleanliness"


# -- duplicates -------------------------------------------------------------------------------

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def candidate(incident_id=1, category="graffiti_public", status=NEW,
              street="rue de la tulipe", lat=50.8338, lon=4.3703, age_days=1):
    return domain.Candidate(incident_id=incident_id, ticket=f"LISA-2026-{incident_id:06d}",
                            category=category, status=status, street=street, lat=lat, lon=lon,
                            reported_at=NOW - timedelta(days=age_days))


@pytest.mark.parametrize("address, key", [
    ("Rue de la Tulipe 12, 1050 Ixelles", "rue de la tulipe"),
    ("rue de la tulipe 3", "rue de la tulipe"),
    ("Chaussée d'Ixelles 227 bte 4", "chaussee d ixelles"),
    ("", None),
    (None, None),
])
def test_street_key(address, key):
    assert domain.street_key(address) == key


def test_distance_is_metres():
    # about 0.0009 degrees of latitude = 100 m
    assert 95 < domain.distance_m(50.8338, 4.3703, 50.8347, 4.3703) < 105


def test_duplicate_within_50_m():
    hints = domain.duplicate_hints("graffiti_public", "other street", 50.8340, 4.3703, NOW,
                                   [candidate()])
    assert hints == [{"incident_id": 1, "ticket": "LISA-2026-000001",
                      "reasons": ["within_50m"], "distance_m": pytest.approx(22.2, abs=1)}]


def test_duplicate_on_same_street_without_coordinates():
    hints = domain.duplicate_hints("graffiti_public", "rue de la tulipe", None, None, NOW,
                                   [candidate(lat=None, lon=None)])
    assert [h["reasons"] for h in hints] == [["same_street"]]


@pytest.mark.parametrize("other", [
    candidate(category="illegal_dumping"),          # other category
    candidate(status=CLOSED),                       # not open
    candidate(age_days=15),                         # older than 14 days
    candidate(street="rue malibran", lat=50.8300, lon=4.3735),  # far and another street
])
def test_not_a_duplicate(other):
    assert domain.duplicate_hints("graffiti_public", "rue de la tulipe", 50.8338, 4.3703, NOW,
                                  [other]) == []


def test_duplicate_hints_nearest_first():
    near = candidate(incident_id=2, lat=50.8338, lon=4.3704)
    far = candidate(incident_id=3, lat=50.8341, lon=4.3703)
    street_only = candidate(incident_id=4, lat=None, lon=None)
    hints = domain.duplicate_hints("graffiti_public", "rue de la tulipe", 50.8338, 4.3703, NOW,
                                   [street_only, far, near])
    assert [h["incident_id"] for h in hints] == [2, 3, 4]


# -- tickets ---------------------------------------------------------------------------------

def test_ticket_number_format():
    assert domain.ticket_number(2026, 123) == "LISA-2026-000123"


def test_at_most_ten_hints_nearest_first():
    many = [candidate(incident_id=n, lat=50.8338 + n * 0.00001, lon=4.3703) for n in range(30)]
    hints = domain.duplicate_hints("graffiti_public", None, 50.8338, 4.3703, NOW, many)
    assert [h["incident_id"] for h in hints] == list(range(10))


@pytest.mark.parametrize("lat", [49.5, 50.8, 51.5])
def test_degree_box_contains_the_radius(lat):
    dlat, dlon = domain.degree_box(lat, 50)
    assert domain.distance_m(lat, 4.37, lat + dlat, 4.37) >= 50
    assert domain.distance_m(lat, 4.37, lat, 4.37 + dlon) >= 50


@pytest.mark.parametrize("current, target, path", [
    (NEW, IN_PROGRESS, [TRIAGED, IN_PROGRESS]), (NEW, RESOLVED, [TRIAGED, RESOLVED]),
    (TRIAGED, IN_PROGRESS, [IN_PROGRESS]), (IN_PROGRESS, RESOLVED, [RESOLVED]),
    (IN_PROGRESS, IN_PROGRESS, []), (RESOLVED, IN_PROGRESS, []), (CLOSED, RESOLVED, []),
    (CANCELLED, IN_PROGRESS, []), (REOPENED, IN_PROGRESS, [IN_PROGRESS]),
])
def test_path_followed_for_another_services_fact(current, target, path):
    assert domain.path_to(current, target) == path
