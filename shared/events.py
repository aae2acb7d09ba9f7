"""The event envelope and one marshmallow schema per event type.

Every event on the bus is an envelope (DESIGN.md section 3) validated when it is written to the
outbox and again when it is consumed. Payloads carry identifiers and category-level facts only:
no citizen free text, no names, no referral content; the bus is shared by all partners.

Consumers are tolerant readers (unknown fields are dropped); an event of an older schema version
is brought up to date by the upcasters registered for it before the payload is validated.
"""
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

ZONES = ("public_space", "social")
CHANNELS = ("desk", "phone", "email", "warden", "street_worker", "police", "open311")


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


class IncidentFacts(PayloadSchema):
    incident_id = fields.Integer(required=True)
    ticket = fields.String(required=True)
    category = fields.String(required=True)
    parent_category = fields.String(required=True)
    phenomenon = fields.String(allow_none=True, load_default=None)
    zone = fields.String(required=True, validate=validate.OneOf(ZONES))
    partner = fields.String(required=True)
    neighbourhood = fields.String(allow_none=True, load_default=None)


class IncidentReported(IncidentFacts):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    reported_at = fields.AwareDateTime(required=True)
    sla_due_at = fields.AwareDateTime(required=True)


class IncidentTriaged(IncidentFacts):
    triaged_at = fields.AwareDateTime(required=True)
    sla_due_at = fields.AwareDateTime(required=True)


class IncidentStatusChanged(IncidentFacts):
    from_status = fields.String(required=True)
    to_status = fields.String(required=True)
    duplicate_of = fields.Integer(allow_none=True, load_default=None)
    changed_at = fields.AwareDateTime(required=True)


class IncidentClosed(IncidentFacts):
    final_status = fields.String(required=True)
    reported_at = fields.AwareDateTime(required=True)
    closed_at = fields.AwareDateTime(required=True)
    within_sla = fields.Boolean(required=True)


class JobFacts(PayloadSchema):
    job_id = fields.Integer(required=True)
    incident_id = fields.Integer(allow_none=True, load_default=None)
    site_id = fields.Integer(required=True)
    neighbourhood = fields.String(allow_none=True, load_default=None)
    surface = fields.String(required=True)
    ownership = fields.String(required=True)
    content = fields.String(required=True)
    area_m2 = fields.Float(required=True)
    priority = fields.Integer(required=True)
    due_at = fields.AwareDateTime(allow_none=True, load_default=None)
    recurrence = fields.Boolean(required=True)


class JobCreated(JobFacts):
    status = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


class JobScheduled(JobFacts):
    scheduled_for = fields.Date(required=True)
    crew_size = fields.Integer(required=True)


class JobCompleted(JobFacts):
    removed_m2 = fields.Float(required=True)
    method = fields.String(required=True)
    minutes_spent = fields.Integer(required=True)
    completed_at = fields.AwareDateTime(required=True)
    within_deadline = fields.Boolean(allow_none=True, load_default=None)


class JobCancelled(JobFacts):
    from_status = fields.String(required=True)
    cancelled_at = fields.AwareDateTime(required=True)


class JobRejected(JobFacts):
    reason_code = fields.String(required=True)
    rejected_at = fields.AwareDateTime(required=True)


class ReferralFacts(PayloadSchema):
    """Ids, organisations, reason, urgency, status and time: never the message, the client key
    or any identity."""
    referral_id = fields.Integer(required=True)
    sender_org = fields.String(required=True)
    receiver_org = fields.String(required=True)
    receiver_service = fields.String(required=True)
    subject = fields.String(required=True)
    reason = fields.String(required=True)
    urgency = fields.String(required=True)
    status = fields.String(required=True)
    at = fields.AwareDateTime(required=True)


class ReferralClosed(ReferralFacts):
    outcome = fields.String(allow_none=True, load_default=None)
    successful = fields.Boolean(required=True)


# (source, event_type) -> (current schema version, payload schema)
EVENT_TYPES: dict[tuple[str, str], tuple[int, type[PayloadSchema]]] = {
    ("incidents", "incident_reported"): (1, IncidentReported),
    ("incidents", "incident_triaged"): (1, IncidentTriaged),
    ("incidents", "incident_status_changed"): (1, IncidentStatusChanged),
    ("incidents", "incident_closed"): (1, IncidentClosed),
    ("tags", "job_created"): (1, JobCreated),
    ("tags", "job_scheduled"): (1, JobScheduled),
    ("tags", "job_completed"): (1, JobCompleted),
    ("tags", "job_cancelled"): (1, JobCancelled),
    ("tags", "job_rejected"): (1, JobRejected),
    ("referrals", "referral_sent"): (1, ReferralFacts),
    ("referrals", "referral_accepted"): (1, ReferralFacts),
    ("referrals", "referral_declined"): (1, ReferralFacts),
    ("referrals", "referral_contact_made"): (1, ReferralFacts),
    ("referrals", "referral_closed"): (1, ReferralClosed),
}

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
