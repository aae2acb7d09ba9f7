"""Contract tests of the outbox, the relay and idempotent handlers, run against SQLite and
PostgreSQL (the `database_url_factory` fixture is parametrised over both backends)."""
from datetime import UTC, datetime

import eventlet
import pytest
from kombu import Connection, Exchange, Queue
from marshmallow import ValidationError
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from shared import events, metrics, outbox
from shared.db import Database
from shared.handlers import DEAD_LETTER_QUEUE, DeadLetters, idempotent_handler, replay_dead_letters

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)

metadata = MetaData()
outbox.define_tables(metadata)
effects = Table("effects", metadata, Column("id", Integer, primary_key=True),
                Column("ticket", String(30)))


def payload(n: int) -> dict:
    return {"incident_id": n, "ticket": f"LISA-2026-{n:06d}", "category": "graffiti_public",
            "parent_category": "graffiti", "phenomenon": None, "zone": "public_space",
            "partner": "cellule_tags", "neighbourhood": None, "channel": "desk",
            "reported_at": NOW, "sla_due_at": NOW}


@pytest.fixture
def database(database_url_factory, memory_broker):
    db = Database(metadata, service="incidents").open(database_url_factory("outbox"))
    metadata.create_all(db.engine)
    yield db
    db.relay.close()
    db.engine.dispose()


@pytest.fixture
def event_queue(memory_broker):
    """A queue bound to every incidents event, as a test consumer on the broker."""
    connection = Connection(memory_broker)
    queue = Queue("test-incident-events", Exchange("incidents.events", type="topic",
                                                   durable=True), routing_key="#")
    bound = queue(connection.default_channel)
    bound.declare()

    def drain():
        received = []
        while (message := bound.get(no_ack=True)) is not None:
            received.append(message.payload)
        return received

    yield drain
    connection.release()


def report(db, n: int, commit: bool = True):
    with db.unit_of_work(f"corr-{n}") as uow:
        uow.session.execute(insert(effects).values(ticket=f"LISA-2026-{n:06d}"))
        uow.emit("incident_reported", payload(n), antenna_id="ixelles-tulipe")
        if commit:
            uow.commit()


def pending(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(db.outbox)
                              .where(db.outbox.c.published_at.is_(None)))


def test_committed_events_are_published_once(database, event_queue):
    report(database, 1)
    report(database, 2)
    assert pending(database) == 2
    assert database.relay.relay_once() == 2
    received = event_queue()
    assert [events.parse(body).payload["incident_id"] for body in received] == [1, 2]
    assert received[0]["correlation_id"] == "corr-1"
    assert pending(database) == 0
    assert database.relay.relay_once() == 0
    assert event_queue() == []


def test_rolled_back_work_publishes_nothing(database, event_queue):
    report(database, 1, commit=False)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(effects)) == 0
        assert session.scalar(select(func.count()).select_from(database.outbox)) == 0
    assert database.relay.relay_once() == 0
    assert event_queue() == []


def test_invalid_event_aborts_the_state_change(database):
    with pytest.raises(ValidationError):
        with database.unit_of_work() as uow:
            uow.session.execute(insert(effects).values(ticket="x"))
            uow.emit("incident_reported", {**payload(1), "description": "citizen text"},
                     antenna_id="ixelles-tulipe")
            uow.commit()
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(effects)) == 0


def test_broker_down_keeps_events_pending(database, event_queue):
    report(database, 1)
    errors = metrics.OUTBOX_PUBLISH_ERRORS.labels("incidents")._value.get()
    database.relay.amqp_uri = "pyamqp://guest:guest@127.0.0.1:1//"  # nothing listens there
    assert database.relay.relay_once() == 0
    assert pending(database) == 1
    assert metrics.OUTBOX_PUBLISH_ERRORS.labels("incidents")._value.get() == errors + 1
    database.relay.amqp_uri = "lisa-memory://localhost/"  # the broker is back
    assert database.relay.relay_once() == 1
    assert len(event_queue()) == 1


def test_concurrent_relays_publish_each_event_once(database_url_factory, memory_broker,
                                                   event_queue):
    url = database_url_factory("outbox")
    first = Database(metadata, service="incidents").open(url)
    metadata.create_all(first.engine)
    second = Database(metadata, service="incidents").open(url)
    if first.is_sqlite:  # one process shares one lock per database in embedded mode
        second.lock = first.lock
    first.relay.batch_size = second.relay.batch_size = 10
    for n in range(60):
        report(first, n)

    def drain(db):
        total = 0
        while (published := db.relay.relay_once()):
            total += published
            eventlet.sleep(0)
        return total

    threads = [eventlet.spawn(drain, first), eventlet.spawn(drain, second)]
    assert sum(thread.wait() for thread in threads) == 60
    ids = [body["payload"]["incident_id"] for body in event_queue()]
    assert sorted(ids) == list(range(60))
    for db in (first, second):
        db.relay.close()
        db.engine.dispose()


# -- idempotent handler, dead letters -----------------------------------------------------------

class Consumer:
    name = "consumer_test"
    db = Database(metadata, service="consumer_test")
    dead_letters = DeadLetters()
    failures_left = 0

    @idempotent_handler("incidents", "incident_reported")
    def on_reported(self, event):
        if Consumer.failures_left:
            Consumer.failures_left -= 1
            raise RuntimeError("the handler broke")
        return lambda uow: uow.session.execute(insert(effects).values(
            ticket=event.payload["ticket"]))


@pytest.fixture
def consumer(database_url_factory, memory_broker, container_factory, monkeypatch):
    url = database_url_factory("consumer")
    monkeypatch.setenv("LISA_CONSUMER_TEST_DATABASE_URL", url)
    db = Database(metadata, service="consumer_test").open(url)
    metadata.create_all(db.engine)
    Consumer.failures_left = 0
    container = container_factory(Consumer)
    container.start()
    yield container, db
    db.engine.dispose()


def publish(body, amqp_uri="lisa-memory://localhost/"):
    exchange = Exchange("incidents.events", type="topic", durable=True)
    with Connection(amqp_uri) as connection:
        connection.Producer().publish(body, exchange=exchange, routing_key="incident_reported",
                                      declare=[exchange], serializer="json")


def effect_count(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(effects))


def dead_letters(amqp_uri="lisa-memory://localhost/"):
    with Connection(amqp_uri) as connection:
        queue = DEAD_LETTER_QUEUE(connection.default_channel)
        queue.declare()
        letters = []
        while (message := queue.get(no_ack=True)) is not None:
            letters.append(message.payload)
        return letters


def envelope(n=1):
    return events.build("incidents", "incident_reported", payload(n),
                        antenna_id="ixelles-tulipe", correlation_id="c")


def test_redelivered_event_changes_nothing(consumer):
    container, db = consumer
    body = envelope()
    for _ in range(3):
        with entrypoint_waiter(container, "on_reported"):
            publish(body)
    assert effect_count(db) == 1
    assert dead_letters() == []


def test_failing_handler_goes_to_dead_letter_queue_and_replays(consumer):
    container, db = consumer
    Consumer.failures_left = 1
    with entrypoint_waiter(container, "on_reported"):
        publish(envelope())
    assert effect_count(db) == 0
    letters = dead_letters()
    assert len(letters) == 1 and "the handler broke" in letters[0]["reason"]
    assert letters[0]["consumer"] == "consumer_test.on_reported"
    # put it back for the replay to find, as the broker would have it
    from shared.handlers import DEAD_LETTER_EXCHANGE
    with Connection("lisa-memory://localhost/") as connection:
        connection.Producer().publish(
            letters[0], exchange=DEAD_LETTER_EXCHANGE, routing_key="consumer_test.on_reported",
            declare=[DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE], serializer="json")
    with entrypoint_waiter(container, "on_reported"):
        assert replay_dead_letters("lisa-memory://localhost/")["replayed"] == 1
    assert effect_count(db) == 1


def test_invalid_envelope_is_dead_lettered_not_lost(consumer):
    container, db = consumer
    body = envelope()
    body["payload"].pop("ticket")
    with entrypoint_waiter(container, "on_reported"):
        publish(body)
    assert effect_count(db) == 0
    letters = dead_letters()
    assert len(letters) == 1 and letters[0]["reason"].startswith("invalid")
    assert letters[0]["body"]["event_id"] == body["event_id"]
