"""marshmallow schemas of the patrols service's RPC payloads and answers (and the OpenAPI
document). Unknown fields are refused: a typo in a field name is a 422, not a silent default."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from services.patrols import domain
from shared.paging import PageQuerySchema, page_schema

NAME = validate.Length(min=1, max=120)
SKILLS = fields.List(fields.String(validate=validate.OneOf(domain.SKILLS)), load_default=list,
                     validate=validate.Length(max=len(domain.SKILLS)))
WEEKDAYS = fields.List(fields.Integer(validate=validate.Range(0, 6)), load_default=list,
                       validate=validate.Length(max=7))


class Strict(Schema):
    class Meta:
        unknown = RAISE


class NewPostSchema(Strict):
    name = fields.String(required=True, validate=NAME)
    kind = fields.String(required=True, validate=validate.OneOf(domain.POST_KINDS))
    address = fields.String(load_default=None, allow_none=True,
                            validate=validate.Length(max=300))
    neighbourhood = fields.String(load_default=None, allow_none=True,
                                  validate=validate.Length(max=100))
    lat = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    lon = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-180, 180))
    skills = SKILLS


class PostSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    address = fields.String(allow_none=True)
    neighbourhood = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    skills = fields.List(fields.String())


class NewDemandSchema(Strict):
    post_id = fields.Integer(required=True, strict=True)
    start = fields.Time(required=True)
    end = fields.Time(required=True)
    required = fields.Integer(load_default=domain.DEFAULT_REQUIRED, strict=True,
                              validate=validate.Range(1, 100))
    weekday = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 6))
    on_date = fields.Date(load_default=None, allow_none=True)
    valid_from = fields.Date(load_default=None, allow_none=True)
    valid_to = fields.Date(load_default=None, allow_none=True)
    school_days_only = fields.Boolean(load_default=False)

    @validates_schema
    def weekly_or_once(self, data: dict, **kwargs) -> None:
        if (data.get("weekday") is None) == (data.get("on_date") is None):
            raise ValidationError("Give either a weekday (weekly) or on_date (once).",
                                  "weekday")
        if data.get("valid_from") and data.get("valid_to") and \
                data["valid_to"] < data["valid_from"]:
            raise ValidationError("Ends before it starts.", "valid_to")


class DemandSchema(Schema):
    id = fields.Integer()
    post_id = fields.Integer()
    start = fields.Time()
    end = fields.Time()
    required = fields.Integer()
    weekday = fields.Integer(allow_none=True)
    on_date = fields.Date(allow_none=True)
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    school_days_only = fields.Boolean()


class DemandQuerySchema(PageQuerySchema):
    post_id = fields.Integer(load_default=None)


DemandPageSchema = page_schema("PatrolDemandPageSchema", DemandSchema)


class NewWardenSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    username = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(min=1, max=100))
    contract_hours = fields.Float(required=True, allow_nan=False)
    skills = SKILLS
    desired_days = WEEKDAYS
    undesired_days = WEEKDAYS


class LeavePeriodSchema(Schema):
    first_day = fields.Date()
    last_day = fields.Date()


class WardenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    username = fields.String(allow_none=True)
    contract_hours = fields.Float()
    skills = fields.List(fields.String())
    desired_days = fields.List(fields.Integer())
    undesired_days = fields.List(fields.Integer())
    active = fields.Boolean()
    leave = fields.List(fields.Nested(LeavePeriodSchema))


class LeaveSchema(Strict):
    first_day = fields.Date(required=True)
    last_day = fields.Date(required=True)


class SolveSchema(Strict):
    first_day = fields.Date(required=True)
    last_day = fields.Date(required=True)
    time_limit = fields.Float(load_default=10.0, allow_nan=False,
                              validate=validate.Range(min=0.1, max=30))
    replan = fields.Boolean(load_default=False)
    keep_published = fields.Boolean(load_default=True)


class AssignmentSchema(Schema):
    slot_id = fields.String()
    post_id = fields.Integer()
    post = fields.String()
    warden_id = fields.Integer()
    warden = fields.String()
    start = fields.DateTime()
    end = fields.DateTime()


class RosterSchema(Schema):
    id = fields.Integer()
    first_day = fields.Date()
    last_day = fields.Date()
    status = fields.String()
    method = fields.String()
    solver_status = fields.String()
    objective = fields.Integer()
    bound = fields.Integer(allow_none=True)
    gap = fields.Float(allow_none=True)
    seconds = fields.Float()
    changes = fields.Integer(allow_none=True)
    coverage = fields.Float()
    breakdown = fields.Dict(keys=fields.String(), values=fields.Integer())
    gaps = fields.List(fields.Dict())
    dropped_pins = fields.List(fields.Dict())
    created_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)
    assignments = fields.List(fields.Nested(AssignmentSchema))


class RosterQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None,
                           validate=validate.OneOf(("draft", "published", "superseded")))


RosterPageSchema = page_schema("RosterPageSchema", RosterSchema)


class CandidateQuerySchema(Strict):
    slot_id = fields.String(required=True, validate=validate.Length(min=3, max=40))


class CandidateSchema(Schema):
    warden_id = fields.Integer()
    name = fields.String()
    can_take = fields.Boolean()
    load_percent = fields.Integer()
    desired_day = fields.Boolean()
    undesired_day = fields.Boolean()
    knows_post = fields.Boolean()
    unpopular_slots = fields.Integer()
    blocked_by = fields.List(fields.Dict())


class ScheduleQuerySchema(Strict):
    first_day = fields.Date(load_default=None)
    last_day = fields.Date(load_default=None)


class ShiftSchema(Schema):
    roster_id = fields.Integer()
    slot_id = fields.String()
    post_id = fields.Integer()
    post = fields.String()
    address = fields.String(allow_none=True)
    start = fields.DateTime()
    end = fields.DateTime()
    with_ = fields.List(fields.String(), data_key="with")


class ScheduleSchema(Schema):
    warden_id = fields.Integer()
    name = fields.String()
    shifts = fields.List(fields.Nested(ShiftSchema))


class OfferSwapSchema(Strict):
    roster_id = fields.Integer(required=True, strict=True)
    slot_id = fields.String(required=True, validate=validate.Length(min=3, max=40))


class DecideSwapSchema(Strict):
    approve = fields.Boolean(required=True)


class SwapSchema(Schema):
    id = fields.Integer()
    roster_id = fields.Integer()
    slot_id = fields.String()
    from_warden_id = fields.Integer()
    to_warden_id = fields.Integer(allow_none=True)
    status = fields.String()
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class NewFeedSchema(Strict):
    team = fields.Boolean(load_default=False)


class CalendarQuerySchema(Strict):
    token = fields.String(required=True, validate=validate.Length(min=20, max=100))


class FeedSchema(Schema):
    id = fields.Integer()
    token = fields.String()
    path = fields.String()
    team = fields.Boolean()
    created_at = fields.DateTime()


class RevokedFeedSchema(Schema):
    id = fields.Integer()
    revoked_at = fields.DateTime()


class SignalSchema(Strict):
    category = fields.String(required=True, validate=validate.Length(min=1, max=40))
    observed_at = fields.AwareDateTime(load_default=None, allow_none=True)


class NewLogSchema(Strict):
    post_id = fields.Integer(required=True, strict=True)
    started_at = fields.AwareDateTime(required=True)
    ended_at = fields.AwareDateTime(required=True)
    observations = fields.List(fields.Nested(SignalSchema), load_default=list,
                               validate=validate.Length(max=20))


class ObservationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    category = fields.String()
    observed_at = fields.DateTime()


class LogSchema(Schema):
    id = fields.Integer()
    warden_id = fields.Integer()
    post_id = fields.Integer()
    started_at = fields.DateTime()
    ended_at = fields.DateTime()
    observations = fields.List(fields.Nested(ObservationSchema))


LogPageSchema = page_schema("PatrolLogPageSchema", LogSchema)


class LogQuerySchema(PageQuerySchema):
    pass


class HotspotSchema(Schema):
    neighbourhood = fields.String()
    incidents = fields.Integer()
    bonus = fields.Integer()


class HotspotsSchema(Schema):
    window_days = fields.Integer()
    neighbourhoods = fields.List(fields.Nested(HotspotSchema))
