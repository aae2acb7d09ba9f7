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
