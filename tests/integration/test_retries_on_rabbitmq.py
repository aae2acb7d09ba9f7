"""Retries through RabbitMQ's delay queues (TTL, then dead-lettered to the service's retry
exchange), undecodable messages and the replay, on the real broker."""
import nameko
import pytest
from kombu import Connection, Exchange

from shared.db import Database
from shared.handlers import list_dead_letters, replay_dead_letters
from shared.topology import declare_event_queues
from tests.conftest import eventually
from tests.unit.test_outbox_and_handlers import envelope, metadata
from tests.unit.test_retries_and_dead_letters import Flaky, effect_count

pytestmark = pytest.mark.integration


@pytest.fixture
def flaky_on_rabbitmq(rabbit_uri, database_url_factory, container_factory, monkeypatch):
    monkeypatch.setenv("LISA_AMQP_URI", rabbit_uri)
    monkeypatch.setenv("LISA_EVENT_RETRY_FIRST_SECONDS", "0.05")
    monkeypatch.setenv("LISA_EVENT_RETRY_MAX_SECONDS", "0.2")
    monkeypatch.setenv("LISA_EVENT_RETRY_WINDOW_SECONDS", "2")
    from shared import config

    declare_event_queues(rabbit_uri, [Flaky], config.event_retry_delays())  # as `migrate` does
    url = database_url_factory("flaky")
    monkeypatch.setenv("LISA_FLAKY_DATABASE_URL", url)
    db = Database(metadata, service="flaky").open(url)
    metadata.create_all(db.engine)
    Flaky.away, Flaky.attempts, Flaky.behaviour = 0, 0, "ok"
    with nameko.config.patch({"AMQP_URI": rabbit_uri}):
        container = container_factory(Flaky)
        container.start()
        yield container, db, rabbit_uri
    db.engine.dispose()


def publish(uri, body, **kwargs):
    exchange = Exchange("incidents.events", type="topic", durable=True)
    with Connection(uri) as connection:
        connection.Producer().publish(body, exchange=exchange, routing_key="incident_reported",
                                      **kwargs)


def test_an_outage_longer_than_the_old_retries_is_outlived_through_delay_queues(
        flaky_on_rabbitmq):
    container, db, uri = flaky_on_rabbitmq
    Flaky.away = 7
    publish(uri, envelope(), serializer="json")
    eventually(lambda: effect_count(db) == 1)
    # at least once: a redelivery (the broker may redeliver an unacknowledged message) is one
    # more call, which finds the claim and changes nothing
    assert Flaky.attempts >= 8 and effect_count(db) == 1 and list_dead_letters(uri) == []


def test_undecodable_and_failing_events_are_kept_replayed_once_and_parked(flaky_on_rabbitmq):
    container, db, uri = flaky_on_rabbitmq
    Flaky.behaviour = "break"
    publish(uri, b"\x00not json", content_type="application/json", content_encoding="binary")
    for n in range(4):
        publish(uri, envelope(n), serializer="json")
    letters = eventually(lambda: len(list_dead_letters(uri)) == 5 and list_dead_letters(uri))
    assert sum(letter["reason"].startswith("undecodable") for letter in letters) == 1
    assert replay_dead_letters(uri) == {"replayed": 4, "parked": 1, "kept": 0}
    parked = eventually(lambda: len(list_dead_letters(uri, parked=True)) == 5 and
                        list_dead_letters(uri, parked=True))
    assert list_dead_letters(uri) == [] and Flaky.attempts >= 8
    assert sorted(letter["replays"] for letter in parked) == [0, 1, 1, 1, 1]
