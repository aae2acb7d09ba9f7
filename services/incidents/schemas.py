"""marshmallow schemas of the incidents service's RPC payloads (and of its part of the REST API:
the gateway documents these in OpenAPI)."""
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
)

from services.incidents import domain
from services.incidents.events import CHANNELS, ZONES
from shared.fields import RecordId
from shared.location import LocationSchema
from shared.paging import PageQuerySchema, page_schema
from shared.reference import partner_codes

MAX_DESCRIPTION = 4000


class ReporterSchema(Schema):
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    phone = fields.String(load_default=None, allow_none=True,
                          validate=validate.Regexp(r"^\+?[0-9 ./()-]{6,30}$"))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=200))
    may_contact = fields.Boolean(load_default=False)
    share_with_police = fields.Boolean(load_default=False)


class ReportIncidentSchema(Schema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=50))
    description = fields.String(required=True,
                                validate=validate.Length(min=1, max=MAX_DESCRIPTION))
    location = fields.Nested(LocationSchema, required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    reporter = fields.Nested(ReporterSchema, load_default=None, allow_none=True)

    @validates("description")
    def not_blank(self, value, **kwargs):
        if not value.strip():
            raise ValidationError("The description is empty.")


def known_partner(code: str) -> None:
    # marshmallow 4 ignores a validator's return value: it must raise
    if code not in partner_codes():
        raise ValidationError(f"Unknown partner '{code}'.")


class TriageSchema(Schema):
    category = fields.String(load_default=None, validate=validate.Length(min=1, max=50))
    partner = fields.String(load_default=None, validate=known_partner,
                            metadata={"description": "Partner code; overrides the routing."})
    note = fields.String(load_default=None, validate=validate.Length(max=1000))


class StatusChangeSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(domain.STATUSES))
    duplicate_of = RecordId(load_default=None, allow_none=True)
    note = fields.String(load_default=None, validate=validate.Length(max=1000))


class IncidentQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(domain.STATUSES))
    category = fields.String(validate=validate.Length(max=50))
    partner = fields.String(validate=validate.Length(max=50))
    neighbourhood = fields.String(validate=validate.Length(max=100),
                                  metadata={"description": "Any case."})
    overdue = fields.Boolean()


class ContactAccessQuerySchema(PageQuerySchema):
    pass


class DuplicateHintsQuerySchema(Schema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=50))
    location = fields.Nested(LocationSchema, required=True)


# -- outputs ----------------------------------------------------------------------------------
# Every field an answer always carries is `required`, nested values have their own schema: the
# OpenAPI document then says exactly what a client gets (and schemathesis checks that it does).

class LabelsSchema(Schema):
    fr = fields.String(required=True)
    nl = fields.String(required=True)
    en = fields.String(required=True)


class CategorySchema(Schema):
    code = fields.String(required=True)
    parent_code = fields.String(required=True, allow_none=True)
    labels = fields.Nested(LabelsSchema, required=True)
    phenomenon = fields.String(required=True, allow_none=True)
    partner = fields.String(required=True, allow_none=True)
    sla_working_days = fields.Integer(required=True, allow_none=True)
    zone = fields.String(required=True, allow_none=True, validate=validate.OneOf(ZONES))


class HistoryEntrySchema(Schema):
    from_status = fields.String(required=True, allow_none=True)
    to_status = fields.String(required=True, validate=validate.OneOf(domain.STATUSES))
    partner = fields.String(required=True, allow_none=True)
    actor = fields.String(required=True)
    actor_role = fields.String(required=True)
    at = fields.DateTime(required=True)
    note = fields.String(required=True, allow_none=True)


class DuplicateHintSchema(Schema):
    incident_id = fields.Integer(required=True)
    ticket = fields.String(required=True)
    reasons = fields.List(fields.String(), required=True)
    distance_m = fields.Float(required=True, allow_none=True)


class PlaceSchema(Schema):
    address = fields.String(required=True)
    lat = fields.Float(required=True, allow_none=True)
    lon = fields.Float(required=True, allow_none=True)
    neighbourhood = fields.String(required=True, allow_none=True)


class ReporterViewSchema(Schema):
    name = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    may_contact = fields.Boolean(required=True)
    share_with_police = fields.Boolean(required=True)


class IncidentFactsSchema(Schema):
    """views.incident_facts: what a following service checks an incident's events against."""
    id = fields.Integer(required=True)
    ticket = fields.String(required=True)
    antenna_id = fields.String(required=True)
    category = fields.String(required=True)
    parent_category = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    intake_organisation = fields.String(allow_none=True)
    location = fields.Nested(LocationSchema, required=True)
    version = fields.Integer(required=True)


class IncidentSchema(Schema):
    id = fields.Integer(required=True)
    ticket = fields.String(required=True)
    antenna_id = fields.String(required=True)
    category = fields.String(required=True, attribute="category_code")
    parent_category = fields.String(required=True)
    zone = fields.String(required=True, validate=validate.OneOf(ZONES))
    description = fields.String(required=True)
    location = fields.Nested(PlaceSchema, required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    status = fields.String(required=True, validate=validate.OneOf(domain.STATUSES))
    partner = fields.String(required=True)
    duplicate_of = fields.Integer(required=True, allow_none=True)
    reported_by = fields.String(required=True)
    intake_organisation = fields.String(required=True)
    reported_at = fields.DateTime(required=True)
    sla_due_at = fields.DateTime(required=True)
    overdue = fields.Boolean(required=True)
    triaged_at = fields.DateTime(required=True, allow_none=True)
    closed_at = fields.DateTime(required=True, allow_none=True)
    reporter = fields.Nested(ReporterViewSchema, required=True, allow_none=True,
                             metadata={"description": "Present only where the caller may see "
                                                      "it; every such read is logged."})
    history = fields.List(fields.Nested(HistoryEntrySchema),
                          metadata={"description": "In the view of one incident."})


class ReportResultSchema(Schema):
    incident = fields.Nested(IncidentSchema, required=True)
    duplicate_hints = fields.List(fields.Nested(DuplicateHintSchema), required=True)


IncidentPageSchema = page_schema("IncidentPageSchema", IncidentSchema)


class ContactAccessSchema(Schema):
    user = fields.String(required=True)
    role = fields.String(required=True)
    organisation = fields.String(required=True)
    purpose = fields.String(required=True)
    at = fields.DateTime(required=True)


ContactAccessPageSchema = page_schema("ContactAccessPageSchema", ContactAccessSchema)
