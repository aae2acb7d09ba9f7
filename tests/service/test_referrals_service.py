"""The referrals service on SQLite and PostgreSQL: migrations, encryption at rest, reminders,
expiry and the purge of personal content."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from services.referrals import use_cases, views
from services.referrals.models import Referral
from shared.identity import Identity
from tests.conftest import ANTENNA, migrated_database

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)   # a Monday
SENDER = Identity("sw", "street_worker", "street_work", (ANTENNA,))
RECEIVER = Identity("ad", "street_worker", "addiction_service", (ANTENNA,))
PERSON = {"receiver_service": "addiction_outreach", "subject": "person", "reason": "addiction",
          "urgency": "normal", "message": "Demande d'accompagnement discret.",
          "client_key": "SW-0001", "identity": {"name": "Yanis B.", "phone": None,
                                                "email": None},
          "consent": {"kind": "verbal", "given_at": NOW - timedelta(days=1),
                      "expires_at": None}, "legal_basis": None}


@pytest.fixture
def referrals_db(database_url_factory, memory_broker):
    with migrated_database("referrals", database_url_factory("referrals")) as database:
        yield database


def send(db, now=NOW):
    with db.unit_of_work() as uow:
        return use_cases.send(uow, SENDER, PERSON, now)["id"]



def test_personal_content_is_encrypted_at_rest(referrals_db):
    send(referrals_db)
    with referrals_db.engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM referrals")).mappings().one()
    stored = " ".join(str(value) for value in row.values())
    for secret in ("accompagnement", "SW-0001", "Yanis"):
        assert secret not in stored


def test_reminder_then_expiry_in_working_days(referrals_db):
    referral_id = send(referrals_db)
    with referrals_db.unit_of_work() as uow:   # Thursday: 3 working days later
        assert use_cases.remind_and_expire(uow, NOW + timedelta(days=3), 3, 10) == \
            {"reminded": 1, "expired": 0}
    with referrals_db.unit_of_work() as uow:   # reminded once only
        assert use_cases.remind_and_expire(uow, NOW + timedelta(days=4), 3, 10) == \
            {"reminded": 0, "expired": 0}
    with referrals_db.unit_of_work() as uow:   # 10 working days later, and one more day
        assert use_cases.remind_and_expire(uow, NOW + timedelta(days=15), 3, 10) == \
            {"reminded": 0, "expired": 1}
    with referrals_db.session() as session:
        assert session.get(Referral, referral_id).status == "expired"
        types = session.scalars(select(referrals_db.outbox.c.event_type)).all()
    assert types == ["referral_sent", "referral_closed"]


def test_purge_after_closure_keeps_anonymised_metadata(referrals_db):
    referral_id = send(referrals_db)
    with referrals_db.unit_of_work() as uow:
        use_cases.decline(uow, RECEIVER, referral_id, {"reason": "Hors zone."}, NOW)
    with referrals_db.unit_of_work() as uow:
        assert use_cases.purge(uow, NOW + timedelta(days=179), 180) == 0
    with referrals_db.unit_of_work() as uow:
        assert use_cases.purge(uow, NOW + timedelta(days=181), 180) == 1
    with referrals_db.unit_of_work() as uow:
        view = views.referral_by_id_with_content_logged(uow, SENDER, referral_id,
                                                        NOW + timedelta(days=181))
    assert view["status"] == "declined" and view["reason"] == "addiction"
    assert view["redacted"] and view["content"]["message"] is None


def test_two_replicas_running_the_timer_at_once_expire_a_referral_once(referrals_db,
                                                                        monkeypatch):
    """Review of issues 7, 8 and 13, finding 9: every replica runs the reminder/expiry timer.
    Both runs here read the due referrals before either commits (each pauses while deciding);
    one history row and one `referral_closed` event, whichever run wins."""
    import eventlet

    referral_id = send(referrals_db)
    decide = use_cases.domain.expired

    def slow_expired(*args, **kwargs):
        eventlet.sleep(0.3)   # the other run reads the due rows meanwhile
        return decide(*args, **kwargs)

    monkeypatch.setattr(use_cases.domain, "expired", slow_expired)

    def run():
        with referrals_db.unit_of_work() as uow:
            return use_cases.remind_and_expire(uow, NOW + timedelta(days=15), 3, 10)["expired"]

    runs = [eventlet.spawn(run) for _ in range(2)]
    assert sorted(run.wait() for run in runs) == [0, 1]
    with referrals_db.session() as session:
        assert session.get(Referral, referral_id).status == "expired"
        types = session.scalars(select(referrals_db.outbox.c.event_type)).all()
        moves = session.execute(text(
            "SELECT to_status FROM referral_history WHERE referral_id = :id"),
            {"id": referral_id}).scalars().all()
    assert types == ["referral_sent", "referral_closed"]
    assert moves.count("expired") == 1
