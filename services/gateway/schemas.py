"""Schemas of the gateway's own endpoints and of its error bodies."""
from marshmallow import Schema, fields, validate


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, validate=validate.Equal("Bearer"))
    expires_at = fields.DateTime(required=True)
    role = fields.String(required=True)
    organisation = fields.String(required=True)


class RevokedSchema(Schema):
    revoked = fields.Boolean(required=True)


class MeSchema(Schema):
    user = fields.String(required=True)
    role = fields.String(required=True)
    organisation = fields.String(required=True)
    antennas = fields.List(fields.String(), required=True)


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Machine-readable code."})
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), metadata={
        "description": "Field (or header) name -> list of messages; for a nested object, the "
                       "same shape again."})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


# -- Open311 API keys (ADR 30) ---------------------------------------------------------------------

class Open311KeyRequestSchema(Schema):
    name = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}$", error="1 to 80 letters, digits, spaces, . _ -"),
        metadata={"description": "Who the client is (an app, a partner's portal); unique. "
                                 "Its requests are reported by `open311:<name>`."})
    antenna_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                               metadata={"description": "The antenna its requests are for "
                                                        "(default: the admin's first)."})


class Open311KeySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    antenna_id = fields.String(required=True)
    issued_by = fields.String(required=True)
    issued_at = fields.DateTime(required=True)
    revoked_at = fields.DateTime(required=True, allow_none=True)


class IssuedOpen311KeySchema(Open311KeySchema):
    api_key = fields.String(required=True, metadata={
        "description": "Shown once: only its SHA-256 is kept."})
