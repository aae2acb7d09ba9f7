"""Retries that outlive a short outage, dead letters that keep everything with its reason, and
the operator's replay: on the embedded broker, with SQLite and PostgreSQL behind the consumer."""
import pytest
from kombu import Connection, Exchange
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import func, insert, select

from shared import metrics
from shared.db import Database
from shared.handlers import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    PARKED_QUEUE,
    DeadLetters,
    Rejected,
    idempotent_handler,
    list_dead_letters,
    replay_dead_letters,
)
from shared.rpc import ServiceUnavailable
from tests.conftest import eventually
from tests.unit.test_outbox_and_handlers import effects, envelope, metadata

MEMORY = "lisa-memory://localhost/"


class Flaky:
    """A consumer whose dependency is away for `away` attempts, or that rejects or breaks."""
    name = "flaky"
    db = Database(metadata, service="flaky")
    dead_letters = DeadLetters()
    away = 0
    attempts = 0
    behaviour = "ok"
    away_error = None   # what the dependency raises while away (default: ServiceUnavailable)

    @idempotent_handler("incidents", "incident_reported")
    def on_reported(self, event):
        Flaky.attempts += 1
        if Flaky.away:
            Flaky.away -= 1
            if Flaky.away_error is not None:
                raise Flaky.away_error
            raise ServiceUnavailable("the incidents service did not answer in time")
        if Flaky.behaviour == "reject":
            raise Rejected("incident 1 does not exist")
        if Flaky.behaviour == "break":
            raise RuntimeError("the handler broke")
        return lambda uow: uow.session.execute(insert(effects).values(
            ticket=event.payload["ticket"]))


class Bystander:
    """Another consumer of the same events: a replay for Flaky must not reach it."""
    name = "bystander"
    db = Database(metadata, service="bystander")
    dead_letters = DeadLetters()
    calls = 0

    @idempotent_handler("incidents", "incident_reported")
    def on_reported(self, event):
        Bystander.calls += 1


def start(container_factory, database_url_factory, monkeypatch, cls):
    url = database_url_factory(cls.name)
    monkeypatch.setenv(f"LISA_{cls.name.upper()}_DATABASE_URL", url)
    db = Database(metadata, service=cls.name).open(url)
    metadata.create_all(db.engine)
    container = container_factory(cls)
    container.start()
    return container, db


@pytest.fixture
def flaky(database_url_factory, memory_broker, container_factory, monkeypatch):
    monkeypatch.setenv("LISA_EVENT_RETRY_FIRST_SECONDS", "0.02")
    monkeypatch.setenv("LISA_EVENT_RETRY_MAX_SECONDS", "0.1")
    monkeypatch.setenv("LISA_EVENT_RETRY_WINDOW_SECONDS", "1")   # 0.02 .. 0.08, 0.1: 12 retries
    Flaky.away, Flaky.attempts, Flaky.behaviour, Flaky.away_error = 0, 0, "ok", None
    container, db = start(container_factory, database_url_factory, monkeypatch, Flaky)
    yield container, db
    db.engine.dispose()


def publish(body, routing_key="incident_reported", exchange="incidents.events", **kwargs):
    target = Exchange(exchange, type="topic", durable=True)
    with Connection(MEMORY) as connection:
        connection.Producer().publish(body, exchange=target, routing_key=routing_key,
                                      declare=[target], **kwargs)


def effect_count(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(effects))


def outcome(consumer, label) -> float:
    return metrics.EVENTS_CONSUMED.labels(consumer.split(".")[0], consumer,
                                          "incident_reported", label)._value.get()


def test_an_event_whose_dependency_is_away_longer_than_three_retries_is_processed(flaky):
    container, db = flaky
    Flaky.away = 8   # the old handler gave up after 3 quick retries
    publish(envelope(), serializer="json")
    eventually(lambda: effect_count(db) == 1)
    assert Flaky.attempts == 9
    assert list_dead_letters(MEMORY) == []


def test_an_event_is_dead_lettered_once_its_retries_are_spent(flaky):
    container, db = flaky
    Flaky.away = 1000
    publish(envelope(), serializer="json")
    [letter] = eventually(lambda: list_dead_letters(MEMORY))
    assert letter["reason"].startswith("gave up after 12 retries")
    assert "did not answer in time" in letter["reason"]
    assert letter["attempts"] == 12 and Flaky.attempts == 13
    assert effect_count(db) == 0


@pytest.mark.parametrize("remote", ["OperationalError", "ServiceUnavailable"])
def test_a_called_service_meeting_a_transient_failure_is_retried_not_dead_lettered(flaky,
                                                                                    remote):
    """The tags consumer asking incidents while incidents' database restarts gets a RemoteError
    naming OperationalError: retried like its own database error (found by make test-chaos)."""
    container, db = flaky
    Flaky.away, Flaky.away_error = 2, RemoteError(remote, "server closed the connection")
    publish(envelope(), serializer="json")
    eventually(lambda: effect_count(db) == 1)
    assert Flaky.attempts == 3
    assert list_dead_letters(MEMORY) == []


def test_a_called_service_breaking_is_dead_lettered_at_once(flaky):
    container, db = flaky
    Flaky.away, Flaky.away_error = 5, RemoteError("KeyError", "'ticket'")
    publish(envelope(), serializer="json")
    [letter] = eventually(lambda: list_dead_letters(MEMORY))
    assert "KeyError" in letter["reason"] and Flaky.attempts == 1
    assert effect_count(db) == 0


def test_a_rejected_event_is_dead_lettered_with_its_reason_and_not_retried(flaky):
    container, db = flaky
    Flaky.behaviour = "reject"
    body = envelope()
    with entrypoint_waiter(container, "on_reported"):
        publish(body, serializer="json")
    [letter] = list_dead_letters(MEMORY)
    assert letter["reason"] == "rejected: incident 1 does not exist"
    assert letter["attempts"] == 0 and Flaky.attempts == 1
    assert letter["body"] == body and letter["event_id"] == body["event_id"]
    assert letter["consumer"] == "flaky.on_reported"
    assert letter["queue"] == "evt-incidents-incident_reported--flaky.on_reported"


@pytest.mark.parametrize("raw, content_type", [
    (b"{not json at all", "application/json"),
    (b"\xff\xfe\x00binary", "application/json"),
    (b"<xml/>", "application/xml"),
])
def test_an_undecodable_message_goes_to_the_dead_letters_with_its_raw_body(flaky, raw,
                                                                           content_type):
    container, db = flaky
    consumer = "flaky.on_reported"
    before = outcome(consumer, "undecodable")
    publish(raw, content_type=content_type, content_encoding="binary")
    [letter] = eventually(lambda: list_dead_letters(MEMORY))
    assert letter["reason"].startswith("undecodable")
    assert letter["content_type"] == content_type
    if letter["raw_encoding"] == "utf-8":
        assert letter["raw_body"].encode() == raw
    else:
        import base64
        assert base64.b64decode(letter["raw_body"]) == raw
    assert outcome(consumer, "undecodable") == before + 1


@pytest.mark.parametrize("body", [[1, 2, 3], "a string", 42, None])
def test_json_that_is_not_an_envelope_is_dead_lettered(flaky, body):
    container, db = flaky
    with entrypoint_waiter(container, "on_reported"):
        publish(body, serializer="json")
    [letter] = list_dead_letters(MEMORY)
    assert letter["reason"].startswith("invalid") and letter["body"] == body


def job_completed(job_id=999999, incident_id=1, antenna="ixelles-tulipe") -> dict:
    from datetime import UTC, datetime

    from shared import events
    return events.build("tags", "job_completed", {
        "job_id": job_id, "incident_id": incident_id, "site_id": 1, "neighbourhood": None,
        "surface": "brick", "ownership": "public", "content": "ordinary", "area_m2": 2.0,
        "priority": 2, "due_at": None, "recurrence": False, "removed_m2": 2.0,
        "method": "chemical", "minutes_spent": 30, "completed_at": datetime.now(UTC),
        "within_deadline": True}, antenna_id=antenna, correlation_id="forged")


def test_an_envelope_from_another_source_or_antenna_is_rejected(flaky):
    container, db = flaky
    forged_source = job_completed()   # a valid tags event, sent where incident_reported go
    elsewhere = {**envelope(), "antenna_id": "saint-gilles-bosnie"}
    for body in (forged_source, elsewhere):
        with entrypoint_waiter(container, "on_reported"):
            publish(body, serializer="json")
    reasons = sorted(letter["reason"] for letter in list_dead_letters(MEMORY))
    assert reasons[0].startswith("rejected: antenna 'saint-gilles-bosnie' is not served")
    assert reasons[1].startswith("rejected: the envelope says tags.job_completed, this queue "
                                 "is for incidents.incident_reported")
    assert effect_count(db) == 0 and Flaky.attempts == 0


def test_an_event_through_another_exchange_is_rejected(flaky):
    """Only the source's exchange and this service's own retry exchange lead to the queue."""
    container, db = flaky
    other = Exchange("someone.events", type="topic", durable=True)
    with Connection(MEMORY) as connection:
        channel = connection.default_channel
        other(channel).declare()
        channel.queue_bind("evt-incidents-incident_reported--flaky.on_reported",
                           "someone.events", "incident_reported")
    with entrypoint_waiter(container, "on_reported"):
        publish(envelope(), exchange="someone.events", serializer="json")
    [letter] = list_dead_letters(MEMORY)
    assert letter["reason"] == ("rejected: it came from exchange 'someone.events', "
                                "not 'incidents.events'")


def dead_letter_directly(count, behaviour, container, consumer="flaky.on_reported"):
    Flaky.behaviour = behaviour
    bodies = [envelope(n) for n in range(count)]
    for body in bodies:
        with entrypoint_waiter(container, "on_reported"):
            publish(body, serializer="json")
    return bodies


def test_replay_takes_only_what_the_queue_held_and_parks_what_fails_again(flaky):
    container, db = flaky
    dead_letter_directly(5, "break", container)
    assert len(list_dead_letters(MEMORY)) == 5   # listing does not consume
    counts = replay_dead_letters(MEMORY)
    assert counts == {"replayed": 5, "parked": 0, "kept": 0}   # not its own re-failures
    parked = eventually(lambda: len(list_dead_letters(MEMORY, parked=True)) == 5 and
                        list_dead_letters(MEMORY, parked=True))
    assert list_dead_letters(MEMORY) == []
    assert all("the handler broke" in letter["reason"] and letter["replays"] == 1
               for letter in parked)
    assert Flaky.attempts == 10


def test_replay_can_target_one_consumer_and_one_event(flaky, container_factory,
                                                      database_url_factory, monkeypatch):
    container, db = flaky
    Bystander.calls = 0
    bystander, _ = start(container_factory, database_url_factory, monkeypatch, Bystander)
    bodies = dead_letter_directly(3, "break", container)
    eventually(lambda: Bystander.calls == 3)
    Flaky.behaviour = "ok"
    with Connection(MEMORY) as connection:   # a letter of another consumer stays where it is
        connection.Producer().publish(
            {"consumer": "other.on_reported", "queue": "evt-x", "body": bodies[0],
             "reason": "x"}, exchange=DEAD_LETTER_EXCHANGE, routing_key="other.on_reported",
            declare=[DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE], serializer="json")
    with entrypoint_waiter(container, "on_reported"):
        counts = replay_dead_letters(MEMORY, consumer="flaky.on_reported",
                                     event_id=bodies[1]["event_id"])
    assert counts == {"replayed": 1, "parked": 0, "kept": 3}
    assert effect_count(db) == 1 and Bystander.calls == 3   # the replay reached Flaky only
    left = list_dead_letters(MEMORY)
    assert sorted((letter["consumer"], letter.get("event_id")) for letter in left) == sorted(
        [("flaky.on_reported", bodies[0]["event_id"]),
         ("flaky.on_reported", bodies[2]["event_id"]),
         ("other.on_reported", None)])


def test_a_letter_without_a_decodable_event_is_parked_not_replayed(flaky):
    container, db = flaky
    publish(b"{oops", content_type="application/json", content_encoding="utf-8")
    eventually(lambda: list_dead_letters(MEMORY))
    assert replay_dead_letters(MEMORY) == {"replayed": 0, "parked": 1, "kept": 0}
    [parked] = list_dead_letters(MEMORY, parked=True)
    assert parked["reason"].startswith("cannot be replayed") and parked["raw_body"] == "{oops"
    with Connection(MEMORY) as connection:
        queue = PARKED_QUEUE(connection.default_channel)
        assert queue.queue_declare(passive=True).message_count == 1
