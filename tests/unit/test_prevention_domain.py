"""The prevention service's pure rules (issue 11): keys, dates, steps, premium eligibility,
lifecycles, and the access policy as a table."""
import re
from datetime import UTC, date, datetime

import pytest

from services.prevention import domain, policy
from shared.state_machine import MoveRefused

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def test_keys_are_random_and_readable():
    keys = {domain.new_key("AC") for _ in range(500)}
    assert len(keys) == 500
    assert all(re.fullmatch(r"AC-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", key) for key in keys)
    assert not any(c in "".join(keys)[3:] for c in "01IOL")


@pytest.mark.parametrize("day, ok", [
    (None, True), (date(2026, 11, 23), True), (date(2026, 8, 23), True),
    (date(2026, 8, 22), False), (date(2026, 11, 24), False)])
def test_activities_are_logged_within_a_quarter_and_never_ahead(day, ok):
    if ok:
        domain.check_day(day, NOW)
    else:
        with pytest.raises(domain.RuleViolation):
            domain.check_day(day, NOW)


def test_an_activity_counts_on_its_own_day():
    at = domain.activity_time(date(2026, 3, 31), NOW)
    assert at == datetime(2026, 3, 31, 12, tzinfo=UTC) and domain.period_of(at) == "2026-03"
    assert domain.activity_time(None, NOW) == NOW


def test_new_people_are_among_the_contacts():
    domain.check_tally(5, 5)
    with pytest.raises(domain.RuleViolation):
        domain.check_tally(3, 4)


@pytest.mark.parametrize("current, target, referral, ok", [
    ("opened", "first_contact", None, True),
    ("opened", "trust_established", None, True),             # may skip ahead
    ("first_contact", "oriented", 7, True),
    ("first_contact", "oriented", None, False),               # oriented through a referral
    ("trust_established", "first_contact", None, False),      # never backwards
    ("oriented", "oriented", 8, False),
    ("opened", "closed", None, False),                        # closing is not a step
])
def test_steps(current, target, referral, ok):
    if ok:
        domain.check_step(current, target, referral)
    else:
        with pytest.raises(domain.RuleViolation):
            domain.check_step(current, target, referral)


class Record:
    def __init__(self, status):
        self.status, self.updated_at, self.closed_at = status, None, None


class Person:
    user, role, is_service = "w", "street_worker", False


def test_the_lifecycles_close_once():
    from shared.state_machine import move

    record = Record("trust_established")
    move(domain.ACCOMPANIMENT, record, "closed", by=Person(), at=NOW, write=lambda step: None)
    assert record.closed_at == NOW and record.updated_at == NOW
    with pytest.raises(MoveRefused):
        move(domain.ACCOMPANIMENT, record, "oriented", by=Person(), at=NOW,
             write=lambda step: None)
    assert domain.MEDIATION.final == {"closed"}
    assert domain.VISIT.final == {"done", "cancelled"}


@pytest.mark.parametrize("referral, counts", [
    ({"sender_org": "street_work", "subject": "person", "status": "contact_made"}, True),
    ({"sender_org": "street_work", "subject": "person", "status": "closed",
      "successful": True}, True),
    ({"sender_org": "street_work", "subject": "person", "status": "accepted"}, False),
    ({"sender_org": "street_work", "subject": "situation", "status": "contact_made"}, False),
    ({"sender_org": "police_zone", "subject": "person", "status": "contact_made"}, False),
])
def test_an_orientation_is_a_referral_the_team_sent_and_the_receiver_followed(referral,
                                                                              counts):
    assert domain.referral_counts_as_oriented(referral, "street_work") is counts


@pytest.mark.parametrize("recommendations, housing, victim, eligible", [
    (["door_lock"], "house", False, True),
    (["window_lock", "lighting"], "apartment", False, True),
    (["lighting"], "apartment", False, False),
    (["lighting"], "house", True, True),                      # a burglary victim's home
    (["door_lock"], "shop", True, False),                     # the regional scheme instead
])
def test_premium_eligibility(recommendations, housing, victim, eligible):
    assert domain.premium_eligible(recommendations, housing, victim) is eligible


ROLES = ["desk", "warden", "street_worker", "mediator", "police", "tags", "coordinator",
         "auditor", "admin", "techno_adviser"]


@pytest.mark.parametrize("role", ROLES)
def test_police_wardens_desk_and_tags_read_none_of_it(role):
    reads = [policy.may_read_street_work(role, "o", "o"), policy.may_read_mediation(role, "o", "o"),
             policy.may_read_visit(role, "o", "o"),
             policy.may_read_concertation(role, "o", ["o"]),
             policy.may_read_policy_note(role, "o", "o"), policy.may_read_figures(role)]
    if role in ("desk", "warden", "police", "tags", "auditor", "admin"):
        assert not any(reads)
    assert policy.may_book_visit(role) is (role in ("desk", "techno_adviser"))
    assert policy.may_read_access_log(role) is (role == "auditor")


def test_each_reads_its_own_organisation_only():
    assert policy.may_read_street_work("street_worker", "street_work", "street_work")
    assert not policy.may_read_street_work("street_worker", "addiction_service", "street_work")
    assert policy.may_read_mediation("mediator", "social_mediation", "social_mediation")
    assert not policy.may_read_mediation("mediator", "housing_advice", "social_mediation")
    assert not policy.may_read_street_work("coordinator", "street_work", "street_work")
    assert not policy.may_read_mediation("coordinator", "prevention_service",
                                         "prevention_service")
    assert policy.may_read_figures("coordinator")
    assert not policy.figures_of_own_organisation_only("coordinator")
    assert policy.may_read_policy_note("coordinator", "prevention_service", "street_work")
    assert not policy.may_read_concertation("mediator", "social_mediation", ["street_work"])
