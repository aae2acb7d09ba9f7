"""marshmallow schemas of the indicators service's RPC payloads and queries. Periods are given
as YYYY, YYYY-Qn or YYYY-MM and checked in views.period_range (JSON 422 naming the problem)."""
from marshmallow import INCLUDE, Schema, ValidationError, fields, post_load, validate

from shared.paging import PageQuerySchema

PERIOD_TEXT = validate.Length(min=4, max=7)
NAME = validate.Regexp(r"^[a-z][a-z0-9_]{0,49}$")
VALUE = validate.Length(min=1, max=100)
RESERVED = ("from", "to", "grain", "antenna", "group_by", "format")


class SeriesQuerySchema(Schema):
    """from/to, grain, antenna, group_by (comma-separated: period, antenna or dimensions); any
    other parameter filters a dimension of the indicator (e.g. neighbourhood=Tulipe)."""

    class Meta:
        unknown = INCLUDE

    from_ = fields.String(data_key="from", required=True, validate=PERIOD_TEXT)
    to = fields.String(validate=PERIOD_TEXT)
    grain = fields.String(validate=validate.OneOf(("month", "quarter", "year")))
    antenna = fields.String(validate=validate.Length(min=1, max=64))
    group_by = fields.String(validate=validate.Length(max=200))

    @post_load
    def _split(self, data, **kwargs):
        out = {"from": data.pop("from_")}
        for name in ("to", "grain", "antenna"):
            if data.get(name):
                out[name] = data.pop(name)
            data.pop(name, None)
        groups = [g.strip() for g in (data.pop("group_by", None) or "").split(",") if g.strip()]
        errors = {}
        for group in groups:
            try:
                NAME(group)
            except ValidationError:
                errors["group_by"] = [f"{group[:50]!r} is not a grouping name."]
        if len(set(groups)) != len(groups):
            errors["group_by"] = ["A grouping is given twice."]
        filters = {}
        for name, value in data.items():
            try:
                NAME(name)
                if not isinstance(value, str):
                    raise ValidationError("Give a text value.")
                VALUE(value)
            except ValidationError as exc:
                errors[name] = exc.messages
                continue
            filters[name] = value
        if errors:
            raise ValidationError(errors)
        out["group_by"] = groups
        out["filters"] = filters
        return out


class DashboardQuerySchema(Schema):
    from_ = fields.String(data_key="from", required=True, validate=PERIOD_TEXT)
    to = fields.String(validate=PERIOD_TEXT)
    antenna = fields.String(validate=validate.Length(min=1, max=64))
    grain = fields.String(validate=validate.OneOf(("month", "quarter", "year")))
    category = fields.String(validate=VALUE)
    neighbourhood = fields.String(validate=VALUE)
    state = fields.String(validate=VALUE)
    group_by = fields.String(validate=NAME)

    @post_load
    def _rename(self, data, **kwargs):
        data["from"] = data.pop("from_")
        return {key: value for key, value in data.items() if value not in ("", None)}


class EvaluationQuerySchema(Schema):
    year = fields.String(required=True, validate=validate.Regexp(r"^\d{4}$", error="Give a "
                                                                  "year: YYYY."))
    antenna = fields.String(validate=validate.Length(min=1, max=64))


class CompareQuerySchema(Schema):
    commune = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,40}$"))
    from_ = fields.String(data_key="from", required=True, validate=PERIOD_TEXT)
    to = fields.String(validate=PERIOD_TEXT)

    @post_load
    def _rename(self, data, **kwargs):
        data["from"] = data.pop("from_")
        return data


class TargetSchema(Schema):
    """The current plan's target: a number, or null for none."""
    target = fields.Float(required=True, allow_none=True, allow_nan=False,
                          validate=validate.Range(min=-1e12, max=1e12))


class SetAsideQuerySchema(PageQuerySchema):
    pass


class AnswerSchema(Schema):
    """An indicators answer (see the endpoint's description for its fields)."""

    class Meta:
        unknown = INCLUDE
