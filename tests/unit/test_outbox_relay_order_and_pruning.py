"""One service's outbox is published in id order even with two relays; failures are recorded on
the row; sent rows and old claims are pruned after their retention. SQLite and PostgreSQL."""
from datetime import UTC, datetime, timedelta

import eventlet
from sqlalchemy import insert, select, update

from shared.db import Database
from tests.conftest import eventually
from tests.unit import test_outbox_and_handlers as contract
from tests.unit.test_outbox_and_handlers import metadata, report

database, event_queue = contract.database, contract.event_queue   # the same fixtures


def open_database(url):
    db = Database(metadata, service="incidents").open(url)
    metadata.create_all(db.engine)
    return db


def test_two_relays_publish_one_outbox_in_id_order(database_url_factory, memory_broker,
                                                   event_queue):
    url = database_url_factory("outbox")
    first, second = open_database(url), open_database(url)
    if first.is_sqlite:  # one process shares one lock per database in embedded mode
        second.lock = first.lock
    first.relay.batch_size = second.relay.batch_size = 7
    for n in range(400):
        report(first, n)

    def drain(db):
        total = idle = 0
        while idle < 20:   # the other relay may hold the lock: look again a few times
            published = db.relay.relay_once()
            total += published
            idle = 0 if published else idle + 1
            eventlet.sleep(0)
        return total

    threads = [eventlet.spawn(drain, first), eventlet.spawn(drain, second)]
    assert sum(thread.wait() for thread in threads) == 400
    ids = [body["payload"]["incident_id"] for body in event_queue()]
    assert ids == list(range(400))   # SKIP LOCKED relays reordered 143 of 400 here
    for db in (first, second):
        db.relay.close()
        db.engine.dispose()


def test_a_failed_publication_records_attempts_and_the_error(database, event_queue):
    report(database, 1)
    report(database, 2)
    database.relay.amqp_uri = "pyamqp://guest:guest@127.0.0.1:1//"  # nothing listens there
    assert database.relay.relay_once() == 0
    assert database.relay.relay_once() == 0
    with database.session() as session:
        rows = session.execute(select(database.outbox.c.id, database.outbox.c.attempts,
                                      database.outbox.c.last_error)
                               .order_by(database.outbox.c.id)).all()
    assert [row.attempts for row in rows] == [2, 0]   # the batch stops at the first failure
    assert "OperationalError" in rows[0].last_error or "Error" in rows[0].last_error
    assert rows[1].last_error is None
    database.relay.amqp_uri = "lisa-memory://localhost/"
    assert database.relay.relay_once() == 2
    with database.session() as session:
        rows = session.execute(select(database.outbox.c.attempts,
                                      database.outbox.c.last_error,
                                      database.outbox.c.published_at)
                               .order_by(database.outbox.c.id)).all()
    assert [(row.attempts, row.last_error) for row in rows] == [(3, None), (1, None)]
    assert all(row.published_at for row in rows)
    assert len(event_queue()) == 2


def age(database, days: float) -> None:
    """Make every published row and claim `days` old."""
    then = datetime.now(UTC) - timedelta(days=days)
    with database.session() as session:
        session.execute(update(database.outbox).where(
            database.outbox.c.published_at.is_not(None)).values(published_at=then))
        session.execute(update(database.processed).values(processed_at=then))
        session.commit()


def claim(database, event_id):
    with database.session() as session:
        session.execute(insert(database.processed).values(
            consumer="tags.on_incident_reported", event_id=event_id,
            processed_at=datetime.now(UTC)))
        session.commit()


def counts(database):
    with database.session() as session:
        return (len(session.execute(select(database.outbox.c.id)).all()),
                len(session.execute(select(database.processed.c.event_id)).all()))


def test_sent_rows_and_old_claims_are_pruned_after_their_retention(database, monkeypatch):
    monkeypatch.setenv("LISA_OUTBOX_RETENTION_DAYS", "7")
    monkeypatch.setenv("LISA_PROCESSED_EVENTS_RETENTION_DAYS", "30")
    for n in range(3):
        report(database, n)
    claim(database, "a")
    database.relay.relay_once()
    report(database, 3)          # never published: kept whatever its age
    age(database, 6)
    assert database.prune() == {"outbox": 0, "processed_events": 0}
    age(database, 8)
    assert database.prune() == {"outbox": 3, "processed_events": 0}
    age(database, 31)
    assert database.prune() == {"outbox": 0, "processed_events": 1}
    assert counts(database) == (1, 0)


class Housekept:
    name = "housekept"
    db = Database(metadata, service="housekept")


def test_the_housekeeping_timer_prunes_in_a_running_service(database_url_factory, memory_broker,
                                                            container_factory, monkeypatch):
    url = database_url_factory("housekept")
    monkeypatch.setenv("LISA_HOUSEKEEPING_INTERVAL_SECONDS", "0.05")
    monkeypatch.setenv("LISA_HOUSEKEPT_DATABASE_URL", url)
    database = open_database(url)
    claim(database, "old")
    age(database, 365)
    container = container_factory(Housekept)
    container.start()
    eventually(lambda: counts(database) == (0, 0))
    database.engine.dispose()
