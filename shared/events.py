"""The event envelope, the base of every payload schema, and the registry of event types.

Every event on the bus is an envelope (DESIGN.md section 3) validated when it is written to the
outbox and again when it is consumed; each service owns the payload schemas of the events it
publishes (services/<name>/events.py, named by its spec). Payloads carry identifiers and
category-level facts only: no citizen free text, no names, no referral content; the bus is
shared by all partners.

Consumers are tolerant readers (unknown fields are dropped); an event of an older schema version
is brought up to date by the upcasters registered for it before the payload is validated.
"""
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    source = fields.String(required=True, validate=validate.Length(min=1, max=50))
    antenna_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    correlation_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    payload = fields.Dict(required=True)


class PayloadSchema(Schema):
    """Base of every payload: publishers are strict, consumers tolerant (see `parse`)."""

    class Meta:
        unknown = RAISE


# (source, event_type) -> (current schema version, payload schema). Each service declares the
# events it publishes in its own events.py and spec; `register` puts them here when the platform
# loads the registered specs, so a consumer parses any event without importing its publisher.
EVENT_TYPES: dict[tuple[str, str], tuple[int, type[PayloadSchema]]] = {}


class EventTypeClash(ValueError):
    pass


def register(source: str, publishes: dict[str, tuple[int, type[PayloadSchema]]]) -> None:
    """Make `source`'s event types known (again: the same declaration is no change)."""
    for event_type, declared in publishes.items():
        known = EVENT_TYPES.get((source, event_type))
        if known is not None and known != declared:
            raise EventTypeClash(f"{source}.{event_type} is declared twice: {known} and "
                                 f"{declared}")
        EVENT_TYPES[(source, event_type)] = declared


# (event_type, from_version) -> function(payload) returning the payload at from_version + 1
UPCASTERS: dict[tuple[str, int], Callable[[dict], dict]] = {}


class UnknownEventType(ValueError):
    pass


class Rejected(Exception):
    """An event not to be believed or acted on (its facts do not hold): its consumer
    dead-letters it with this reason and never retries it, since retrying cannot make a false
    claim true. Raised by handlers and by the use cases they call."""


@dataclass(frozen=True)
class Event:
    event_id: str
    event_type: str
    schema_version: int
    occurred_at: datetime
    source: str
    antenna_id: str
    correlation_id: str
    payload: dict


def _schema_for(source: str, event_type: str) -> tuple[int, type[PayloadSchema]]:
    try:
        return EVENT_TYPES[(source, event_type)]
    except KeyError:
        raise UnknownEventType(f"{source}.{event_type} is not a known event type") from None


@functools.cache
def _instance(schema: type[Schema], tolerant: bool = False) -> Schema:
    """Schemas are reusable and building one costs more than using it: build each once."""
    return schema(unknown=EXCLUDE) if tolerant else schema()


def build(
    source: str, event_type: str, payload: dict, *, antenna_id: str, correlation_id: str,
    occurred_at: datetime | None = None,
) -> dict:
    """A validated envelope, ready for JSON. Raises ValidationError on a bad payload."""
    version, schema = _schema_for(source, event_type)
    as_json = {k: v.isoformat() if isinstance(v, datetime | date) else v
               for k, v in payload.items()}
    clean = _instance(schema).dump(_instance(schema).load(as_json))
    envelope = {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": version,
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "source": source,
        "antenna_id": antenna_id,
        "correlation_id": correlation_id,
        "payload": clean,
    }
    _instance(EnvelopeSchema).load(envelope)
    return envelope


def parse(body: dict) -> Event:
    """Validate an incoming envelope, upcast its payload, and validate that tolerantly."""
    data = _instance(EnvelopeSchema).load(body)
    version, schema = _schema_for(data["source"], data["event_type"])
    payload = dict(data["payload"])
    at = data["schema_version"]
    if at > version:
        raise ValidationError({"schema_version": [f"Version {at} is newer than {version}."]})
    while at < version:
        upcaster = UPCASTERS.get((data["event_type"], at))
        if upcaster is None:
            raise ValidationError({"schema_version": [f"No upcaster from version {at}."]})
        payload = upcaster(payload)
        at += 1
    payload = _instance(schema, tolerant=True).load(payload)
    return Event(
        event_id=str(data["event_id"]), event_type=data["event_type"], schema_version=version,
        occurred_at=data["occurred_at"], source=data["source"], antenna_id=data["antenna_id"],
        correlation_id=data["correlation_id"], payload=payload,
    )


def exchange_name(source: str) -> str:
    """nameko's event exchange for a source service, so `@event_handler` consumers work."""
    return f"{source}.events"
