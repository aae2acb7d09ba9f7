"""The events the incidents service publishes, and their payloads: identifiers and
category-level facts, never the citizen's words, name or contact."""
from marshmallow import fields, validate

from shared.events import PayloadSchema

ZONES = ("public_space", "social")
CHANNELS = ("desk", "phone", "email", "warden", "street_worker", "police", "open311")


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


# event type -> (current schema version, payload schema)
PUBLISHES = {
    "incident_reported": (1, IncidentReported),
    "incident_triaged": (1, IncidentTriaged),
    "incident_status_changed": (1, IncidentStatusChanged),
    "incident_closed": (1, IncidentClosed),
}
