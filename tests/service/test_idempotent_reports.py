"""Idempotent reports on each backend: concurrent retries with one Idempotency-Key all get the
incident the first one created (on PostgreSQL the later inserts wait for the first and then hit
the unique key), and the same key with another body is refused."""
import eventlet
import pytest
from sqlalchemy import func, select

from services.incidents import use_cases
from services.incidents.models import Incident
from shared.errors import IdempotencyKeyReused
from tests.conftest import ANTENNA, migrated_database
from tests.service.test_incidents_service import DESK, NOW, REPORT


@pytest.fixture
def incidents_db(database_url_factory, memory_broker):
    with migrated_database("incidents", database_url_factory("incidents")) as database:
        yield database


def report(db, payload=REPORT, key="desk:tablet-7f3a"):
    with db.unit_of_work() as uow:
        return use_cases.report(uow, DESK, payload, NOW, ANTENNA, key,
                                use_cases.request_fingerprint(payload))


def test_concurrent_retries_with_one_key_get_the_first_result(incidents_db):
    threads = [eventlet.spawn(report, incidents_db) for _ in range(4)]
    results = [thread.wait() for thread in threads]
    assert len({r["incident"]["ticket"] for r in results}) == 1
    with incidents_db.session() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 1
        assert session.scalar(select(func.count()).select_from(incidents_db.outbox)) == 1


def test_the_same_key_with_another_body_is_refused(incidents_db):
    first = report(incidents_db)
    with pytest.raises(IdempotencyKeyReused) as refused:
        report(incidents_db, {**REPORT, "description": "Autre chose."})
    assert "Idempotency-Key" in refused.value.fields
    assert report(incidents_db)["incident"]["id"] == first["incident"]["id"]
    assert report(incidents_db, key="desk:another")["incident"]["id"] != first["incident"]["id"]
