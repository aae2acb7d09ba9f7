"""The indicators consumer's batches (shared.handlers.BatchedEventHandler), in a nameko container
on the embedded broker, on SQLite and PostgreSQL: events published together are applied in one
worker and one transaction; a duplicate inside a batch or of an earlier one changes nothing; a
bad event in the middle of a batch is dead-lettered or set aside without losing the others; a
batch whose transaction fails is applied one event at a time, each exactly once, a transient
failure then retried through the delay queues and a poison event dead-lettered alone."""
from datetime import timedelta

import pytest
from kombu import Connection, Exchange
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from lisa import platform
from services.indicators import use_cases
from services.indicators.models import Cell, SetAside, Span, StoredEvent
from services.indicators.service import handler_name
from shared import events
from shared.handlers import list_dead_letters
from tests.conftest import eventually, migrated_database
from tests.service.test_indicators_consumer import MEMORY, T0, incident, job, value

BATCH = 5


@pytest.fixture
def indicators(database_url_factory, memory_broker, container_factory, monkeypatch):
    """The consumer with batches of BATCH events, gathered for up to 3 s: events published
    together arrive in one batch (it is full before the wait ends)."""
    monkeypatch.setenv("LISA_INDICATORS_BATCH_SIZE", str(BATCH))
    monkeypatch.setenv("LISA_INDICATORS_BATCH_WAIT_MS", "3000")
    monkeypatch.setenv("LISA_EVENT_RETRY_FIRST_SECONDS", "0.2")
    with migrated_database("indicators", database_url_factory("indicators")) as database:
        monkeypatch.setenv("LISA_INDICATORS_DATABASE_URL", database.engine.url.render_as_string(
            hide_password=False))
        container = container_factory(platform.service_class("indicators"))
        container.start()
        yield container, database


def publish(bodies, exchange_of=None):
    with Connection(MEMORY) as connection:
        producer = connection.Producer()
        for body in bodies:
            exchange = Exchange(events.exchange_name(exchange_of or body["source"]),
                                type="topic", durable=True)
            producer.publish(body, exchange=exchange, routing_key=body["event_type"],
                             declare=[exchange], serializer="json")


def one_batch(container, bodies, source="incidents", exchange_of=None):
    """Publish `bodies` (BATCH of them) on `source`'s queue; the counts of the one worker."""
    assert len(bodies) == BATCH
    with entrypoint_waiter(container, handler_name(source)) as result:
        publish(bodies, exchange_of)
    return result.get()


def stored(database):
    with database.session() as session:
        return sorted(session.scalars(select(StoredEvent.event_id)))


def reports(n, first=1):
    return [incident("incident_reported", i, T0 + timedelta(hours=i))
            for i in range(first, first + n)]


def test_a_batch_is_one_worker_and_a_duplicate_in_it_or_before_it_counts_once(indicators):
    container, database = indicators
    first = reports(BATCH)
    assert one_batch(container, first) == {"processed": 5, "set_aside": 0, "duplicate": 0,
                                           "refused": 0, "one_at_a_time": 0}
    # again two of those (one twice in the batch) and three new ones
    again = [first[0], first[0], first[3], *reports(2, first=6)]
    assert one_batch(container, again) == {"processed": 2, "set_aside": 0, "duplicate": 3,
                                           "refused": 0, "one_at_a_time": 0}
    assert stored(database) == sorted(b["event_id"] for b in first + again[3:])
    assert value(database, "INC-REPORTED")["value"] == 7


def test_a_bad_event_in_the_middle_is_set_aside_or_dead_lettered_and_the_others_applied(
        indicators):
    container, database = indicators
    good = reports(3)
    unknown = incident("incident_reported", 50, T0)
    unknown["event_type"] = "incident_levitated"
    not_an_event = {"event_id": "nope", "source": "incidents", "event_type": "incident_reported"}
    batch = [good[0], unknown, not_an_event, good[1], good[2]]
    assert one_batch(container, batch) == {"processed": 3, "set_aside": 1, "duplicate": 0,
                                           "refused": 1, "one_at_a_time": 0}
    assert stored(database) == sorted(b["event_id"] for b in good)
    with database.session() as session:
        assert list(session.scalars(select(SetAside.event_id))) == [unknown["event_id"]]
    [letter] = list_dead_letters(MEMORY)
    assert letter["body"] == not_an_event and "invalid envelope" in letter["reason"]

    # a tags event on the incidents exchange (a lie) among true incidents events
    lie = job("job_completed", 9, T0)
    lie_batch = [*reports(2, first=10), lie, *reports(2, first=12)]
    with entrypoint_waiter(container, handler_name("incidents")) as result:
        publish(lie_batch[:2] + lie_batch[3:])
        publish([lie], exchange_of="incidents")
    assert result.get()["refused"] == 1 and result.get()["processed"] == 4
    letters = list_dead_letters(MEMORY)
    assert [entry["event_id"] for entry in letters] == ["nope", lie["event_id"]]
    assert "rejected" in letters[1]["reason"]
    assert value(database, "INC-REPORTED")["value"] == 7


def test_a_batch_that_fails_mid_transaction_is_applied_one_at_a_time_each_once(
        indicators, monkeypatch):
    """The batch's transaction breaks at its third event, after its claims are written: none of
    it stays; each event is then applied on its own: the one that always fails is dead-lettered
    alone, one that meets a transient failure comes back through the delay queue, and every
    other event counts exactly once."""
    container, database = indicators
    add = use_cases.Projection.add
    transient = []

    def failing_add(self, catalogue, source, event_type, occurred, month, antenna, payload):
        if payload.get("incident_id") == 3:
            raise ValueError("a poison event")
        if payload.get("incident_id") == 4 and not transient:
            transient.append(1)
            raise OperationalError("INSERT", {}, Exception("database restarting"))
        return add(self, catalogue, source, event_type, occurred, month, antenna, payload)

    monkeypatch.setattr(use_cases.Projection, "add", failing_add)
    batch = reports(BATCH)
    assert one_batch(container, batch)["one_at_a_time"] == BATCH
    # event 4 was sent back for a retry: it comes back alone, after the batch wait
    expected = sorted(b["event_id"] for b in batch if b["payload"]["incident_id"] != 3)
    eventually(lambda: stored(database) == expected, timeout=20)
    assert transient == [1]
    [letter] = list_dead_letters(MEMORY)
    assert letter["event_id"] == batch[2]["event_id"] and "a poison event" in letter["reason"]
    with database.session() as session:
        assert session.scalar(select(func.sum(Cell.count)).where(
            Cell.leaf == "INC-REPORTED")) == 4
        assert session.scalar(select(func.count()).select_from(Span).where(
            Span.leaf == "INC-RESOLUTION-MEDIAN")) == 4
