"""Idempotent event handlers with retries and a dead-letter queue.

    @idempotent_handler("incidents", "incident_reported")
    def on_incident_reported(self, uow, event):
        ...                      # effect through uow.session; uow.emit(...) for follow-up events

The wrapper validates the envelope, claims `(consumer, event_id)` in the same transaction as the
effect and commits: a redelivered event finds its claim and changes nothing. A handler that keeps
failing (after `RETRIES` quick retries for transient errors) or an invalid envelope goes to the
dead-letter queue `lisa.dead-letter` with its error, then the message is acknowledged: never lost,
never looping. `python -m lisa.cli dlq replay` puts dead letters back on their exchange.
The service declaring such handlers needs `db = Database(...)` and `dead_letters = DeadLetters()`.
"""
import functools
import logging
import time
import traceback
from datetime import UTC, datetime

from kombu import Connection, Exchange, Queue
from marshmallow import ValidationError
from nameko.events import event_handler
from nameko.extensions import DependencyProvider
from sqlalchemy.exc import DBAPIError

from shared import config, events, metrics
from shared.rpc import ServiceUnavailable

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = Exchange("lisa.dead-letter", type="topic", durable=True)
DEAD_LETTER_QUEUE = Queue(
    "lisa.dead-letter", exchange=DEAD_LETTER_EXCHANGE, routing_key="#", durable=True,
)
RETRIES = 3
TRANSIENT_ERRORS = (DBAPIError, ServiceUnavailable)
RETRY_DELAY_SECONDS = 0.2


class DeadLetters(DependencyProvider):
    """Publishes messages that could not be processed to the dead-letter queue."""

    def setup(self):
        self.amqp_uri = config.amqp_uri()

    def get_dependency(self, worker_ctx):
        return self

    def send(self, consumer: str, source: str, event_type: str, body, error: str) -> None:
        with Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as conn:
            conn.Producer().publish(
                {"body": body, "error": error, "consumer": consumer,
                 "failed_at": datetime.now(UTC).isoformat()},
                exchange=DEAD_LETTER_EXCHANGE, routing_key=consumer,
                declare=[DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE],
                headers={"x-source": source, "x-event-type": event_type},
                serializer="json", delivery_mode=2, retry=True,
            )


def idempotent_handler(source: str, event_type: str, **handler_options):
    def decorator(fn):
        @event_handler(source, event_type, **handler_options)
        @functools.wraps(fn)
        def entrypoint(self, body):
            service = self.name
            consumer = f"{service}.{fn.__name__}"
            try:
                event = events.parse(body)
            except (ValidationError, events.UnknownEventType, TypeError) as exc:
                metrics.EVENTS_CONSUMED.labels(service, consumer, event_type, "invalid").inc()
                self.dead_letters.send(consumer, source, event_type, body, f"invalid: {exc}")
                return
            for attempt in range(1, RETRIES + 1):
                try:
                    with self.db.unit_of_work() as uow:
                        if not uow.claim(consumer, event.event_id):
                            metrics.EVENTS_CONSUMED.labels(
                                service, consumer, event_type, "duplicate").inc()
                            return
                        fn(self, uow, event)
                        uow.commit()
                    metrics.EVENTS_CONSUMED.labels(service, consumer, event_type, "processed").inc()
                    return
                except TRANSIENT_ERRORS as exc:  # lock, restart, a service away: retry
                    if attempt < RETRIES:
                        log.warning("%s: retry %d after %s", consumer, attempt, exc)
                        time.sleep(RETRY_DELAY_SECONDS * attempt)
                        continue
                    error = traceback.format_exc()
                except Exception:
                    error = traceback.format_exc()
                log.error("%s: dead-lettering event %s:\n%s", consumer, event.event_id, error)
                metrics.EVENTS_CONSUMED.labels(service, consumer, event_type, "dead_lettered").inc()
                self.dead_letters.send(consumer, source, event_type, body, error)
                return

        return entrypoint

    return decorator


def replay_dead_letters(amqp_uri: str, limit: int | None = None) -> int:
    """Republish dead letters to their original exchange; returns how many. Consumers that
    already processed an event skip it, so replaying to every consumer is safe."""
    replayed = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        queue = DEAD_LETTER_QUEUE(conn.default_channel)
        queue.declare()
        producer = conn.Producer()
        while limit is None or replayed < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            letter = message.payload
            source = message.headers.get("x-source")
            event_type = message.headers.get("x-event-type")
            exchange = Exchange(events.exchange_name(source), type="topic", durable=True)
            producer.publish(letter["body"], exchange=exchange, routing_key=event_type,
                             declare=[exchange], serializer="json", delivery_mode=2)
            message.ack()
            replayed += 1
    return replayed
