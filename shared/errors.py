"""Typed errors, each with its HTTP status and code, that cross RPC intact.

Those in CROSSES_RPC are registered with nameko's `deserialize_to_instance` (shared/rpc.py), so
the gateway catches the same class the service raised (not a generic RemoteError). Arguments
stay JSON-safe: a message and a dict of field messages. Pure: use cases raise these without
importing nameko.
"""


class LisaError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str = "", fields: dict | None = None):
        super().__init__(message, fields or {})
        self.message = message
        self.fields = fields or {}

    @property
    def headers(self) -> dict:
        """HTTP headers that go with the answer (e.g. `Allow`, `Retry-After`)."""
        return {}

    def to_dict(self) -> dict:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


class BadRequest(LisaError):
    status = 400
    code = "bad_request"


class ValidationFailed(LisaError):
    status = 422
    code = "validation_failed"


class Unauthenticated(LisaError):
    status = 401
    code = "unauthenticated"


class Forbidden(LisaError):
    status = 403
    code = "forbidden"


class NotFound(LisaError):
    status = 404
    code = "not_found"


class Conflict(LisaError):
    status = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class IdempotencyKeyReused(ValidationFailed):
    """The key of an earlier request came with a different request (IETF Idempotency-Key)."""
    code = "idempotency_key_reused"


# -- answered by the gateway's web server itself; they never cross RPC ---------------------------

class MethodNotAllowed(LisaError):
    status = 405
    code = "method_not_allowed"

    def __init__(self, message: str, allowed):
        super().__init__(message)
        self.allowed = sorted(allowed)

    @property
    def headers(self) -> dict:
        return {"Allow": ", ".join(self.allowed)}


class PayloadTooLarge(LisaError):
    status = 413
    code = "payload_too_large"


class TooManyRequests(LisaError):
    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after_seconds: int):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds

    @property
    def headers(self) -> dict:
        return {"Retry-After": str(self.retry_after_seconds)}


def validation_error(exc) -> ValidationFailed:
    """A marshmallow ValidationError as our typed error, field messages kept."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return ValidationFailed("The request has invalid fields.", messages)


NUL_MESSAGE = "Contains a NUL character."


def has_nul(value) -> bool:
    """A NUL character anywhere in a string of `value` (PostgreSQL stores no NUL in text, so it
    would fail there as a server error; no field of ours has a use for one)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def validated(schema, data) -> dict:
    """Load `data` with a marshmallow schema instance, raising our typed error on bad input."""
    from marshmallow import ValidationError

    if not isinstance(data, dict):
        raise ValidationFailed("Expected a JSON object.", {"_schema": ["Expected an object."]})
    for name, value in data.items():
        if has_nul(name) or has_nul(value):
            raise ValidationFailed("The request has invalid fields.",
                                   {str(name).replace("\x00", ""): [NUL_MESSAGE]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


# Raised by a service and caught, as themselves, by its caller (the others are the edge's own).
CROSSES_RPC = (BadRequest, ValidationFailed, Unauthenticated, Forbidden, NotFound, Conflict,
               InvalidTransition, IdempotencyKeyReused)
