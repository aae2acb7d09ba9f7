"""nameko entrypoints of the indicators service: thin RPCs (who is calling, may they, validate,
read), and one consumer per publishing service that takes every event it publishes.

The consumers are made from the registry: `consuming(sources)` (called by lisa/platform.py with
every registered service that publishes) adds one handler per source, whose queue is bound to
that source's exchange for every routing key ("#"). Each event is checked like any consumer's
(shared.handlers.check_delivery: exchange, broker user, antenna), claimed by its id in the same
transaction as its effect (idempotent), then either recorded (a known type and version) or set
aside (unknown type or schema version, or a payload that does not validate): kept, counted
(`lisa_indicators_events_set_aside_total`), visible at /api/v1/indicators/set-aside, never
dropped. A delivery that fails the trust checks goes to the dead letters with its reason.

The consumers take events in batches (shared.handlers.BatchedEventHandler: up to
LISA_INDICATORS_BATCH_SIZE, gathered for LISA_INDICATORS_BATCH_WAIT_MS) and apply a batch in one
transaction: a few statements for hundreds of events instead of about nine per event. Checks,
claims and outcomes stay per event; a batch whose transaction fails is applied one event at a
time (docs/adr/0023-indicators-projections-and-rebuild.md).
"""
import base64
import functools
import logging
import traceback
from dataclasses import dataclass

from marshmallow import EXCLUDE, ValidationError
from nameko.extensions import DependencyProvider
from prometheus_client import Counter

from services.indicators import catalogue as catalogue_module
from services.indicators import policy, schemas, use_cases, views
from services.indicators.models import metadata
from shared import config, events, metrics, topology
from shared.config import Setting
from shared.db import Database
from shared.dependencies import CallerIdentity, Clock, EntrypointMetrics
from shared.errors import Forbidden, validated
from shared.handlers import (
    TRANSIENT_ERRORS,
    BatchedEventHandler,
    DeadLetters,
    Delivery,
    check_delivery,
    letter_for,
)
from shared.ops import ops_service
from shared.rpc import rpc

log = logging.getLogger(__name__)

EVERY_EVENT = "#"     # the routing key that binds a queue to every event type of a source

SET_ASIDE = Counter(
    "lisa_indicators_events_set_aside_total",
    "Events the indicators service kept aside: unknown type or schema version, bad payload.",
    ["service", "source", "event_type"],
)
RECORDED = Counter(
    "lisa_indicators_events_recorded_total", "Events appended to the indicators event store.",
    ["service", "source", "event_type"],
)

BATCH_SIZE = Setting("LISA_INDICATORS_BATCH_SIZE", "500", "events the indicators consumer "
                     "applies in one transaction, at most")
BATCH_WAIT_MS = Setting("LISA_INDICATORS_BATCH_WAIT_MS", "50", "milliseconds the indicators "
                        "consumer gathers a batch after its first event, at most")

SERIES = schemas.SeriesQuerySchema()
DASHBOARD = schemas.DashboardQuerySchema()
EVALUATION = schemas.EvaluationQuerySchema()
COMPARE = schemas.CompareQuerySchema()
TARGET = schemas.TargetSchema()
SET_ASIDE_QUERY = schemas.SetAsideQuerySchema()


class CatalogueProvider(DependencyProvider):
    """The catalogue, loaded and validated once when the service starts: a broken catalogue
    stops the service rather than publishing wrong figures."""

    def setup(self):
        self.catalogue = catalogue_module.load()

    def get_dependency(self, worker_ctx):
        return self.catalogue


@functools.cache
def _payload_schema(schema: type) -> object:
    return schema(unknown=EXCLUDE)


class IndicatorsService:
    name = "indicators"

    db = Database(metadata)
    dead_letters = DeadLetters()
    caller = CallerIdentity()
    clock = Clock()
    metrics = EntrypointMetrics()
    catalogue = CatalogueProvider()

    # -- reads -------------------------------------------------------------------------------

    def _reader(self):
        identity = self.caller.current
        views.authorise_read(identity)
        return identity

    @rpc
    def list_catalogue(self):
        self._reader()
        with self.db.session() as session:
            return views.catalogue_view(session, self.catalogue)

    @rpc
    def series(self, code, query):
        identity = self._reader()
        data = validated(SERIES, query)
        with self.db.session() as session:
            return views.series(session, self.catalogue, identity, code, data)

    @rpc
    def series_csv(self, code, query):
        identity = self._reader()
        data = validated(SERIES, query)
        with self.db.session() as session:
            return views.series_csv(views.series(session, self.catalogue, identity, code, data))

    @rpc
    def dashboard(self, query):
        identity = self._reader()
        data = validated(DASHBOARD, query)
        with self.db.session() as session:
            return views.dashboard(session, self.catalogue, identity, data)

    @rpc
    def compare(self, code, query):
        identity = self._reader()
        data = validated(COMPARE, query)
        with self.db.session() as session:
            return views.compare_antennas(session, self.catalogue, identity, code,
                                          data["commune"], data["from"], data.get("to"))

    @rpc
    def evaluation(self, query):
        identity = self._reader()
        data = validated(EVALUATION, query)
        with self.db.session() as session:
            return views.target_vs_actual(session, self.catalogue, identity, data["year"],
                                          data.get("antenna"))

    @rpc
    def evaluation_xlsx(self, query):
        """The workbook, base64 (RPC carries JSON)."""
        identity = self._reader()
        data = validated(EVALUATION, query)
        with self.db.session() as session:
            content = views.evaluation_xlsx(session, self.catalogue, identity, data["year"],
                                            self.clock())
        return base64.b64encode(content).decode()

    @rpc
    def target(self, code):
        self._reader()
        indicator = views.indicator_or_404(self.catalogue, code)
        with self.db.session() as session:
            return {"indicator": code, "target": views.current_target(session, indicator),
                    "history": views.target_history(session, code)}

    @rpc
    def set_target(self, code, payload):
        identity = self.caller.current
        if not policy.may_set_target(identity.role):
            raise Forbidden("Only the coordinator sets the plan's targets.")
        indicator = views.indicator_or_404(self.catalogue, code)
        data = validated(TARGET, payload)
        with self.db.unit_of_work() as uow:
            answer = use_cases.set_target(uow, identity, code, data["target"], indicator.target,
                                          self.clock())
            uow.commit()
        return answer

    @rpc
    def set_aside(self, query):
        identity = self.caller.current
        views.authorise_operations(identity)
        data = validated(SET_ASIDE_QUERY, query)
        with self.db.session() as session:
            return {**views.set_aside_page(session, data), **views.store_status(session)}

    # -- every event -------------------------------------------------------------------------

    def _receive_batch(self, source: str, method: str, items) -> dict:
        """A batch of deliveries from one source's queue: each is checked on its own (a bad one
        is dead-lettered, the others go on), duplicates within the batch and events already
        claimed change nothing, and the rest is claimed, stored and projected in ONE
        transaction. If that transaction fails, the events are applied one at a time, each in
        its own transaction with its own retries and dead letter, so one bad event costs the
        batch its speed, never the others their effect. Returns counts by outcome."""
        name = self.name
        consumer = f"{name}.{method}"
        queue = topology.event_queue_name(source, EVERY_EVENT, name, method)
        counts = {"processed": 0, "set_aside": 0, "duplicate": 0, "refused": 0,
                  "one_at_a_time": 0}
        admitted: dict[str, _Admitted] = {}
        for body, delivery in items:
            one = self._admit(source, consumer, queue, body, delivery)
            if one is None:
                counts["refused"] += 1
            elif one.claimed.event_id in admitted:
                self._outcome(consumer, one.event_type, "duplicate")
                counts["duplicate"] += 1
            else:
                admitted[one.claimed.event_id] = one
        if not admitted:
            return counts
        fresh: list[_Admitted] = []
        try:
            now = self.clock()
            with self.db.unit_of_work(f"batch:{consumer}") as uow:
                claimed = uow.claim_many(consumer, list(admitted))
                fresh = [one for event_id, one in admitted.items() if event_id in claimed]
                use_cases.record_many(uow, self.catalogue, [
                    (one.event, one.payload()) for one in fresh if one.event is not None], now)
                for one in fresh:
                    if one.event is None:
                        use_cases.set_aside(uow, one.body, one.reason or "unreadable", now)
                uow.commit()
        except Exception as exc:
            log.warning("%s: a batch of %d failed (%s: %s); applying them one at a time",
                        consumer, len(admitted), type(exc).__name__, exc)
            for one in admitted.values():
                self._apply_one(source, consumer, queue, one)
            counts["one_at_a_time"] = len(admitted)
            return counts
        for event_id, one in admitted.items():
            if event_id not in claimed:
                self._outcome(consumer, one.event_type, "duplicate")
                counts["duplicate"] += 1
            else:
                self._applied(source, consumer, one)
                counts["set_aside" if one.event is None else "processed"] += 1
        return counts

    def _receive(self, source: str, method: str, body, delivery: Delivery) -> None:
        """One delivery, in its own transaction."""
        consumer = f"{self.name}.{method}"
        queue = topology.event_queue_name(source, EVERY_EVENT, self.name, method)
        one = self._admit(source, consumer, queue, body, delivery)
        if one is not None:
            self._apply_one(source, consumer, queue, one)

    def _outcome(self, consumer: str, event_type: str, label: str) -> None:
        metrics.EVENTS_CONSUMED.labels(self.name, consumer, event_type, label).inc()

    def _dead_letter(self, source: str, consumer: str, queue: str, event_type: str, body,
                     delivery: Delivery, reason: str, label: str) -> None:
        parked = delivery.replays > 0
        log.error("%s: %s: %s", consumer, "parking" if parked else "dead-lettering", reason)
        self.dead_letters.send(letter_for(consumer, queue, source, event_type, reason,
                                          delivery, body=body), parked=parked)
        self._outcome(consumer, event_type, "parked" if parked else label)

    def _admit(self, source: str, consumer: str, queue: str, body,
               delivery: Delivery) -> "_Admitted | None":
        """The delivery's envelope read and believed (shared.handlers.check_delivery: exchange,
        broker user, antenna), its event parsed, or the reason it cannot be (to set it aside);
        None when it was dead-lettered instead."""
        event_type = str(body.get("event_type")) if isinstance(body, dict) else "?"
        try:
            event: events.Event | None = events.parse(body)
            claimed, reason = event, None
        except (events.UnknownEventType, ValidationError, TypeError) as exc:
            event, reason = None, f"{type(exc).__name__}: {exc}"
            try:
                envelope = events.EnvelopeSchema().load(body)
            except (ValidationError, TypeError) as invalid:
                self._dead_letter(source, consumer, queue, event_type, body, delivery,
                                  f"invalid envelope: {invalid}", "invalid")
                return None
            claimed = events.Event(str(envelope["event_id"]), envelope["event_type"],
                                   envelope["schema_version"], envelope["occurred_at"],
                                   envelope["source"], envelope["antenna_id"],
                                   envelope["correlation_id"], envelope["payload"])
        assert claimed is not None
        try:
            check_delivery(self.name, source, claimed.event_type, claimed, delivery)
        except events.Rejected as exc:
            self._dead_letter(source, consumer, queue, event_type, body, delivery,
                              f"rejected: {exc}", "rejected")
            return None
        return _Admitted(body, delivery, claimed, event, reason, event_type)

    def _applied(self, source: str, consumer: str, one: "_Admitted") -> None:
        if one.event is None:
            SET_ASIDE.labels(self.name, source, one.event_type[:100]).inc()
            log.warning("%s: set aside %s.%s v%s: %s", consumer, source, one.event_type,
                        one.claimed.schema_version, one.reason)
            self._outcome(consumer, one.event_type, "set_aside")
        else:
            RECORDED.labels(self.name, source, one.event_type).inc()
            self._outcome(consumer, one.event_type, "processed")

    def _apply_one(self, source: str, consumer: str, queue: str, one: "_Admitted") -> None:
        """Claim, then record or set aside one admitted event in its own transaction; a
        transient failure sends it back through the delay queues, any other to the dead
        letters."""
        delivery = one.delivery
        try:
            with self.db.unit_of_work(one.claimed.correlation_id) as uow:
                if not uow.claim(consumer, one.claimed.event_id):
                    self._outcome(consumer, one.event_type, "duplicate")
                    return
                now = self.clock()
                if one.event is not None:
                    use_cases.record(uow, self.catalogue, one.event, one.payload(), now)
                else:
                    use_cases.set_aside(uow, one.body, one.reason or "unreadable", now)
                uow.commit()
            self._applied(source, consumer, one)
        except TRANSIENT_ERRORS as exc:
            delays = config.event_retry_delays()
            if delivery.attempt < len(delays):
                self.dead_letters.retry_later(queue, one.body, delivery,
                                              delays[delivery.attempt])
                log.warning("%s: retry %d after %s", consumer, delivery.attempt + 1, exc)
                self._outcome(consumer, one.event_type, "retried")
            else:
                self._dead_letter(source, consumer, queue, one.event_type, one.body, delivery,
                                  f"gave up after {delivery.attempt} retries: "
                                  f"{traceback.format_exc()}", "dead_lettered")
        except Exception:
            self._dead_letter(source, consumer, queue, one.event_type, one.body, delivery,
                              traceback.format_exc(), "dead_lettered")


@dataclass(frozen=True)
class _Admitted:
    """A delivery that passed the trust checks: its event, or why it is to be set aside."""
    body: dict
    delivery: Delivery
    claimed: events.Event            # what the envelope claims (payload unvalidated)
    event: events.Event | None       # parsed and upcast; None: set it aside
    reason: str | None
    event_type: str

    def payload(self) -> dict:
        assert self.event is not None
        _, schema = events.EVENT_TYPES[(self.event.source, self.event.event_type)]
        return _payload_schema(schema).dump(self.event.payload)


def batch_settings() -> tuple[int, float]:
    """The live consumer's batch: at most LISA_INDICATORS_BATCH_SIZE events, gathered for at
    most LISA_INDICATORS_BATCH_WAIT_MS after the first."""
    return max(1, BATCH_SIZE.integer()), max(0.0, BATCH_WAIT_MS.number()) / 1000


def _every_event_of(source: str, method: str):
    @BatchedEventHandler.decorator(source, EVERY_EVENT, batch=batch_settings)
    def entrypoint(self, items):
        return self._receive_batch(source, method, items)

    entrypoint.__name__ = method
    return entrypoint


def handler_name(source: str) -> str:
    return f"on_{source}_event"


def consuming(sources: tuple[str, ...]) -> type:
    """The service class with one consumer of every event of each of `sources`."""
    handlers = {handler_name(s): _every_event_of(s, handler_name(s)) for s in sources}
    return type("IndicatorsService", (IndicatorsService,), handlers)


IndicatorsOps = ops_service("indicators", metadata)
