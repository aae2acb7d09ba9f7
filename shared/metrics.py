"""Prometheus metrics: every entrypoint, events published and consumed, outbox backlog.

One process-wide registry (prometheus_client's default), labelled by service, so the embedded
platform serves all services on one merged /metrics page and each distributed process its own.
"""
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

ENTRYPOINT_CALLS = Counter(
    "lisa_entrypoint_calls_total", "Entrypoint invocations by outcome.",
    ["service", "entrypoint", "outcome"],
)
ENTRYPOINT_LATENCY = Histogram(
    "lisa_entrypoint_latency_seconds", "Entrypoint duration.", ["service", "entrypoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
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
    "lisa_http_requests_total", "Gateway HTTP responses.", ["method", "route", "status"],
)


def outcome(exc_info) -> str:
    """success; rejected (a typed LisaError: the caller's mistake or a refusal); error (a bug)."""
    from shared.errors import LisaError

    if not exc_info:
        return "success"
    return "rejected" if isinstance(exc_info[1], LisaError) else "error"


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
