"""Typed errors that cross RPC intact, and the one table that maps them to HTTP.

Each is registered with nameko's `deserialize_to_instance`, so the gateway catches the same class
the service raised (not a generic RemoteError). Arguments stay JSON-safe: a message and a dict of
field messages.
"""
from nameko.exceptions import deserialize_to_instance
from nameko.rpc import rpc as nameko_rpc


class LisaError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str = "", fields: dict | None = None):
        super().__init__(message, fields or {})
        self.message = message
        self.fields = fields or {}

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


@deserialize_to_instance
class BadRequest(LisaError):
    status = 400
    code = "bad_request"


@deserialize_to_instance
class ValidationFailed(LisaError):
    status = 422
    code = "validation_failed"


@deserialize_to_instance
class Unauthenticated(LisaError):
    status = 401
    code = "unauthenticated"


@deserialize_to_instance
class Forbidden(LisaError):
    status = 403
    code = "forbidden"


@deserialize_to_instance
class NotFound(LisaError):
    status = 404
    code = "not_found"


@deserialize_to_instance
class Conflict(LisaError):
    status = 409
    code = "conflict"


@deserialize_to_instance
class InvalidTransition(Conflict):
    code = "invalid_transition"


def validation_error(exc) -> ValidationFailed:
    """A marshmallow ValidationError as our typed error, field messages kept."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return ValidationFailed("The request has invalid fields.", messages)


def validated(schema, data) -> dict:
    """Load `data` with a marshmallow schema instance, raising our typed error on bad input."""
    from marshmallow import ValidationError

    if not isinstance(data, dict):
        raise ValidationFailed("Expected a JSON object.", {"_schema": ["Expected an object."]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def rpc(fn):
    """Our RPC entrypoint: typed errors are expected answers (logged as such), not crashes."""
    return nameko_rpc(expected_exceptions=LisaError)(fn)
