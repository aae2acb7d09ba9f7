"""The outbox relay publishes with `mandatory=True` on the real RabbitMQ (review of issue 7,
finding 2): an event no queue is bound for comes back from the broker, and the relay records it
on the row (`last_error`), counts it and moves on; a routed event has no error."""
import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import select

from shared import metrics
from shared.db import Database
from tests.unit.test_outbox_and_handlers import metadata, report

pytestmark = pytest.mark.integration


def unroutable_count() -> float:
    return metrics.OUTBOX_UNROUTABLE.labels("incidents", "incident_reported")._value.get()


def rows(db):
    with db.session() as session:
        return session.execute(select(db.outbox.c.published_at, db.outbox.c.last_error)
                               .order_by(db.outbox.c.id)).all()


def test_an_unroutable_event_is_returned_and_recorded(rabbit_uri, tmp_path):
    db = Database(metadata, service="incidents").open(f"sqlite:///{tmp_path}/outbox.db")
    metadata.create_all(db.engine)
    db.relay.amqp_uri = rabbit_uri
    try:
        before = unroutable_count()
        report(db, 1)                            # nothing is bound to incidents.events yet
        assert db.relay.relay_once() == 1
        [row] = rows(db)
        assert row.published_at is not None
        assert row.last_error.startswith("unroutable: ")
        assert "incidents.events/incident_reported" in row.last_error
        assert unroutable_count() == before + 1

        exchange = Exchange("incidents.events", type="topic", durable=True)
        with Connection(rabbit_uri) as connection:
            queue = Queue("watcher", exchange, routing_key="#")(connection.default_channel)
            queue.declare()
            report(db, 2)
            assert db.relay.relay_once() == 1
            assert rows(db)[1].last_error is None
            assert unroutable_count() == before + 1
            message = queue.get(no_ack=True)
            assert message is not None and message.payload["payload"]["incident_id"] == 2
    finally:
        db.relay.close()
        db.engine.dispose()
