"""Open311 GeoReport v2 at /open311/v2/ (docs/adr/0030-open311-georeport-v2.md), served by the
gateway like the incidents' REST resources, in the specification's own shapes: each endpoint in
`.json` and `.xml`, its element names, and errors as its error list (`code`, `description`)
with a 4xx status. The HTTP edge rules stay those of shared/web.py and shared/http.py: bodies
bounded, every failure answered (a fault as 500 in the same error format, never a traceback).

Who is calling is the gateway's business (`open311_caller`): a POST's `api_key` becomes an
`open311_client` identity, a read without one the `open311_public` identity; the incidents
service decides what either may do and see. These endpoints are not in the OpenAPI document:
GeoReport v2 is their published contract (form-encoded POST, XML), and its clients read that.
"""
import functools
import json
import logging
import re
import time
import urllib.parse
import xml.etree.ElementTree as ElementTree
from typing import Any

from werkzeug.wrappers import Response

from shared.errors import BadRequest, Forbidden, LisaError, NotFound, has_nul
from shared.http import answer_for, count_answer, openapi_path
from shared.rpc import ServiceClient, deadline
from shared.web import http, read_body

log = logging.getLogger(__name__)

PREFIX = "/open311/v2"
FORMAT = "<any(json, xml):fmt>"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-23T00:00:00+01:00"
MAX_FIELDS = 60
# XML: the element of each item of a list, by the list's element (the specification's names).
ITEMS = {"services": "service", "service_requests": "request", "endpoints": "endpoint",
         "formats": "format", "attributes": "attribute", "values": "value",
         "errors": "error"}
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


# -- answers in the specification's formats -----------------------------------------------------

# Characters XML 1.0 cannot carry, even escaped: a value holding one (echoed from a query, say)
# would make the whole document unreadable to the client.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return NOT_XML.sub("\ufffd", str(value))


def _element(name: str, value: Any) -> ElementTree.Element:
    element = ElementTree.Element(name)
    if isinstance(value, dict):
        for key, child in value.items():
            element.append(_element(key, child))
    elif isinstance(value, list):
        for child in value:
            element.append(_element(ITEMS.get(name, "item"), child))
    else:
        element.text = _text(value)
    return element


def to_xml(root: str, body: Any) -> bytes:
    return ElementTree.tostring(_element(root, body), encoding="utf-8", xml_declaration=True)


def render(fmt: str, root: str, body: Any, status: int = 200) -> Response:
    payload = to_xml(root, body) if fmt == "xml" else \
        json.dumps(body, ensure_ascii=False).encode()
    return Response(payload, status=status, content_type=CONTENT_TYPES[fmt])


def error_status(error: LisaError) -> int:
    """GeoReport v2 names 400 (missing or bad data), 403 (api_key) and 404 (not found); a
    refused validation is its 400, an unauthenticated call its 403."""
    if error.status == 422:
        return 400
    if error.status == 401:
        return 403
    return error.status


def _flatten(fields: dict, prefix: str = "") -> list[str]:
    said = []
    for name, messages in fields.items():
        if isinstance(messages, dict):
            said += _flatten(messages, f"{prefix}{name}.")
        else:
            said.append(f"{prefix}{name}: {' '.join(str(m) for m in messages)}")
    return said


def error_answer(fmt: str, error: LisaError) -> Response:
    status = error_status(error)
    description = " ".join([error.message, *_flatten(error.fields)]).strip()
    response = render(fmt, "errors", [{"code": status, "description": description}], status)
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


# -- the request --------------------------------------------------------------------------------

def query(request) -> dict[str, str]:
    """Query parameters, each once (a repeated one is a 400: the specification delimits lists
    with commas)."""
    args = {}
    for key, values in request.args.lists():
        if len(values) > 1:
            raise BadRequest(f"Give {key[:50]} once (comma delimit a list).")
        args[key] = values[0]
    if has_nul(args):
        raise BadRequest("A parameter contains a NUL character.")
    return args


def form(request) -> dict[str, Any]:
    """A POST's form fields (application/x-www-form-urlencoded), bounded like every body: a
    field once, except attribute[code] (a multivaluelist may repeat it)."""
    kind = (request.mimetype or "application/x-www-form-urlencoded").lower()
    if kind != "application/x-www-form-urlencoded":
        raise BadRequest("Send the request as application/x-www-form-urlencoded.")
    try:
        text = read_body(request).decode("utf-8")
        pairs = urllib.parse.parse_qs(text, keep_blank_values=True, strict_parsing=False,
                                      max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise BadRequest("The body is not UTF-8.") from None
    except ValueError:
        raise BadRequest(f"More than {MAX_FIELDS} fields.") from None
    fields: dict[str, Any] = {}
    for key, values in pairs.items():
        if len(values) > 1 and not key.startswith("attribute["):
            raise BadRequest(f"Give {key[:50]} once.")
        fields[key] = values if len(values) > 1 else values[0]
    if has_nul(fields):
        raise BadRequest("A field contains a NUL character.")
    return fields


def endpoint(method: str, path: str, root: str):
    """An Open311 endpoint at PREFIX + path + `.json` or `.xml`. Handler signature:
    fn(self, request, args, **path_args) -> body, answered with `root` as XML root element."""
    full = f"{PREFIX}{path}.{FORMAT}"
    route_label = openapi_path(full)

    def decorator(fn):
        @http(method, full)
        @functools.wraps(fn)
        def entrypoint(self, request, fmt="json", **path_args):
            started = time.perf_counter()
            try:
                if has_nul(path_args):
                    raise NotFound(f"No such resource: {request.path!r}.")
                with deadline():
                    result = render(fmt, root, fn(self, request, query(request), **path_args))
            except Exception as exc:  # noqa: BLE001  (every error in the specification's format)
                error = answer_for(exc, method, full)
                if error.status < 500:
                    log.info("%s %s -> %d %s: %s", method, request.path, error.status,
                             error.code, error.message)
                result = error_answer(fmt, error)
            count_answer(self.name, method, route_label, result.status_code, started)
            return result

        return entrypoint

    return decorator


class Open311Routes:
    """GeoReport v2: discovery, services, service definitions, requests (GET, POST), one
    request, tokens. `self.open311_caller(api_key)` is the gateway's."""
    incidents = ServiceClient("incidents")

    @endpoint("GET", "/discovery", "discovery")
    def open311_discovery(self, request, args):
        return {
            "changeset": CHANGESET,
            "contact": "The antenna's desk (Antenne LISA).",
            "key_service": "API keys are issued by the antenna's administrator "
                           "(POST /api/v1/open311/keys).",
            "endpoints": [{"specification": SPECIFICATION,
                           "url": request.host_url.rstrip("/") + PREFIX,
                           "changeset": CHANGESET, "type": "production",
                           "formats": ["text/xml", "application/json"]}],
        }

    @endpoint("GET", "/services", "services")
    def open311_services(self, request, args):
        self.open311_caller()
        return self.incidents.open311_services(args.get("locale"))

    @endpoint("GET", "/services/<service_code>", "service_definition")
    def open311_service_definition(self, request, args, service_code):
        self.open311_caller()
        return self.incidents.open311_service_definition(service_code, args.get("locale"))

    @endpoint("GET", "/requests", "service_requests")
    def open311_requests(self, request, args):
        self.open311_caller()
        return self.incidents.open311_requests(args, args.get("jurisdiction_id"),
                                               args.get("locale"))

    @endpoint("POST", "/requests", "service_requests")
    def open311_post_request(self, request, args):
        fields = {**args, **form(request)}  # the body wins over the query string
        api_key = fields.pop("api_key", None)
        if not isinstance(api_key, str) or not api_key:
            raise Forbidden("api_key was not provided.")
        self.open311_caller(api_key)
        jurisdiction, locale = fields.pop("jurisdiction_id", None), fields.pop("locale", None)
        return [self.incidents.open311_report(fields, jurisdiction, locale)]

    @endpoint("GET", "/requests/<service_request_id>", "service_requests")
    def open311_request(self, request, args, service_request_id):
        self.open311_caller()
        return [self.incidents.open311_request(service_request_id, args.get("jurisdiction_id"),
                                               args.get("locale"))]

    @endpoint("GET", "/tokens/<token>", "service_requests")
    def open311_token(self, request, args, token):
        self.open311_caller()
        return [self.incidents.open311_token(token, args.get("jurisdiction_id"))]

    @http("GET,POST", f"{PREFIX}/<path:rest>")
    def open311_unknown(self, request, rest):
        """Anything else under /open311/v2/: a 404 in the specification's format."""
        fmt = "xml" if rest.endswith(".xml") else "json"
        return error_answer(fmt, NotFound(f"No Open311 endpoint {request.method} "
                                          f"{request.path[:200]}."))


RESOURCES = (Open311Routes,)
