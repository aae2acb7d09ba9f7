"""An encryption key change-over on SQLite and PostgreSQL (ADR 12): content sealed under key A,
keys become "B,A", every referral is resealed, then "B" alone still reads it all."""
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from services.referrals import use_cases, views
from services.referrals.models import Referral
from shared.identity import Identity
from tests.conftest import ANTENNA, migrated_database

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
SENDER = Identity("sw", "street_worker", "street_work", (ANTENNA,))
RECEIVER = Identity("ad", "street_worker", "addiction_service", (ANTENNA,))
A, B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def person(n: int) -> dict:
    return {"receiver_service": "addiction_outreach", "subject": "person", "reason": "addiction",
            "urgency": "normal", "message": f"Demande d'accompagnement discret {n}.",
            "client_key": f"SW-{n:04d}", "identity": {"name": f"Yanis {n}", "phone": None,
                                                       "email": None},
            "consent": {"kind": "verbal", "given_at": NOW - timedelta(days=1),
                        "expires_at": None}, "legal_basis": None}


@pytest.fixture
def referrals_db(database_url_factory, memory_broker, monkeypatch):
    monkeypatch.setenv("LISA_ENCRYPTION_KEYS", A)
    with migrated_database("referrals", database_url_factory("referrals")) as database:
        yield database


def sealed_columns(database) -> list[str]:
    with database.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT message_sealed, client_key_sealed, identity_sealed, decline_reason_sealed "
            "FROM referrals ORDER BY id")).all()
    return [value for row in rows for value in row if value is not None]


def contents(database) -> list[dict]:
    with database.unit_of_work() as uow:
        return [views.referral_by_id_with_content_logged(uow, SENDER, r.id, NOW)["content"]
                for r in uow.session.query(Referral).order_by(Referral.id)]


def test_a_key_change_over_keeps_every_referral_readable(referrals_db, monkeypatch):
    ids = []
    for n in range(5):
        with referrals_db.unit_of_work() as uow:
            ids.append(use_cases.send(uow, SENDER, person(n), NOW)["id"])
    with referrals_db.unit_of_work() as uow:   # one with a sealed decline reason too
        use_cases.decline(uow, RECEIVER, ids[0], {"reason": "Suivi par un autre service."}, NOW)
    before = contents(referrals_db)
    under_a = sealed_columns(referrals_db)

    monkeypatch.setenv("LISA_ENCRYPTION_KEYS", f"{B},{A}")
    with referrals_db.session() as session:
        assert use_cases.reseal_content(session, batch_size=2) == 5
    after_rotation = sealed_columns(referrals_db)
    assert len(after_rotation) == len(under_a) and not set(after_rotation) & set(under_a)
    with referrals_db.session() as session:   # interrupted or repeated: still all readable
        assert use_cases.reseal_content(session) == 5

    monkeypatch.setenv("LISA_ENCRYPTION_KEYS", B)   # the old key is gone
    assert contents(referrals_db) == before
    assert before[0]["decline_reason"] == "Suivi par un autre service."
    assert before[3]["message"] == "Demande d'accompagnement discret 3."
