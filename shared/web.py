"""The platform's HTTP entrypoint: nameko's `http`, served by a web server that speaks JSON at
its edges too.

nameko's own server answers an unknown method with werkzeug's HTML page and an `Allow` header
listing every method of every rule that matches the path, and hands werkzeug requests whose
chunked body it then reads as empty (werkzeug reads a body without Content-Length only when the
server says it terminates the stream, which eventlet's server does but does not say). Here:
- an unknown path is a JSON 404, a method the route lacks a JSON 405 with the route's real
  `Allow`;
- a body over MAX_BODY_BYTES is a 413, whether it declares its length or comes chunked;
- a chunked body is read.
Every http entrypoint of the platform (the gateway's API, the ops endpoints) uses `http` from
here, so one process serves one kind of server on its port.
"""
import json

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as RouteLacksMethod
from werkzeug.exceptions import NotFound as NoRoute
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Request, Response

from shared import config, i18n
from shared.errors import LisaError, MethodNotAllowed, NotFound, PayloadTooLarge

MAX_BODY_BYTES = 64 * 1024


def json_response(status: int, body, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, default=str), status=status, headers=headers,
                    mimetype="application/json")


def error_response(exc: LisaError, language: str | None = None) -> Response:
    """The JSON error; its messages in `language` when the client asked for one
    (Accept-Language), else as the code wrote them (English)."""
    body = exc.to_dict() if language is None else i18n.translate_error(exc.to_dict(), language)
    return json_response(exc.status, {"error": body}, exc.headers)


def language_of(request) -> str | None:
    """The language a client asked for its error messages in, if it asked (shared.i18n)."""
    accept = request.headers.get("Accept-Language")
    return i18n.negotiate(accept) if accept else None


def too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.")


def read_body(request) -> bytes:
    """The request body, at most MAX_BODY_BYTES (else PayloadTooLarge), chunked or not."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise too_large()
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise too_large()
    return raw


class JsonWsgiApp(WsgiApp):
    def __call__(self, environ, start_response):
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            # eventlet's wsgi.Input decodes the chunks and stops at the last one.
            environ["wsgi.input_terminated"] = True
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            try:
                provider, values = adapter.match()
            except (RouteLacksMethod, NoRoute):
                provider = None
                if request.content_length is not None \
                        and request.content_length > MAX_BODY_BYTES:
                    raise too_large() from None
                raise
            # An entrypoint may take more (a photo upload); every other one MAX_BODY_BYTES.
            limit = getattr(provider, "max_body_bytes", MAX_BODY_BYTES)
            if request.content_length is not None and request.content_length > limit:
                raise too_large()
            request.path_values = values  # type: ignore[attr-defined]  # for nameko's handlers
            response = provider.handle_request(request)
        except LisaError as exc:
            response = error_response(exc, language_of(request))
        except RouteLacksMethod as exc:
            response = error_response(MethodNotAllowed(
                f"{request.method} is not a method of {request.path}.", exc.valid_methods or ()),
                language_of(request))
        except NoRoute:
            response = error_response(NotFound(f"No endpoint {request.method} {request.path}."),
                                      language_of(request))
        except HTTPException as exc:  # e.g. a redirect to the path with its trailing slash
            response = exc
        return response(environ, start_response)


class AsciiIntegerConverter(IntegerConverter):
    """`<int:...>` in a route, matching ASCII digits only: werkzeug's `\\d+` also matches
    "１２３" and "١٢٣", which then named record 123 (review of issue 7, finding 10)."""
    regex = r"[0-9]+"


class JsonWebServer(WebServer):
    def make_url_map(self):
        """nameko's, with `int` converting ASCII digits only."""
        url_map = Map(converters={"int": AsciiIntegerConverter})
        for provider in self._providers:
            rule = provider.get_url_rule()
            rule.endpoint = provider
            url_map.add(rule)
        return url_map

    def get_wsgi_app(self):
        app = JsonWsgiApp(self)
        hops = config.trusted_proxy_hops()
        # Behind proxies, the client is the address the first of them saw (X-Forwarded-For).
        return ProxyFix(app, x_for=hops) if hops else app


class HttpEntrypoint(HttpRequestHandler):
    server = JsonWebServer()

    def __init__(self, method, url, expected_exceptions=(), max_body_bytes=MAX_BODY_BYTES,
                 **kwargs):
        super().__init__(method, url, expected_exceptions=expected_exceptions, **kwargs)
        self.max_body_bytes = max_body_bytes

    def response_from_exception(self, exc):
        """What escaped an entrypoint: nameko would answer text/plain; a bug, logged by nameko
        with its traceback."""
        if isinstance(exc, LisaError):
            return error_response(exc)
        return json_response(500, {"error": {"code": "internal_error",
                                             "message": "Internal error."}})


http = HttpEntrypoint.decorator
