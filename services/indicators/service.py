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
"""
import base64
import functools
import logging
import traceback

from marshmallow import EXCLUDE, ValidationError
from nameko.extensions import DependencyProvider
from prometheus_client import Counter

from services.indicators import catalogue as catalogue_module
from services.indicators import policy, schemas, use_cases, views
from services.indicators.models import metadata
from shared import config, events, metrics, topology
from shared.db import Database
from shared.dependencies import CallerIdentity, Clock, EntrypointMetrics
from shared.errors import Forbidden, validated
from shared.handlers import (
    TRANSIENT_ERRORS,
    DeadLetters,
    Delivery,
    TrustedEventHandler,
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

    def _receive(self, source: str, method: str, body, delivery: Delivery) -> None:
        name = self.name
        consumer = f"{name}.{method}"
        queue = topology.event_queue_name(source, EVERY_EVENT, name, method)
        event_type = str(body.get("event_type")) if isinstance(body, dict) else "?"

        def outcome(label):
            metrics.EVENTS_CONSUMED.labels(name, consumer, event_type, label).inc()

        def dead_letter(reason, label):
            parked = delivery.replays > 0
            log.error("%s: %s: %s", consumer, "parking" if parked else "dead-lettering", reason)
            self.dead_letters.send(letter_for(consumer, queue, source, event_type, reason,
                                              delivery, body=body), parked=parked)
            outcome("parked" if parked else label)

        try:
            envelope = events.EnvelopeSchema().load(body)
        except (ValidationError, TypeError) as exc:
            dead_letter(f"invalid envelope: {exc}", "invalid")
            return
        claimed = events.Event(str(envelope["event_id"]), envelope["event_type"],
                               envelope["schema_version"], envelope["occurred_at"],
                               envelope["source"], envelope["antenna_id"],
                               envelope["correlation_id"], envelope["payload"])
        try:
            check_delivery(name, source, claimed.event_type, claimed, delivery)
            if self.db.is_processed(consumer, claimed.event_id):
                outcome("duplicate")
                return
            try:
                event, reason = events.parse(body), None
            except (events.UnknownEventType, ValidationError) as exc:
                event, reason = None, f"{type(exc).__name__}: {exc}"
            now = self.clock()
            with self.db.unit_of_work(claimed.correlation_id) as uow:
                if not uow.claim(consumer, claimed.event_id):
                    outcome("duplicate")
                    return
                if event is not None:
                    _, schema = events.EVENT_TYPES[(event.source, event.event_type)]
                    payload = _payload_schema(schema).dump(event.payload)
                    use_cases.record(uow, self.catalogue, event, payload, now)
                else:
                    use_cases.set_aside(uow, body, reason or "unreadable", now)
                uow.commit()
            if event is None:
                SET_ASIDE.labels(name, source, event_type[:100]).inc()
                log.warning("%s: set aside %s.%s v%s: %s", consumer, source, event_type,
                            claimed.schema_version, reason)
                outcome("set_aside")
            else:
                RECORDED.labels(name, source, event_type).inc()
                outcome("processed")
        except events.Rejected as exc:
            dead_letter(f"rejected: {exc}", "rejected")
        except TRANSIENT_ERRORS as exc:
            delays = config.event_retry_delays()
            if delivery.attempt < len(delays):
                self.dead_letters.retry_later(queue, body, delivery, delays[delivery.attempt])
                log.warning("%s: retry %d after %s", consumer, delivery.attempt + 1, exc)
                outcome("retried")
            else:
                dead_letter(f"gave up after {delivery.attempt} retries: "
                            f"{traceback.format_exc()}", "dead_lettered")
        except Exception:
            dead_letter(traceback.format_exc(), "dead_lettered")


def _every_event_of(source: str, method: str):
    @TrustedEventHandler.decorator(source, EVERY_EVENT)
    def entrypoint(self, body, delivery: Delivery):
        self._receive(source, method, body, delivery)

    entrypoint.__name__ = method
    return entrypoint


def handler_name(source: str) -> str:
    return f"on_{source}_event"


def consuming(sources: tuple[str, ...]) -> type:
    """The service class with one consumer of every event of each of `sources`."""
    handlers = {handler_name(s): _every_event_of(s, handler_name(s)) for s in sources}
    return type("IndicatorsService", (IndicatorsService,), handlers)


IndicatorsOps = ops_service("indicators", metadata)
