"""Schemas of the gateway's own endpoints and of its error bodies."""
from marshmallow import Schema, fields, validate


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_at = fields.DateTime()
    role = fields.String()
    organisation = fields.String()


class MeSchema(Schema):
    user = fields.String()
    role = fields.String()
    organisation = fields.String()
    antennas = fields.List(fields.String())


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Machine-readable code."})
    message = fields.String(required=True)
    fields = fields.Dict(metadata={"description": "Field name -> list of messages."})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)
