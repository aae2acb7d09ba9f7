"""Prometheus metrics: every entrypoint, HTTP responses, events published and consumed, outbox
backlog, and each service's business gauges.

One process-wide registry (prometheus_client's default), so the embedded platform serves all
services on one merged /metrics page and each distributed process its own. The conventions
(docs/adr/0024-metrics-conventions-and-scrape-time-gauges.md), checked by
tests/service/test_metrics_conventions.py:
- every platform metric carries a `service` label: the process-wide registry is merged in
  embedded mode, and a dashboard must tell the gateway's numbers from the incidents service's;
- names are `lisa_<what>_<unit>` in base units (seconds, bytes, m2), counters end in `_total`;
- an HTTP route is labelled with its OpenAPI path (`/api/v1/incidents/{key}`), never the
  requested URL (one series per route, not one per incident);
- a business number (open incidents, m2 removed this year) is read from the service's own
  database when Prometheus scrapes (`ScrapeTimeCollector`), so it is true after a restart and
  never stale, rather than counted in a process that forgets it on restart.
"""
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

ENTRYPOINT_CALLS = Counter(
    "lisa_entrypoint_calls_total", "Entrypoint invocations by outcome.",
    ["service", "entrypoint", "outcome"],
)
ENTRYPOINT_LATENCY = Histogram(
    "lisa_entrypoint_latency_seconds", "Entrypoint duration.", ["service", "entrypoint"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "lisa_events_published_total", "Events published by the outbox relay (broker-confirmed).",
    ["service", "event_type"],
)
EVENTS_CONSUMED = Counter(
    "lisa_events_consumed_total", "Events received by consumers, by outcome.",
    ["service", "consumer", "event_type", "outcome"],
)
OUTBOX_BACKLOG = Gauge(
    "lisa_outbox_backlog", "Outbox rows not yet published.", ["service"],
)
OUTBOX_UNROUTABLE = Counter(
    "lisa_outbox_unroutable_total",
    "Events the broker returned as unroutable (no queue bound for their type)",
    ["service", "event_type"])
OUTBOX_PUBLISH_ERRORS = Counter(
    "lisa_outbox_publish_errors_total", "Failed outbox publish attempts.", ["service"],
)
HTTP_REQUESTS = Counter(
    "lisa_http_requests_total", "HTTP responses of the REST API, by OpenAPI route and status.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "lisa_http_request_duration_seconds",
    "Time from the request reaching the REST API to its answer, by OpenAPI route.",
    ["service", "method", "route"], buckets=LATENCY_BUCKETS,
)


def outcome(exc_info) -> str:
    """success; rejected (a typed LisaError: the caller's mistake or a refusal); error (a bug)."""
    from shared.errors import LisaError

    if not exc_info:
        return "success"
    return "rejected" if isinstance(exc_info[1], LisaError) else "error"


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


# -- numbers read when Prometheus scrapes ------------------------------------------------------

@dataclass(frozen=True)
class Family:
    """A metric a service reports from its own data, declared once beside the query that reads
    it; the `service` label is added to `labels`. A family is exported even when it has no
    rows, so dashboards and alert rules can be checked against what the platform exports."""

    name: str
    documentation: str
    labels: tuple[str, ...] = ()
    kind: str = "gauge"   # or "counter" (its name ends in _total)

    def rows(self, rows: Iterable[Sequence]) -> "Reading":
        """`rows`: label values in the order of `labels`, then the value (a query's rows)."""
        return Reading(self, [(tuple(str(v) for v in row[:-1]), float(row[-1] or 0))
                              for row in rows])

    def value(self, value: float, *label_values: str) -> "Reading":
        return Reading(self, [(tuple(label_values), float(value))])


@dataclass(frozen=True)
class Reading:
    family: Family
    rows: list[tuple[tuple[str, ...], float]] = field(default_factory=list)


class ScrapeTimeCollector(Collector):
    """Calls `read()` on every scrape and reports its readings with `service` set. A failing
    read (database or broker away) is logged and reported as `lisa_scrape_read_ok{service,
    source} 0`, never as an error page: the platform's other numbers stay visible, and an alert
    can say which source failed."""

    def __init__(self, service: str, source: str, read: Callable[[], Iterable[Reading]]):
        self.service, self.source, self.read = service, source, read

    def describe(self):
        return []  # reading the data is what a scrape does; registration reads nothing

    def collect(self):
        ok = GaugeMetricFamily("lisa_scrape_read_ok",
                               "1 when the numbers of this source were read for this scrape.",
                               labels=["service", "source"])
        try:
            readings = list(self.read())
        except Exception as exc:  # noqa: BLE001  (a scrape reports, it does not fail)
            log.warning("%s: could not read the %s numbers: %s: %s", self.service, self.source,
                        type(exc).__name__, exc)
            ok.add_metric([self.service, self.source], 0)
            yield ok
            return
        ok.add_metric([self.service, self.source], 1)
        yield ok
        yield from families(self.service, readings)


def families(service: str, readings: Iterable[Reading]):
    """Readings as prometheus_client metric families, the `service` label first; readings of
    one family (several queries) are merged."""
    merged: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}
    for reading in readings:
        family = reading.family
        exported = merged.get(family.name)
        if exported is None:
            names = ["service", *family.labels]
            if family.kind == "counter":
                exported = CounterMetricFamily(family.name.removesuffix("_total"),
                                               family.documentation, labels=names)
            else:
                exported = GaugeMetricFamily(family.name, family.documentation, labels=names)
            merged[family.name] = exported
        for label_values, value in reading.rows:
            exported.add_metric([service, *label_values], value)
    return list(merged.values())


_registered: dict[tuple[str, str], ScrapeTimeCollector] = {}
_registered_lock = threading.Lock()


def register_scrape_time(service: str, source: str,
                         read: Callable[[], Iterable[Reading]]) -> ScrapeTimeCollector:
    """One collector per (service, source) in this process: a service started again in the same
    process (tests, a restarted container) replaces its predecessor's."""
    collector = ScrapeTimeCollector(service, source, read)
    with _registered_lock:
        previous = _registered.pop((service, source), None)
        if previous is not None:
            REGISTRY.unregister(previous)
        REGISTRY.register(collector)
        _registered[(service, source)] = collector
    return collector


def unregister_scrape_time(collector: ScrapeTimeCollector) -> None:
    with _registered_lock:
        key = (collector.service, collector.source)
        if _registered.get(key) is collector:
            REGISTRY.unregister(collector)
            del _registered[key]
