"""marshmallow schemas of the incidents service's RPC payloads (and of its part of the REST API:
the gateway documents these in OpenAPI)."""
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)

from services.incidents import domain
from shared.events import CHANNELS, ZONES
from shared.fields import Offset, RecordId
from shared.reference import partner_codes

# Belgium's bounding box, with a little margin: a coordinate outside is a typo or a foreign place.
BELGIUM_LAT = (49.49, 51.51)
BELGIUM_LON = (2.54, 6.41)
MAX_DESCRIPTION = 4000


class LocationSchema(Schema):
    address = fields.String(required=True, validate=validate.Length(min=3, max=300))
    lat = fields.Float(load_default=None, allow_none=True)
    lon = fields.Float(load_default=None, allow_none=True)
    neighbourhood = fields.String(load_default=None, allow_none=True,
                                  validate=validate.Length(max=100))

    @validates_schema
    def inside_belgium(self, data, **kwargs):
        lat, lon = data.get("lat"), data.get("lon")
        if (lat is None) != (lon is None):
            raise ValidationError("Give both lat and lon, or neither.", "lat")
        if lat is None:
            return
        if not (BELGIUM_LAT[0] <= lat <= BELGIUM_LAT[1]):
            raise ValidationError("Latitude is outside Belgium.", "lat")
        if not (BELGIUM_LON[0] <= lon <= BELGIUM_LON[1]):
            raise ValidationError("Longitude is outside Belgium.", "lon")


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


class TriageSchema(Schema):
    category = fields.String(load_default=None, validate=validate.Length(min=1, max=50))
    partner = fields.String(load_default=None, validate=lambda code: code in partner_codes(),
                            metadata={"description": "Partner code; overrides the routing."})
    note = fields.String(load_default=None, validate=validate.Length(max=1000))


class StatusChangeSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(domain.STATUSES))
    duplicate_of = RecordId(load_default=None, allow_none=True)
    note = fields.String(load_default=None, validate=validate.Length(max=1000))


class IncidentQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(domain.STATUSES))
    category = fields.String(validate=validate.Length(max=50))
    partner = fields.String(validate=validate.Length(max=50))
    neighbourhood = fields.String(validate=validate.Length(max=100))
    overdue = fields.Boolean()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = Offset()

    @post_load
    def no_blank_filters(self, data, **kwargs):
        return {key: value for key, value in data.items() if value not in ("", None)}


class DuplicateHintsQuerySchema(Schema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=50))
    location = fields.Nested(LocationSchema, required=True)


# -- outputs ----------------------------------------------------------------------------------

class CategorySchema(Schema):
    code = fields.String()
    parent_code = fields.String(allow_none=True)
    labels = fields.Dict(keys=fields.String(), values=fields.String())
    phenomenon = fields.String(allow_none=True)
    partner = fields.String(allow_none=True)
    sla_working_days = fields.Integer(allow_none=True)
    zone = fields.String(allow_none=True, validate=validate.OneOf(ZONES))


class HistoryEntrySchema(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    partner = fields.String(allow_none=True)
    actor = fields.String()
    actor_role = fields.String()
    at = fields.DateTime()
    note = fields.String(allow_none=True)


class DuplicateHintSchema(Schema):
    incident_id = fields.Integer()
    ticket = fields.String()
    reasons = fields.List(fields.String())
    distance_m = fields.Float(allow_none=True)


class IncidentSchema(Schema):
    id = fields.Integer()
    ticket = fields.String()
    antenna_id = fields.String()
    category = fields.String(attribute="category_code")
    parent_category = fields.String()
    zone = fields.String()
    description = fields.String()
    location = fields.Dict()
    channel = fields.String()
    status = fields.String()
    partner = fields.String()
    duplicate_of = fields.Integer(allow_none=True)
    reported_by = fields.String()
    intake_organisation = fields.String()
    reported_at = fields.DateTime()
    sla_due_at = fields.DateTime()
    overdue = fields.Boolean()
    triaged_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    reporter = fields.Nested(ReporterSchema, allow_none=True,
                             metadata={"description": "Present only where the caller may see "
                                                      "it; every such read is logged."})
    history = fields.List(fields.Nested(HistoryEntrySchema))


class ReportResultSchema(Schema):
    incident = fields.Nested(IncidentSchema)
    duplicate_hints = fields.List(fields.Nested(DuplicateHintSchema))


class IncidentPageSchema(Schema):
    items = fields.List(fields.Nested(IncidentSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class ContactAccessSchema(Schema):
    user = fields.String()
    role = fields.String()
    organisation = fields.String()
    purpose = fields.String()
    at = fields.DateTime()
