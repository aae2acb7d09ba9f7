"""The one way the gateway declares a REST endpoint: `@api(...)` registers the nameko http
entrypoint, authenticates, maps every error to a JSON body, counts the response, and records
the route for the OpenAPI document."""
import functools
import json
import logging
from dataclasses import dataclass

import amqp.exceptions
import kombu.exceptions
import sqlalchemy.exc
from nameko.exceptions import RemoteError, ReplyQueueExpiredWithPendingReplies
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from shared import metrics
from shared.errors import BadRequest, LisaError, ValidationFailed
from shared.rpc import ServiceUnavailable, deadline

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# A broker restart or a database failover surfaces as one of these in the gateway.
INFRASTRUCTURE_ERRORS = (OSError, kombu.exceptions.OperationalError, amqp.exceptions.AMQPError,
                         ReplyQueueExpiredWithPendingReplies, sqlalchemy.exc.OperationalError)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    summary: str
    tag: str
    request: type | None
    response: type | None
    many: bool
    public: bool
    query: type | None
    status: int


ROUTES: list[Route] = []


def json_response(status: int, body) -> Response:
    return Response(json.dumps(body, default=str), status=status, mimetype="application/json")


def error_response(exc: LisaError) -> Response:
    return json_response(exc.status, {"error": exc.to_dict()})


def read_json(request) -> dict:
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise BadRequest(f"The body is larger than {MAX_BODY_BYTES} bytes.")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"The body is larger than {MAX_BODY_BYTES} bytes.")
    if not raw.strip():
        return {}  # e.g. POST .../accept with no body
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ValidationFailed("Expected a JSON object.", {"_schema": ["Expected an object."]})
    return body


def query_args(request) -> dict:
    args = {}
    for key, values in request.args.lists():
        if len(values) > 1:
            raise ValidationFailed("Repeated query parameter.", {key: ["Give it once."]})
        args[key] = values[0]
    return args


def api(method: str, path: str, *, summary: str, tag: str, request=None, response=None,
        many=False, public=False, query=None, status=200):
    """Handler signature: fn(self, request, identity, **path_args) -> body (JSON-able)."""
    route = Route(method, path, summary, tag, request, response, many, public, query, status)
    ROUTES.append(route)

    def decorator(fn):
        @http(method, path)
        @functools.wraps(fn)
        def entrypoint(self, request, **path_args):
            try:
                identity = None if public else self.authenticate(request)
                if identity is not None:
                    self.caller.assume(identity)
                with deadline():
                    result = json_response(status, fn(self, request, identity, **path_args))
            except LisaError as exc:
                result = error_response(exc)
            except RemoteError as exc:  # an unexpected failure in a service: a bug, logged there
                log.error("remote error on %s %s: %s", method, path, exc)
                result = json_response(500, {"error": {"code": "internal_error",
                                                       "message": "Internal error."}})
            except INFRASTRUCTURE_ERRORS as exc:  # broker or database away: try again later
                log.warning("%s %s: %s: %s", method, path, type(exc).__name__, exc)
                result = error_response(ServiceUnavailable("The platform is briefly "
                                                           "unavailable; try again."))
            metrics.HTTP_REQUESTS.labels(method, path, str(result.status_code)).inc()
            return result

        return entrypoint

    return decorator
