"""Event handlers that believe only what they can check, are idempotent, retry transient failures
for minutes, and dead-letter what they cannot process, with the reason. Nothing is lost.

    @idempotent_handler("incidents", "incident_reported")
    def on_incident_reported(self, event):
        incident = self.incidents.get(...)       # reads and RPC first: no transaction is open
        if incident["antenna_id"] != event.antenna_id:
            raise Rejected("the incident is not of this antenna")   # dead-lettered, not retried
        return lambda uow: use_cases.act(uow, incident, ...)        # applied in the unit of work

Before the handler runs, the wrapper checks the delivery (docs/adr/0011-events-broker-users-and-
trust.md): the envelope is valid, its `source` and type are those of the queue, it came from the
source's exchange (or this service's own retry exchange), its validated `user_id` is the source
service's broker user when the deployment gives each service its own, and its antenna is served
here. The returned effect runs in one unit of work that also claims `(consumer, event_id)`: a
redelivered event finds its claim and changes nothing.

A transient failure (database, a service away) sends the event back to this consumer's queue
through the service's delay queues, waiting `config.event_retry_delays()`; after the last one,
or on any other failure, the event goes to the dead-letter queue `lisa.dead-letter` with its
reason (docs/adr/0010-events-retries-dead-letters.md). A message that is not even JSON goes there
with its raw body. `python -m lisa.cli dlq-list | dlq-replay` show and replay them; a replayed
event that fails again is parked in `lisa.parked`.

The service declaring such handlers needs `db = Database(...)` and `dead_letters = DeadLetters()`.
"""
import base64
import functools
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import eventlet
import eventlet.queue
from eventlet.semaphore import Semaphore
from kombu import Connection
from kombu.exceptions import OperationalError
from marshmallow import ValidationError
from nameko.amqp.consume import Consumer as NamekoConsumer
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled, UnknownService
from nameko.extensions import DependencyProvider, SharedExtension
from nameko.messaging import Consumer as ConsumerEntrypoint
from nameko.messaging import decode_from_headers
from sqlalchemy.exc import DBAPIError

from shared import config, events, metrics, topology
from shared.events import Rejected  # noqa: F401  (handlers raise it from here)
from shared.rpc import ServiceUnavailable, is_transient_remote
from shared.topology import (  # noqa: F401  (re-exported for callers and tests)
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    PARKED_EXCHANGE,
    PARKED_QUEUE,
)

log = logging.getLogger(__name__)

TRANSIENT_ERRORS = (DBAPIError, ServiceUnavailable, UnknownService, OperationalError,
                    ConnectionError)
def is_transient(exc: BaseException) -> bool:
    """A failure worth retrying later: ours, or the same met by a service we called (an
    incidents service whose database restarts is as transient for the tags consumer asking it
    as its own database would be; found by `make test-chaos`)."""
    return isinstance(exc, TRANSIENT_ERRORS) or is_transient_remote(exc)


ATTEMPT_HEADER = "x-lisa-attempt"       # retries made so far
REPLAYS_HEADER = "x-lisa-replays"       # times an operator replayed it from the dead letters
PUBLISHER_HEADER = "x-lisa-publisher"   # the validated user_id of the original publication
LETTER_KEYS = (ATTEMPT_HEADER, REPLAYS_HEADER, PUBLISHER_HEADER)


def _count(value) -> int:
    """A counter header as a number; anything else (text, a negative, a float, a table) as 0:
    a bad header must not make the handler fail before it can dead-letter the message."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return 0
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else 0


class Backoff:
    """Consecutive failures to settle a message (the letter or the retry could not be
    published): wait `delay(key)` before letting the broker redeliver it, doubling from
    `FIRST` up to `LONGEST` seconds, so a broken dead-letter path is not a tight requeue loop
    (review of issue 7, finding 6). Forgotten when the message is settled."""
    FIRST, LONGEST, REMEMBERED = 0.5, 60.0, 10_000

    def __init__(self):
        self.failures: dict[str, int] = {}

    def delay(self, key: str) -> float:
        failures = self.failures.get(key, 0) + 1
        if len(self.failures) >= self.REMEMBERED:
            self.failures.clear()
        self.failures[key] = failures
        return min(self.LONGEST, self.FIRST * 2 ** (failures - 1))

    def settled(self, key: str) -> None:
        self.failures.pop(key, None)


BACKOFF = Backoff()


def _wait_before_requeue(seconds: float) -> None:
    eventlet.sleep(seconds)


def _message_key(consumer: str, body) -> str:
    import hashlib
    import json

    if isinstance(body, dict) and isinstance(body.get("event_id"), str):
        return f"{consumer}:{body['event_id']}"
    try:
        raw = json.dumps(body, sort_keys=True, default=str).encode()
    except (TypeError, ValueError):
        raw = repr(body).encode()
    return f"{consumer}:{hashlib.sha256(raw).hexdigest()}"


@dataclass(frozen=True)
class Delivery:
    """What the broker says about a message, beside its body."""
    exchange: str = ""
    routing_key: str = ""
    user_id: str | None = None
    headers: dict = field(default_factory=dict)

    @property
    def attempt(self) -> int:
        return _count(self.headers.get(ATTEMPT_HEADER))

    @property
    def replays(self) -> int:
        return _count(self.headers.get(REPLAYS_HEADER))

    def publisher_for(self, service: str) -> str | None:
        """Who published the event, as `service` (the consumer) may believe it: the
        broker-validated user_id; only on a delivery from `service`'s own retry exchange whose
        validated user_id is `service`'s own broker user (the retry or replay path, which wrote
        it) the user_id recorded from the first delivery in `x-lisa-publisher`. Anyone else's
        header is a claim, not a fact."""
        if self.exchange == topology.retry_exchange(service).name and \
                self.user_id is not None and self.user_id == config.broker_user(service):
            return self.headers.get(PUBLISHER_HEADER) or self.user_id
        return self.user_id

    @classmethod
    def of(cls, message) -> "Delivery":
        info = message.delivery_info or {}
        return cls(exchange=info.get("exchange") or "", routing_key=info.get("routing_key") or "",
                   user_id=message.properties.get("user_id"), headers=dict(message.headers or {}))


# -- publishing retries and letters ---------------------------------------------------------------

class DeadLetters(DependencyProvider):
    """Sends an event back to its consumer after a delay, or to the dead letters (or the parking
    queue) with its reason. Publishes as this service's own broker user, with confirms."""

    def setup(self):
        self.service = self.container.service_name
        self.amqp_uri = config.amqp_uri(self.service)
        # One connection for every retry and letter of this service, not one each (review of
        # issue 7, finding 7); publications take turns on it, each waiting for its confirm.
        self._connection: Connection | None = None
        self._turn = Semaphore(1)

    def stop(self):
        self._drop_connection()

    def kill(self):
        self._drop_connection()

    def _drop_connection(self):
        """After a failure (or at stop) the socket may be dead: drop it without the closing
        handshake, which could wait on a broker that went away."""
        connection = getattr(self, "_connection", None)
        if connection is not None:
            connection.collect()
            self._connection = None

    def get_dependency(self, worker_ctx):
        return self

    def _publish(self, body, exchange, routing_key, headers, declare=(), serializer="json"):
        user = config.amqp_user(self.amqp_uri)
        properties = {"user_id": user} if user else {}
        with self._turn:
            if self._connection is None:
                self._connection = Connection(self.amqp_uri,
                                              transport_options={"confirm_publish": True},
                                              connect_timeout=5)
            try:
                self._connection.Producer().publish(
                    body, exchange=exchange, routing_key=routing_key, declare=list(declare),
                    headers=headers, serializer=serializer, delivery_mode=2, retry=True,
                    retry_policy={"max_retries": 3, "interval_start": 0.5}, **properties)
            except Exception:
                self._drop_connection()
                raise

    def retry_later(self, queue: str, body, delivery: Delivery, delay: float) -> None:
        """Back to `queue` (this service's) after `delay` seconds, through the broker's delay
        queue; the embedded broker has no TTL, so there the process waits instead."""
        headers = {**delivery.headers, ATTEMPT_HEADER: delivery.attempt + 1,
                   PUBLISHER_HEADER: delivery.publisher_for(self.service)}
        headers = {k: v for k, v in headers.items() if v is not None}
        if topology.is_in_memory(self.amqp_uri):
            def later():
                eventlet.sleep(delay)
                self._publish(body, topology.retry_exchange(self.service), queue, headers)
            self.container.spawn_managed_thread(later, identifier=f"retry {queue}")
            return
        waiting = topology.delay_queue(self.service, delay)
        headers[topology.DELAY_HEADER] = topology.delay_ms(delay)
        self._publish(body, topology.delay_exchange(self.service), queue, headers,
                      declare=[waiting])

    def send(self, letter: dict, parked: bool = False) -> None:
        exchange, queue = (PARKED_EXCHANGE, PARKED_QUEUE) if parked else \
            (DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE)
        # On RabbitMQ `migrate` declares them: a service's broker user may publish letters but
        # not declare (nor so delete) the queue that keeps them.
        declare = [exchange, queue] if topology.is_in_memory(self.amqp_uri) else []
        self._publish(letter, exchange, letter["consumer"], {}, declare=declare)


def letter_for(consumer: str, queue: str, source: str, event_type: str, reason: str,
               delivery: Delivery, body=None, raw: bytes | None = None,
               content_type: str | None = None) -> dict:
    """A dead letter: the event as it came (decoded, or raw if it could not be), the reason, and
    what a replay needs."""
    letter = {
        "consumer": consumer, "queue": queue, "source": source, "event_type": event_type,
        "reason": reason, "failed_at": datetime.now(UTC).isoformat(),
        "attempts": delivery.attempt, "replays": delivery.replays,
        "publisher": delivery.publisher_for(consumer.split(".")[0]),
        "exchange": delivery.exchange,
        "headers": {k: v for k, v in delivery.headers.items()
                    if k not in LETTER_KEYS and k != topology.DELAY_HEADER
                    and isinstance(v, str | int | float | bool)},
        "event_id": body.get("event_id") if isinstance(body, dict) else None,
    }
    if raw is not None:
        try:
            letter["raw_body"], letter["raw_encoding"] = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            letter["raw_body"] = base64.b64encode(raw).decode()
            letter["raw_encoding"] = "base64"
        letter["content_type"] = content_type
    else:
        letter["body"] = body
    return letter


# -- the entrypoint -------------------------------------------------------------------------------

class EventWorkers(SharedExtension):
    """One per service: bounds the workers its event handlers take at once, so API calls find a
    free worker while consumers wait on another service."""

    def setup(self):
        self.semaphore = Semaphore(config.event_workers())


class _Consumer(NamekoConsumer):
    """nameko's consumer, except that a message kombu cannot decode is dead-lettered with its raw
    body instead of being logged and acknowledged (and lost)."""

    def __init__(self, *args, on_undecodable=None, **kwargs):
        self.on_undecodable = on_undecodable
        super().__init__(*args, **kwargs)

    def on_decode_error(self, message, exc):
        key = _message_key("undecodable", message.body)
        try:
            self.on_undecodable(message, exc)
        except Exception:  # the letter could not be sent: leave the message to the broker
            delay = BACKOFF.delay(key)
            log.exception("could not dead-letter an undecodable message; requeueing it in %gs",
                          delay)
            _wait_before_requeue(delay)
            self.requeue_message(message)
            return
        BACKOFF.settled(key)
        self.ack_message(message)


class TrustedEventHandler(EventHandler):
    """nameko's service-pool event handler, with the queue bound to its service's retry exchange,
    the delivery's broker facts handed to the worker, undecodable messages dead-lettered, and at
    most `config.event_workers()` workers per service."""

    consumer_cls = _Consumer
    workers = EventWorkers()

    def __init__(self, source_service, event_type, **kwargs):
        # The wrapper handles every failure; an exception escaping it means a retry or a letter
        # could not be published, and then the broker must keep the message.
        super().__init__(source_service, event_type, requeue_on_error=True, **kwargs)

    def setup(self):
        service = self.container.service_name
        # With its own broker user a service declares nothing shared: `migrate` declared and
        # bound the queue, and binding it to the source's exchange is beyond its rights.
        self.queue = topology.event_queue(self.source_service, self.event_type, service,
                                          self.method_name,
                                          declare=not config.broker_users_enforced(service))
        self.consumer_options["on_undecodable"] = self._dead_letter_undecodable
        ConsumerEntrypoint.setup(self)

    def _dead_letters(self) -> DeadLetters:
        for provider in self.container.dependencies:
            if isinstance(provider, DeadLetters):
                return provider
        raise RuntimeError(f"{self.container.service_name} needs `dead_letters = DeadLetters()`")

    def _dead_letter_undecodable(self, message, exc):
        service = self.container.service_name
        consumer = f"{service}.{self.method_name}"
        delivery = Delivery.of(message)
        letter = letter_for(consumer, self.queue.name, self.source_service, self.event_type,
                            f"undecodable: {exc}", delivery, raw=message.body,
                            content_type=message.content_type)
        self._dead_letters().send(letter, parked=delivery.replays > 0)
        metrics.EVENTS_CONSUMED.labels(service, consumer, self.event_type, "undecodable").inc()
        log.error("%s: dead-lettered an undecodable message: %s", consumer, exc)

    def handle_message(self, body, message):
        context_data = decode_from_headers(message.headers)
        args = (body, Delivery.of(message))

        def handle_result(msg, worker_ctx, result=None, exc_info=None):
            self.workers.semaphore.release()
            return self.handle_result(msg, worker_ctx, result, exc_info)

        def spawn_worker():
            self.workers.semaphore.acquire()
            try:
                self.container.spawn_worker(
                    self, args, {}, context_data=context_data,
                    handle_result=functools.partial(handle_result, message))
            except ContainerBeingKilled:
                self.workers.semaphore.release()
                self.consumer.requeue_message(message)

        self.container.spawn_managed_thread(
            spawn_worker, identifier=f"wait_for_event_worker[{self.method_name}]")


class BatchedEventHandler(TrustedEventHandler):
    """A TrustedEventHandler whose worker takes a batch: the messages that arrive within
    `wait` seconds of the first, up to `size` (`batch()` gives both, read when the service
    starts), as one list of `(body, Delivery)`. The broker lends it up to two batches at once
    (prefetch), so the next one gathers while the last commits. Every message of a batch is
    acknowledged when the worker returns, or given back to the broker if it raised: the worker
    applies each event once (claims), dead-letters or retries each failing one itself."""

    def __init__(self, source_service, event_type, batch=None, **kwargs):
        self.batch_settings: Callable[[], tuple[int, float]] = batch or (lambda: (100, 0.05))
        super().__init__(source_service, event_type, **kwargs)

    def setup(self):
        self.size: int
        self.wait: float
        self.size, self.wait = self.batch_settings()
        self.consumer_options["prefetch_count"] = 2 * self.size
        self.arrived: eventlet.queue.LightQueue = eventlet.queue.LightQueue()
        super().setup()

    def start(self):
        super().start()
        self.container.spawn_managed_thread(
            self._gather, identifier=f"gather_event_batches[{self.method_name}]")

    def handle_message(self, body, message):
        self.arrived.put((body, message))

    def _gather(self):
        while True:
            batch = [self.arrived.get()]
            deadline = time.monotonic() + self.wait
            while len(batch) < self.size:
                try:
                    batch.append(self.arrived.get(timeout=max(0, deadline - time.monotonic())))
                except eventlet.queue.Empty:
                    break
            messages = [message for _, message in batch]
            items = [(body, Delivery.of(message)) for body, message in batch]
            self.workers.semaphore.acquire()
            try:
                self.container.spawn_worker(
                    self, (items,), {}, context_data={},
                    handle_result=functools.partial(self._batch_done, messages))
            except ContainerBeingKilled:
                self.workers.semaphore.release()
                for message in messages:
                    self.consumer.requeue_message(message)
                return

    def _batch_done(self, messages, worker_ctx, result=None, exc_info=None):
        self.workers.semaphore.release()
        for message in messages:
            self.handle_message_processed(message, result, exc_info)
        return result, exc_info


def check_delivery(service: str, source: str, event_type: str, event: events.Event,
                   delivery: Delivery) -> None:
    """Raise Rejected unless the event is what its queue is for, from where and whom it must
    come, about an antenna this deployment serves."""
    if (event.source, event.event_type) != (source, event_type):
        raise Rejected(f"the envelope says {event.source}.{event.event_type}, "
                       f"this queue is for {source}.{event_type}")
    own_retry = topology.retry_exchange(service).name
    if delivery.exchange not in (events.exchange_name(source), own_retry):
        raise Rejected(f"it came from exchange {delivery.exchange!r}, "
                       f"not {events.exchange_name(source)!r}")
    if config.broker_users_enforced(service):
        if delivery.exchange == own_retry and delivery.user_id != config.broker_user(service):
            raise Rejected(f"a retry published by {delivery.user_id!r}, not by {service}")
        publisher = delivery.publisher_for(service)
        if publisher != config.broker_user(source):
            raise Rejected(f"published by broker user {publisher!r}, "
                           f"not by {config.broker_user(source)!r}")
    if event.antenna_id not in config.served_antennas():
        raise Rejected(f"antenna {event.antenna_id!r} is not served here")


def idempotent_handler(source: str, event_type: str):
    """`fn(self, event)` does its reads and RPC calls, raises Rejected if the event's facts do
    not hold, and returns the effect to apply in a unit of work (`effect(uow)`), or None."""

    def decorator(fn: Callable):
        @TrustedEventHandler.decorator(source, event_type)
        @functools.wraps(fn)
        def entrypoint(self, body, delivery: Delivery):
            key = _message_key(f"{self.name}.{fn.__name__}", body)
            try:
                _handle(self, fn, source, event_type, body, delivery)
            except Exception:
                # Neither settled nor dead-lettered (the broker refused the letter or the
                # retry): the broker keeps it, but not in a tight loop.
                delay = BACKOFF.delay(key)
                log.exception("%s.%s: could not settle an event; the broker gets it back in "
                              "%gs", self.name, fn.__name__, delay)
                _wait_before_requeue(delay)
                raise
            BACKOFF.settled(key)

        return entrypoint

    return decorator


def _handle(service, fn, source, event_type, body, delivery: Delivery) -> None:
    name = service.name
    consumer = f"{name}.{fn.__name__}"
    queue = topology.event_queue_name(source, event_type, name, fn.__name__)

    def outcome(label):
        metrics.EVENTS_CONSUMED.labels(name, consumer, event_type, label).inc()

    def dead_letter(reason, label):
        parked = delivery.replays > 0
        log.error("%s: %s event %s: %s", consumer, "parking" if parked else "dead-lettering",
                  body.get("event_id") if isinstance(body, dict) else "?", reason)
        service.dead_letters.send(letter_for(consumer, queue, source, event_type, reason,
                                             delivery, body=body), parked=parked)
        outcome("parked" if parked else label)

    try:
        event = events.parse(body)
    except (ValidationError, events.UnknownEventType, TypeError) as exc:
        dead_letter(f"invalid: {exc}", "invalid")
        return
    try:
        check_delivery(name, source, event_type, event, delivery)
        if service.db.is_processed(consumer, event.event_id):
            outcome("duplicate")
            return
        effect = fn(service, event)
        with service.db.unit_of_work(event.correlation_id) as uow:
            if not uow.claim(consumer, event.event_id):
                outcome("duplicate")
                return
            if effect is not None:
                effect(uow)
            uow.commit()
        outcome("processed")
    except Rejected as exc:
        dead_letter(f"rejected: {exc}", "rejected")
    except Exception as exc:
        if not is_transient(exc):
            dead_letter(traceback.format_exc(), "dead_lettered")
            return
        delays = config.event_retry_delays()
        if delivery.attempt < len(delays):
            delay = delays[delivery.attempt]
            log.warning("%s: retry %d in %gs after %s", consumer, delivery.attempt + 1, delay,
                        exc)
            service.dead_letters.retry_later(queue, body, delivery, delay)
            outcome("retried")
        else:
            dead_letter(f"gave up after {delivery.attempt} retries: {traceback.format_exc()}",
                        "dead_lettered")


# -- what the broker holds, for Prometheus ------------------------------------------------------

class QueueGauges(DependencyProvider):
    """The broker's side of a service's health, read when Prometheus scrapes (one connection,
    one passive declare per queue): the messages waiting in each of this service's event queues
    (its consumer lag) and their consumers; with `letters=True` (the gateway, so that one
    process per platform reports them) the letters waiting in the dead-letter and parking
    queues. A passive declare needs no permission, so each service's own broker user will do."""

    def __init__(self, letters: bool = False):
        self.letters = letters

    def setup(self):
        self.service = self.container.service_name
        self.amqp_uri = config.amqp_uri(self.service)
        self.queues = [queue.name for queue in topology.event_queues([self.container.service_cls])]
        self._collector: metrics.ScrapeTimeCollector | None = None

    def start(self):
        if self.queues or self.letters:
            self._collector = metrics.register_scrape_time(self.service, "broker", self.read)

    def stop(self):
        if self._collector is not None:
            metrics.unregister_scrape_time(self._collector)
            self._collector = None

    def kill(self):
        self.stop()

    def read(self) -> list[metrics.Reading]:
        waiting, consumers, letters = [], [], []
        with Connection(self.amqp_uri, connect_timeout=2) as connection:
            channel = connection.default_channel
            for name in self.queues:
                _, messages, attached = channel.queue_declare(queue=name, passive=True)
                waiting.append((name, messages))
                consumers.append((name, attached))
            if self.letters:
                for queue in (topology.DEAD_LETTER_QUEUE, topology.PARKED_QUEUE):
                    _, messages, _ = channel.queue_declare(queue=queue.name, passive=True)
                    letters.append((queue.name, messages))
        readings = [EVENT_QUEUE_MESSAGES.rows(waiting), EVENT_QUEUE_CONSUMERS.rows(consumers)]
        if self.letters:
            readings.append(DEAD_LETTERS_WAITING.rows(letters))
        return readings


EVENT_QUEUE_MESSAGES = metrics.Family(
    "lisa_event_queue_messages", "Events waiting in an event handler's queue (the consumer's "
    "lag).", ("queue",))
EVENT_QUEUE_CONSUMERS = metrics.Family(
    "lisa_event_queue_consumers", "Consumers attached to an event handler's queue.", ("queue",))
DEAD_LETTERS_WAITING = metrics.Family(
    "lisa_dead_letters_waiting", "Letters waiting for an operator in the dead-letter and "
    "parking queues (lisa.cli dlq-list).", ("queue",))


# -- operating the dead letters -------------------------------------------------------------------

def _browse(amqp_uri: str, queue, visit) -> None:
    """Show `visit` each message the queue held when this started (not what arrives meanwhile,
    such as a replay's own re-failure). `visit(letter, message)` acks what it consumed; the
    rest goes back to the queue."""
    with Connection(amqp_uri) as connection:
        bound = queue(connection.default_channel)
        bound.declare()
        _, count, _ = bound.queue_declare(passive=True)
        kept = []
        for _ in range(count):
            message = bound.get(no_ack=False)
            if message is None:
                break
            if not visit(message.payload, message):
                kept.append(message)
        for message in kept:
            message.requeue()


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


def broker_letter(payload, message) -> dict | None:
    """A letter for an event the broker itself dead-lettered from an event queue (the queue's
    delivery limit, `topology.event_queue_policy`), or None if the message is not one. Its
    publisher is the message's broker-validated `user_id` (the broker keeps it), never a claim
    in the body: forging one in the dead-letter queue can name only the forger's own user,
    which the consumer then refuses."""
    deaths = (message.headers or {}).get("x-death")
    if not deaths or not isinstance(deaths, list) or not isinstance(deaths[0], dict) or \
            not isinstance(payload, dict) or "consumer" in payload:
        return None
    death = deaths[0]
    queue = _text(death.get("queue"))
    named = topology.consumer_of_queue(queue)
    if named is None:
        return None
    source, event_type, consumer = named
    delivery = Delivery.of(message)
    return {"consumer": consumer, "queue": queue, "source": source, "event_type": event_type,
            "reason": f"{_text(death.get('reason'))}: the broker dead-lettered it after "
                      f"{_count(death.get('count'))} time(s)",
            "failed_at": _text(death.get("time")) or None, "attempts": delivery.attempt,
            "replays": delivery.replays, "publisher": message.properties.get("user_id"),
            "exchange": _text(death.get("exchange")), "by_broker": True,
            "headers": {k: v for k, v in delivery.headers.items()
                        if k not in LETTER_KEYS and k != "x-death"
                        and k != topology.DELAY_HEADER and isinstance(v, str | int | float | bool)},
            "event_id": payload.get("event_id"), "body": payload}


def list_dead_letters(amqp_uri: str, parked: bool = False) -> list[dict]:
    letters = []

    def visit(letter, message):
        letter = broker_letter(letter, message) or letter
        letters.append({**letter, "written_by": message.properties.get("user_id")})
        return False

    _browse(amqp_uri, PARKED_QUEUE if parked else DEAD_LETTER_QUEUE, visit)
    return letters


def replay_dead_letters(amqp_uri: str, consumer: str | None = None,
                        event_id: str | None = None, limit: int | None = None,
                        parked: bool = False) -> dict:
    """Send the dead letters held now (optionally one consumer's, one event's) back to their
    consumer's queue only, as that consumer's service: read with `amqp_uri` (the operator's),
    republished with `LISA_<SERVICE>_AMQP_URI` (the consumer's own broker user), since the
    consumer believes a retry only from its own user (ADR 11). A letter that cannot be replayed
    (no decodable body, or not written by its consumer's service) is parked at once; a replayed
    event that fails again is parked by its consumer. A letter its consumer's service wrote as
    its own broker user, when this process lacks that service's URI, is kept, not replayed as
    someone else (which its consumer would refuse and park): `needs` names the variable to set
    (review of issues 7, 8 and 13, finding 1). `parked`: replay the parked letters instead (an
    operator's deliberate second chance, `dlq-replay --parked`); one that cannot be replayed
    stays parked. Returns counts by outcome (and `needs`, when some letter needs a URI)."""
    counts: dict = {"replayed": 0, "parked": 0, "kept": 0}
    needs: list[str] = []

    def park(letter, message, why):
        if parked:   # it is parked already: leave it where it is
            counts["kept"] += 1
            return False
        with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
            connection.Producer().publish(
                {**letter, "reason": f"{why}; first: {letter.get('reason')}"},
                exchange=PARKED_EXCHANGE, routing_key=letter.get("consumer") or "unknown",
                declare=[PARKED_EXCHANGE, PARKED_QUEUE], serializer="json", delivery_mode=2)
        message.ack()
        counts["parked"] += 1
        return True

    def visit(letter, message):
        by_broker = broker_letter(letter, message)
        letter = by_broker or letter
        wanted = (consumer is None or letter.get("consumer") == consumer) and \
            (event_id is None or letter.get("event_id") == event_id) and \
            (limit is None or counts["replayed"] + counts["parked"] < limit)
        if not wanted:
            counts["kept"] += 1
            return False
        service = (letter.get("consumer") or "").split(".")[0]
        if "body" not in letter or not letter.get("queue") or not service:
            return park(letter, message, "cannot be replayed: not a decodable event")
        written_by = message.properties.get("user_id")
        # Written by the consumer's service (its own broker user); or by the broker, the event
        # as its publisher sent it, whose validated user_id the consumer checks on the replay.
        writer = config.broker_user(letter.get("source") or "") if by_broker else \
            config.broker_user(service)
        if config.broker_users_enforced(service) and not by_broker and written_by != writer:
            return park(letter, message, "not written by its consumer's service")
        if written_by == writer and not config.broker_users_enforced(service):
            # The deployment gives each service its own broker user, but not to this process:
            # a replay published as anyone else would be refused (and parked) by the consumer.
            variable = config.SERVICE_AMQP_URI.name(service)
            if variable not in needs:
                needs.append(variable)
            counts["kept"] += 1
            return False
        uri = config.amqp_uri(service)
        user = config.amqp_user(uri)
        headers = {**(letter.get("headers") or {}), ATTEMPT_HEADER: 0,
                   REPLAYS_HEADER: int(letter.get("replays") or 0) + 1}
        if letter.get("publisher"):
            headers[PUBLISHER_HEADER] = letter["publisher"]
        with Connection(uri, transport_options={"confirm_publish": True}) as connection:
            connection.Producer().publish(
                letter["body"], exchange=topology.retry_exchange(service),
                routing_key=letter["queue"], headers=headers, serializer="json",
                delivery_mode=2, **({"user_id": user} if user else {}))
        message.ack()
        counts["replayed"] += 1
        return True

    _browse(amqp_uri, PARKED_QUEUE if parked else DEAD_LETTER_QUEUE, visit)
    if needs:
        counts["needs"] = needs
    return counts
