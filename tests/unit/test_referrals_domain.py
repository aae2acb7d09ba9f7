from datetime import UTC, datetime, timedelta

import pytest

from services.referrals import domain
from services.referrals.domain import ACCEPTED, CLOSED, CONTACT_MADE, DECLINED, EXPIRED, SENT

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


def test_only_the_platform_lets_a_referral_expire():
    assert domain.LIFECYCLE.system_only == {(SENT, EXPIRED)}
    assert domain.LIFECYCLE.final == {DECLINED, CLOSED, EXPIRED}


@pytest.mark.parametrize("status, outcome, ok", [
    (CONTACT_MADE, "successful", True), (ACCEPTED, "successful", False),
    (SENT, "withdrawn", True), (ACCEPTED, "withdrawn", False),
    (ACCEPTED, "no_show", True), (CONTACT_MADE, "unsuccessful", True), (SENT, "lost", False),
])
def test_outcomes(status, outcome, ok):
    if ok:
        domain.check_outcome(status, outcome)
    else:
        with pytest.raises(domain.RuleViolation):
            domain.check_outcome(status, outcome)


CONSENT = domain.Basis(consent_kind="written", consent_given_at=NOW - timedelta(days=1),
                       consent_receiver="addiction_service")
LEGAL = domain.Basis(legal_basis="case_concertation_458ter",
                     legal_reference="Concertation de cas n° 2026-14 du 18/11")


@pytest.mark.parametrize("subject, basis, receiver, identity, message", [
    ("person", domain.Basis(), "addiction_service", False, "consent or a legal basis"),
    ("person", CONSENT, "police_zone", False, "not given for this receiver"),
    ("person", domain.Basis(**{**CONSENT.__dict__, "consent_expires_at": NOW}),
     "addiction_service", False, "expired"),
    ("person", domain.Basis(**{**CONSENT.__dict__, "consent_given_at": NOW + timedelta(1)}),
     "addiction_service", False, "not in the future"),
    ("person", domain.Basis(legal_basis="because"), "x", False, "Legal basis must be"),
    ("person", domain.Basis(legal_basis="danger_physical_integrity", legal_reference="short"),
     "x", False, "justification"),
    ("person", LEGAL, "x", True, "only with the person's consent"),
    ("situation", domain.Basis(), "x", True, "carries no identity"),
])
def test_a_referral_needs_a_recorded_basis(subject, basis, receiver, identity, message):
    with pytest.raises(domain.RuleViolation, match=message):
        domain.check_basis(subject, basis, receiver, NOW, identity)


@pytest.mark.parametrize("subject, basis, identity", [
    ("person", CONSENT, True), ("person", LEGAL, False), ("situation", domain.Basis(), False),
])
def test_valid_bases(subject, basis, identity):
    domain.check_basis(subject, basis, "addiction_service", NOW, identity)


def test_reminder_and_expiry_count_working_days():
    monday = datetime(2026, 11, 9, 10, tzinfo=UTC)   # 11 November in the week
    assert not domain.reminder_due(monday, monday + timedelta(days=3), 3, None)   # Thu: 2 days
    assert domain.reminder_due(monday, monday + timedelta(days=4), 3, None)       # Fri: 3 days
    assert not domain.reminder_due(monday, monday + timedelta(days=4), 3, NOW)
    assert not domain.expired(monday, monday + timedelta(days=14), 10)
    assert domain.expired(monday, monday + timedelta(days=16), 10)
