"""The events the patrols service publishes: identifiers, places and counts, never a warden's
name nor anything about a person (the wardens signal places, they do not investigate)."""
from marshmallow import fields

from shared.events import PayloadSchema


class RosterPublished(PayloadSchema):
    roster_id = fields.Integer(required=True)
    first_day = fields.Date(required=True)
    last_day = fields.Date(required=True)
    slots = fields.Integer(required=True)
    warden_slots_required = fields.Integer(required=True)
    warden_slots_covered = fields.Integer(required=True)
    uncovered_slots = fields.Integer(required=True)
    published_at = fields.AwareDateTime(required=True)


class PatrolCompleted(PayloadSchema):
    log_id = fields.Integer(required=True)
    post_id = fields.Integer(required=True)
    post_kind = fields.String(required=True)
    neighbourhood = fields.String(allow_none=True, load_default=None)
    minutes = fields.Integer(required=True)
    observations = fields.Integer(required=True)
    ended_at = fields.AwareDateTime(required=True)


class ObservationLogged(PayloadSchema):
    observation_id = fields.Integer(required=True)
    log_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    category = fields.String(required=True)      # an incidents sub-category code
    post_id = fields.Integer(required=True)
    address = fields.String(required=True)
    neighbourhood = fields.String(allow_none=True, load_default=None)
    lat = fields.Float(allow_none=True, load_default=None)
    lon = fields.Float(allow_none=True, load_default=None)
    observed_at = fields.AwareDateTime(required=True)


# event type -> (current schema version, payload schema)
PUBLISHES = {
    "roster_published": (1, RosterPublished),
    "patrol_completed": (1, PatrolCompleted),
    "observation_logged": (1, ObservationLogged),
}
