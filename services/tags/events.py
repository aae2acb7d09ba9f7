"""The events the tags service publishes, and their payloads: a removal job's identifiers and
facts (site, surface, m2, dates), never an owner's name."""
from marshmallow import fields

from shared.events import PayloadSchema


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


# event type -> (current schema version, payload schema)
PUBLISHES = {
    "job_created": (1, JobCreated),
    "job_scheduled": (1, JobScheduled),
    "job_completed": (1, JobCompleted),
    "job_cancelled": (1, JobCancelled),
    "job_rejected": (1, JobRejected),
}
