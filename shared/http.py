"""The one way to declare a REST endpoint: `@api(...)` makes the http entrypoint, authenticates,
maps every error to a JSON body, counts the response, and records the route for the OpenAPI
document.

Each service declares its REST resources in its own folder (services/<name>/routes.py, one mixin
class per resource); the gateway, the HTTP edge, is composed of them. A class using `@api` is
mixed into one that provides `authenticate(request) -> Identity` and a `caller`
(`shared.dependencies.CallerIdentity`); a mixin declares the RPC client it forwards to.

The error table, in one place: a typed error (shared/errors.py, raised here or by a service and
carried intact over RPC) answers with its own status and code; `answer_for` below turns
everything else into one of them. Expected refusals (4xx) are logged as one line, without a
traceback; only faults (5xx) are logged with one.
"""
import functools
import json
import logging
import re
import time
from dataclasses import dataclass

import amqp.exceptions
import kombu.exceptions
import sqlalchemy.exc
from nameko.exceptions import RemoteError, ReplyQueueExpiredWithPendingReplies
from werkzeug.wrappers import Response

from shared import metrics
from shared.errors import BadRequest, LisaError, NotFound, ValidationFailed, has_nul
from shared.rpc import ServiceUnavailable, deadline, is_transient_remote
from shared.web import error_response, http, json_response, language_of, read_body

log = logging.getLogger(__name__)

# Deeper than any of our schemas goes; a deeper body is an attack on the parser or on whoever
# serialises it next (Python's json recurses, and the limit is about 1,000 levels).
MAX_JSON_DEPTH = 20
# A broker restart or a database failover surfaces as one of these in the gateway.
INFRASTRUCTURE_ERRORS = (OSError, kombu.exceptions.OperationalError, amqp.exceptions.AMQPError,
                         ReplyQueueExpiredWithPendingReplies, sqlalchemy.exc.OperationalError)


class InternalError(LisaError):
    status = 500
    code = "internal_error"


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
    headers: tuple = ()   # OpenAPI header parameters the route reads
    file: str | None = None   # a download's media type (answered as a file, not JSON)


ROUTE_ATTRIBUTE = "lisa_route"


def routes_of(cls: type) -> list[Route]:
    """The `@api` routes of a class, in method resolution order (its own, then each base's and
    mixin's in the order they are mixed in), each class's in the order they were written."""
    seen, routes = set(), []
    for klass in cls.__mro__:
        for name, member in vars(klass).items():
            route = getattr(member, ROUTE_ATTRIBUTE, None)
            if route is not None and name not in seen:
                seen.add(name)
                routes.append(route)
    return routes


def _depth(value) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                stack.extend((child, depth + 1)
                             for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def read_json(request) -> dict:
    raw = read_body(request)
    if not raw.strip():
        return {}  # e.g. POST .../accept with no body
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body is not valid JSON.") from None
    except RecursionError:
        raise BadRequest(f"The body is nested deeper than {MAX_JSON_DEPTH} levels.") from None
    if _depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(f"The body is nested deeper than {MAX_JSON_DEPTH} levels.")
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


def answer_for(exc: Exception, method: str, path: str) -> LisaError:
    """Every exception an endpoint can meet, as the typed error the client is answered with."""
    if isinstance(exc, LisaError):
        return exc
    if is_transient_remote(exc):  # the service met its database or broker away
        log.warning("%s %s: %s", method, path, exc)
        return ServiceUnavailable("The platform is briefly unavailable; try again.")
    if isinstance(exc, RemoteError):  # an unexpected failure in a service: a bug, logged there
        log.error("remote error on %s %s: %s", method, path, exc)
        return InternalError("Internal error.")
    if isinstance(exc, INFRASTRUCTURE_ERRORS):  # broker or database away: try again later
        log.warning("%s %s: %s: %s", method, path, type(exc).__name__, exc)
        return ServiceUnavailable("The platform is briefly unavailable; try again.")
    log.exception("unexpected error on %s %s", method, path)
    return InternalError("Internal error.")


_CONVERTER = re.compile(r"<(?:[^<>:]+:)?(\w+)>")


def openapi_path(path: str) -> str:
    """A route as the OpenAPI document names it: `/incidents/<int:id>` -> `/incidents/{id}`,
    `/requests.<any(json, xml):fmt>` -> `/requests.{fmt}`."""
    return _CONVERTER.sub(r"{\1}", path)


def count_answer(service: str, method: str, route: str, status: int, started: float) -> None:
    """One answer of an HTTP route in the metrics: `route` in OpenAPI form (one series per
    route, never one per URL requested), `started` from time.perf_counter()."""
    metrics.HTTP_REQUESTS.labels(service, method, route, str(status)).inc()
    metrics.HTTP_LATENCY.labels(service, method, route).observe(time.perf_counter() - started)


def api(method: str, path: str, *, summary: str, tag: str, request=None, response=None,
        many=False, public=False, query=None, status=200, headers=(), file=None):
    """Handler signature: fn(self, request, identity, **path_args) -> body (JSON-able), or a
    werkzeug Response of media type `file` for a download."""
    route = Route(method, path, summary, tag, request, response, many, public, query, status,
                  tuple(headers), file)

    route_label = openapi_path(path)  # one series per route, not per URL requested

    def decorator(fn):
        @http(method, path)
        @functools.wraps(fn)
        def entrypoint(self, request, **path_args):
            started = time.perf_counter()
            try:
                identity = None if public else self.authenticate(request)
                if identity is not None:
                    self.caller.assume(identity)
                if has_nul(path_args):  # names nothing that can exist
                    raise NotFound(f"No such resource: {request.path!r}.")
                with deadline():
                    body = fn(self, request, identity, **path_args)
                # A route answering in another format (an iCalendar feed, a file to download)
                # gives its Response, answered as it is; anything else is answered as JSON.
                result = body if isinstance(body, Response) else json_response(status, body)
            except Exception as exc:  # noqa: BLE001  (every error is answered in JSON)
                error = answer_for(exc, method, path)
                if error.status < 500:
                    log.info("%s %s -> %d %s: %s", method, request.path, error.status,
                             error.code, error.message)
                result = error_response(error, language_of(request))
            count_answer(self.name, method, route_label, result.status_code, started)
            return result

        setattr(entrypoint, ROUTE_ATTRIBUTE, route)
        return entrypoint

    return decorator
