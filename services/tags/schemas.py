"""marshmallow schemas of the tags service's RPC payloads (and its part of the REST API)."""
from marshmallow import Schema, fields, post_load, validate

from services.tags import domain
from shared.fields import RecordId
from shared.location import LocationSchema
from shared.paging import PageQuerySchema, page_schema

PHOTO_REFERENCE = validate.Regexp(r"^[A-Za-z0-9._:/-]{1,200}$",
                                  error="A photo reference (file name or URL path).")


class JobDetailsSchema(Schema):
    surface = fields.String(required=True, validate=validate.OneOf(domain.SURFACES))
    area_m2 = fields.Float(required=True, validate=validate.Range(
        min=0, min_inclusive=False, max=domain.MAX_AREA_M2))
    height_m = fields.Float(load_default=0.0, validate=validate.Range(
        min=0, max=domain.MAX_HEIGHT_M))
    ownership = fields.String(required=True, validate=validate.OneOf(domain.OWNERSHIPS))
    content = fields.String(load_default="ordinary", validate=validate.OneOf(domain.CONTENTS))
    photos = fields.List(fields.String(validate=PHOTO_REFERENCE), load_default=list,
                         validate=validate.Length(max=20))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class CreateJobSchema(JobDetailsSchema):
    site = fields.Nested(LocationSchema, required=True)


class AssessJobSchema(Schema):
    """What the crew learns on site: every field optional."""
    surface = fields.String(validate=validate.OneOf(domain.SURFACES))
    area_m2 = fields.Float(validate=validate.Range(min=0, min_inclusive=False,
                                                   max=domain.MAX_AREA_M2))
    height_m = fields.Float(validate=validate.Range(min=0, max=domain.MAX_HEIGHT_M))
    ownership = fields.String(validate=validate.OneOf(domain.OWNERSHIPS))
    content = fields.String(validate=validate.OneOf(domain.CONTENTS))
    photos = fields.List(fields.String(validate=PHOTO_REFERENCE),
                         validate=validate.Length(max=20))
    notes = fields.String(allow_none=True, validate=validate.Length(max=2000))


PHONE = validate.Regexp(r"^\+?[0-9 ./()-]{6,30}$")


class OwnerConsentSchema(Schema):
    owner = fields.String(required=True, validate=validate.Length(min=2, max=200),
                          metadata={"description": "Who signed the waiver."})
    phone = fields.String(load_default=None, allow_none=True, validate=PHONE,
                          metadata={"description": "The owner's, to reach them."})
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=200))
    given_at = fields.AwareDateTime(required=True)
    waiver_reference = fields.String(required=True, validate=validate.Length(min=1, max=100))


class ScheduleSchema(Schema):
    date = fields.Date(required=True)
    crew = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                       load_default=list, validate=validate.Length(max=10))


class CompleteSchema(Schema):
    removed_m2 = fields.Float(required=True, validate=validate.Range(
        min=0, min_inclusive=False, max=domain.MAX_AREA_M2))
    method = fields.String(required=True, validate=validate.OneOf(domain.METHODS))
    minutes_spent = fields.Integer(required=True, validate=validate.Range(min=1, max=960))
    crew = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                       validate=validate.Length(min=1, max=10))


class CancelSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=300))


class JobQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(domain.STATUSES))
    neighbourhood = fields.String(validate=validate.Length(max=100),
                                  metadata={"description": "Any case."})
    ownership = fields.String(validate=validate.OneOf(domain.OWNERSHIPS))
    content = fields.String(validate=validate.OneOf(domain.CONTENTS))
    incident_id = RecordId()
    overdue = fields.Boolean()
    recurrence = fields.Boolean()
    scheduled_for = fields.Date()


class PlanQuerySchema(Schema):
    date = fields.Date(required=True)
    crew = fields.String(load_default=None, validate=validate.Length(min=1, max=500),
                         metadata={"description": "Comma-separated names of the members "
                                                  "to plan for; default: the active members "
                                                  "not absent that day."})
    anyway = fields.Boolean(load_default=False, metadata={
        "description": "Plan a weekend day or a public holiday all the same (otherwise its "
                       "plan is empty and says why)."})

    @post_load
    def split_crew(self, data, **kwargs):
        if data.get("crew") is not None:
            data["crew"] = [name.strip() for name in data["crew"].split(",") if name.strip()]
        return data


# -- outputs ----------------------------------------------------------------------------------
# Every field an answer always carries is `required`, nested values have their own schema.

class SiteSchema(Schema):
    id = fields.Integer(required=True)
    address = fields.String(required=True)
    lat = fields.Float(required=True, allow_none=True)
    lon = fields.Float(required=True, allow_none=True)
    neighbourhood = fields.String(required=True, allow_none=True)
    removals = fields.Integer(required=True)
    last_removal_at = fields.DateTime(required=True, allow_none=True)


class JobHistorySchema(Schema):
    from_status = fields.String(required=True, allow_none=True)
    to_status = fields.String(required=True)
    actor = fields.String(required=True)
    actor_role = fields.String(required=True)
    at = fields.DateTime(required=True)
    note = fields.String(required=True, allow_none=True)


class OwnerContactSchema(Schema):
    name = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)


class OwnerConsentViewSchema(Schema):
    given_at = fields.DateTime(required=True)
    waiver_reference = fields.String(required=True)
    recorded_by = fields.String(required=True, allow_none=True)
    owner = fields.Nested(OwnerContactSchema, required=True, allow_none=True, metadata={
        "description": "In the view of one job, for the crew and the coordinator; every "
                       "such read is logged."})


class CompletionViewSchema(Schema):
    removed_m2 = fields.Float(required=True)
    method = fields.String(required=True, validate=validate.OneOf(domain.METHODS))
    minutes_spent = fields.Integer(required=True)
    crew = fields.List(fields.String(), required=True)
    completed_at = fields.DateTime(required=True)


class JobSchema(Schema):
    id = fields.Integer(required=True)
    incident_id = fields.Integer(required=True, allow_none=True)
    site = fields.Nested(SiteSchema, required=True)
    surface = fields.String(required=True, validate=validate.OneOf(domain.SURFACES))
    area_m2 = fields.Float(required=True)
    height_m = fields.Float(required=True)
    needs_equipment = fields.Boolean(required=True)
    ownership = fields.String(required=True, validate=validate.OneOf(domain.OWNERSHIPS))
    content = fields.String(required=True, validate=validate.OneOf(domain.CONTENTS))
    photos = fields.List(fields.String(), required=True)
    notes = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(domain.STATUSES))
    priority = fields.Integer(required=True)
    due_at = fields.DateTime(required=True, allow_none=True)
    overdue = fields.Boolean(required=True)
    recurrence = fields.Boolean(required=True)
    estimated_minutes = fields.Integer(required=True)
    consent = fields.Nested(OwnerConsentViewSchema, required=True, allow_none=True)
    scheduled_for = fields.Date(required=True, allow_none=True)
    scheduled_crew = fields.List(fields.String(), required=True)
    completion = fields.Nested(CompletionViewSchema, required=True, allow_none=True)
    reject_reason = fields.String(required=True, allow_none=True)
    cancel_reason = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    history = fields.List(fields.Nested(JobHistorySchema),
                          metadata={"description": "In the view of one job."})


JobPageSchema = page_schema("JobPageSchema", JobSchema, open_m2=fields.Float(required=True))


class PlanVisitSchema(Schema):
    order = fields.Integer(required=True)
    job_id = fields.Integer(required=True)
    neighbourhood = fields.String(required=True, allow_none=True)
    address = fields.String(required=True)
    start = fields.String(required=True, metadata={"description": "HH:MM, Brussels time."})
    travel_minutes = fields.Integer(required=True)
    on_site_minutes = fields.Integer(required=True)
    area_m2 = fields.Float(required=True)
    priority = fields.Integer(required=True)
    due_at = fields.String(required=True, allow_none=True,
                           metadata={"description": "ISO 8601 date and time."})
    same_site_as = fields.List(fields.Integer(), required=True, metadata={
        "description": "Other visits of this plan at the same site: maybe one graffiti "
                       "reported twice; check before doing the work twice."})


class LeftOutSchema(Schema):
    job_id = fields.Integer(required=True)
    reason = fields.String(required=True)


class PlanSchema(Schema):
    date = fields.Date(required=True)
    working_day = fields.Boolean(required=True)
    message = fields.String(required=True, allow_none=True, metadata={
        "description": "Why a day is not a working day, and what was done about it."})
    crew = fields.List(fields.String(), required=True)
    visits = fields.List(fields.Nested(PlanVisitSchema), required=True)
    left_out = fields.List(fields.Nested(LeftOutSchema), required=True)
    minutes_available = fields.Integer(required=True)
    minutes_planned = fields.Integer(required=True)
    travel_minutes = fields.Integer(required=True)
    m2_capacity = fields.Float(required=True)
    m2_planned = fields.Float(required=True)


# -- the crew -----------------------------------------------------------------------------------

class NewCrewMemberSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    hours_per_day = fields.Float(load_default=7.6, validate=validate.Range(
        min=0, min_inclusive=False, max=12))


class AbsenceSchema(Schema):
    first_day = fields.Date(required=True)
    last_day = fields.Date(required=True)


class AbsenceViewSchema(Schema):
    id = fields.Integer(required=True)
    first_day = fields.Date(required=True)
    last_day = fields.Date(required=True)


class CrewMemberSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    hours_per_day = fields.Float(required=True)
    active = fields.Boolean(required=True)
    absences = fields.List(fields.Nested(AbsenceViewSchema), required=True,
                           metadata={"description": "Those not over yet."})


class DeactivateSchema(Schema):
    """No body: the member named in the path leaves the crew."""


# -- who read an owner's contact ----------------------------------------------------------------

class OwnerContactAccessSchema(Schema):
    user = fields.String(required=True)
    role = fields.String(required=True)
    organisation = fields.String(required=True)
    purpose = fields.String(required=True)
    at = fields.DateTime(required=True)


class OwnerContactAccessQuerySchema(PageQuerySchema):
    pass


OwnerContactAccessPageSchema = page_schema("OwnerContactAccessPageSchema",
                                           OwnerContactAccessSchema)
