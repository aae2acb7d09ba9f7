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

# -- state machine: every pair of statuses, as a scenario table -------------------------------

ALLOWED = {
    (NEW, TRIAGED), (NEW, CANCELLED), (NEW, DUPLICATE),
    (TRIAGED, IN_PROGRESS), (TRIAGED, RESOLVED), (TRIAGED, CANCELLED), (TRIAGED, DUPLICATE),
    (IN_PROGRESS, RESOLVED), (IN_PROGRESS, CANCELLED),
    (RESOLVED, CLOSED), (RESOLVED, REOPENED),
    (CLOSED, REOPENED),
    (REOPENED, TRIAGED), (REOPENED, IN_PROGRESS), (REOPENED, RESOLVED), (REOPENED, CANCELLED),
    (REOPENED, DUPLICATE),
}


@pytest.mark.parametrize("current", domain.STATUSES)
@pytest.mark.parametrize("target", domain.STATUSES)
def test_transition_table(current, target):
    duplicate_of = 7 if target == DUPLICATE else None
    if (current, target) in ALLOWED:
        domain.check_transition(current, target, duplicate_of=duplicate_of, incident_id=1)
    else:
        with pytest.raises(domain.TransitionRefused):
            domain.check_transition(current, target, duplicate_of=duplicate_of, incident_id=1)


def test_final_states_have_no_way_out():
    assert domain.TRANSITIONS[CANCELLED] == frozenset()
    assert domain.TRANSITIONS[DUPLICATE] == frozenset()


@pytest.mark.parametrize("duplicate_of, incident_id, message", [
    (None, 1, "needs 'duplicate_of'"),
    (1, 1, "cannot duplicate itself"),
])
def test_duplicate_needs_another_incident(duplicate_of, incident_id, message):
    with pytest.raises(domain.TransitionRefused, match=message):
        domain.check_transition(NEW, DUPLICATE, duplicate_of=duplicate_of,
                                incident_id=incident_id)


def test_duplicate_of_only_with_duplicate_status():
    with pytest.raises(domain.TransitionRefused, match="only goes with"):
        domain.check_transition(NEW, TRIAGED, duplicate_of=3, incident_id=1)


def test_a_lifecycle_scenario():
    path = [NEW, TRIAGED, IN_PROGRESS, RESOLVED, CLOSED, REOPENED, IN_PROGRESS, RESOLVED]
    for current, target in zip(path, path[1:], strict=False):
        domain.check_transition(current, target)


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


# -- tickets and contact visibility -----------------------------------------------------------

def test_ticket_number_format():
    assert domain.ticket_number(2026, 123) == "LISA-2026-000123"


@pytest.mark.parametrize("role, organisation, consent_police, expected", [
    ("desk", "antenna_desk", False, "read_logged"),     # own intake
    ("desk", "other_desk", False, None),                # someone else's intake
    ("police", "police_zone", True, "read_logged"),     # citizen agreed to police follow-up
    ("police", "police_zone", False, None),
    ("coordinator", "prevention_service", False, "read_logged"),
    ("warden", "gardiens_de_la_paix", True, None),
    ("street_worker", "street_work", True, None),
    ("tags", "cellule_tags", True, None),
    ("auditor", "prevention_service", True, None),
])
def test_contact_visibility(role, organisation, consent_police, expected):
    assert domain.contact_visibility(role, organisation, "antenna_desk",
                                     consent_police) == expected


@pytest.mark.parametrize("role, parent, allowed", [
    ("tags", "graffiti", True), ("tags", "cleanliness", False), ("auditor", "social", True),
    ("desk", "nuisance", True), ("service", "graffiti", True), ("police", "graffiti", True),
])
def test_may_read(role, parent, allowed):
    assert domain.may_read(role, parent) is allowed


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
