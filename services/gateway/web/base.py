"""The web pages' machinery: session login on the API's accounts, CSRF, languages, templates,
static files, the navigation per role and the error pages.

A page is a gateway http entrypoint made by `@page(...)`, the pages' counterpart of
`shared.http.api`: it reads the session, refuses a role the page is not for (a 403 page), checks
the CSRF token of every POST, then calls the same RPC the REST routes call, with the user's
signed identity (`caller.assume`), so the services decide what the user may see and do exactly
as for the API: there is no second business path. docs/adr/0028-web-pages-in-the-gateway.md.

The session is the API's own bearer token (services/gateway/auth.py: argon2 login, the login
throttle, expiry, revocation) carried in a cookie: HttpOnly, SameSite=Lax, Secure when the page
is served over https. Logging out revokes it. The CSRF token of a form is a hash of that secret
(or, before login, of a random pre-session cookie): a page of another site can neither read it
nor guess it, and nothing needs storing.
"""
import functools
import hashlib
import hmac
import logging
import mimetypes
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from shared import i18n
from shared.config import Setting
from shared.errors import BadRequest, Forbidden, LisaError, NotFound, Unauthenticated
from shared.http import answer_for, count_answer, openapi_path
from shared.identity import Identity
from shared.rpc import deadline
from shared.web import http

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

SESSION_COOKIE = "lisa_session"
PRE_SESSION_COOKIE = "lisa_pre"
LANGUAGE_COOKIE = "lisa_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
MAX_FORM_BYTES = 64 * 1024

TILE_URL = Setting("LISA_TILE_URL", "", "map tiles of the web pages, e.g. "
                   "https://tile.openstreetmap.org/{z}/{x}/{y}.png (default: none; the maps "
                   "still place pins, on a blank background)")
TILE_ATTRIBUTION = Setting("LISA_TILE_ATTRIBUTION", "", "the tiles' attribution, shown on maps")


@dataclass(frozen=True)
class Area:
    """One part of the web application: its pages' entry point, its navigation label (an
    English message id) and the roles it is for. Each area module declares one."""
    key: str
    label: str
    url: str
    roles: frozenset[str]


AREAS: list[Area] = []


def area(key: str, label: str, url: str, roles) -> Area:
    declared = Area(key, label, url, frozenset(roles))
    if all(existing.key != key for existing in AREAS):
        AREAS.append(declared)
    return declared


def areas_for(role: str) -> list[Area]:
    return [a for a in AREAS if role in a.roles]


# -- templates ------------------------------------------------------------------------------------

@functools.cache
def environment(language: str) -> Environment:
    """One Jinja2 environment per language: rendering never switches a shared catalogue."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["LANGUAGES"] = i18n.LANGUAGES
    return env


def csrf_for(secret: str) -> str:
    return hashlib.sha256(f"lisa-web-csrf:{secret}".encode()).hexdigest()


@dataclass
class PageContext:
    """What one page request knows: who (None before login), in which language, its CSRF
    token, and cookies to set on the answer."""
    request: object
    language: str
    identity: Identity | None
    csrf: str
    tile_url: str
    cookies: list[tuple[str, str, dict]] = field(default_factory=list)

    def _(self, message: str) -> str:
        return i18n.gettext(self.language, message)

    def render(self, template: str, status: int = 200, **values) -> Response:
        env = environment(self.language)
        body = env.get_template(template).render(
            ctx=self, user=self.identity, language=self.language, csrf_token=self.csrf,
            nav=areas_for(self.identity.role) if self.identity else [],
            path=getattr(self.request, "path", "/"), tile_url=self.tile_url,
            tile_attribution=TILE_ATTRIBUTION.text() or "", **values)
        return self.finish(Response(body, status=status, mimetype="text/html"))

    def redirect(self, location: str, status: int = 303) -> Response:
        response = Response("", status=status, headers={"Location": location})
        if self.request.headers.get("HX-Request"):  # type: ignore[attr-defined]
            response.headers["HX-Redirect"] = location
        return self.finish(response)

    def finish(self, response: Response) -> Response:
        for name, value, options in self.cookies:
            response.set_cookie(name, value, **options)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data: blob: https:; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'")
        response.vary.add("Cookie")
        response.vary.add("Accept-Language")
        return response

    def set_cookie(self, name: str, value: str, max_age: int | None = None,
                   http_only: bool = True) -> None:
        self.cookies.append((name, value, {
            "max_age": max_age, "httponly": http_only, "samesite": "Lax", "path": "/",
            "secure": bool(getattr(self.request, "is_secure", False))}))

    def forget_cookie(self, name: str) -> None:
        self.cookies.append((name, "", {"max_age": 0, "expires": 0, "path": "/",
                                        "httponly": True, "samesite": "Lax"}))


def form_of(request) -> dict[str, str]:
    """The posted form's fields (one value each; the last if repeated). Bounded in size."""
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES \
            and not (request.mimetype or "").startswith("multipart/"):
        raise BadRequest("The form is too large.")
    return {key: value for key, value in request.form.items()}


class CsrfRefused(Forbidden):
    code = "csrf_refused"


def page(method: str, path: str, *, roles=None, public: bool = False,
         max_body_bytes: int | None = None):
    """Handler signature: fn(self, request, ctx: PageContext, **path_args) -> Response.
    `roles`: who may use the page (None: anyone logged in); `public`: no login needed."""
    allowed = frozenset(roles) if roles is not None else None
    route_label = openapi_path(path)  # one series per page, not per URL requested

    limits = {} if max_body_bytes is None else {"max_body_bytes": max_body_bytes}

    def decorator(fn):
        @http(method, path, **limits)
        @functools.wraps(fn)
        def entrypoint(self, request, **path_args):
            started = time.perf_counter()
            ctx = self.page_context(request)
            try:
                if not public:
                    if ctx.identity is None:
                        raise Unauthenticated("Please log in.")
                    if allowed is not None and ctx.identity.role not in allowed:
                        raise Forbidden("This page is not for your role.")
                    self.caller.assume(ctx.identity)
                if method == "POST":
                    check_csrf(request, ctx)
                with deadline():
                    result = fn(self, request, ctx, **path_args)
            except Unauthenticated:
                if request.headers.get("HX-Request"):
                    result = ctx.redirect("/login")
                else:
                    target = request.full_path.rstrip("?") if method == "GET" else "/"
                    result = ctx.redirect(f"/login?next={quote(target, safe='/')}")
            except Exception as exc:  # noqa: BLE001  (every error is a page in the language)
                error = answer_for(exc, method, path)
                if error.status < 500:
                    log.info("page %s %s -> %d %s: %s", method, request.path, error.status,
                             error.code, error.message)
                result = ctx.render("error.html", status=error.status, error=error)
            count_answer(self.name, method, route_label, result.status_code, started)
            return result

        return entrypoint

    return decorator


def check_csrf(request, ctx: PageContext) -> None:
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    if not (given and hmac.compare_digest(given, ctx.csrf)):
        raise CsrfRefused("The form has expired or did not come from this site; "
                          "reload the page and try again.")


class WebBase:
    """The pages every user has: login, logout, language, home, static files. Mixed into the
    gateway, which provides `db`, `clock`, `caller`."""

    def page_context(self, request) -> PageContext:
        from services.gateway import auth

        identity = None
        token = request.cookies.get(SESSION_COOKIE)
        if token and len(token) < 200:
            try:
                with self.db.session() as session:
                    identity = auth.authenticate(session, f"Bearer {token}", self.clock())
            except Unauthenticated:
                identity = None
        language = i18n.negotiate(request.headers.get("Accept-Language"),
                                  request.cookies.get(LANGUAGE_COOKIE))
        ctx = PageContext(request, language, identity, "", TILE_URL.text() or "")
        if identity is not None:
            ctx.csrf = csrf_for(token)
        else:
            pre = request.cookies.get(PRE_SESSION_COOKIE)
            if not pre or len(pre) > 100:
                pre = secrets.token_urlsafe(32)
                ctx.set_cookie(PRE_SESSION_COOKIE, pre)
            ctx.csrf = csrf_for(pre)
        return ctx

    @page("GET", "/", public=True)
    def home(self, request, ctx):
        if ctx.identity is None:
            return ctx.redirect("/login")
        mine = areas_for(ctx.identity.role)
        return ctx.render("home.html", areas=mine)

    @page("GET", "/login", public=True)
    def login_form(self, request, ctx):
        return ctx.render("login.html", values={}, errors={},
                          next=safe_next(request.args.get("next")))

    @page("POST", "/login", public=True)
    def login(self, request, ctx):
        from services.gateway import auth

        form = form_of(request)
        username, password = form.get("username", "")[:100], form.get("password", "")[:200]
        target = safe_next(form.get("next"))
        errors = {}
        if not username.strip():
            errors["username"] = [ctx._("Enter your username.")]
        if not password:
            errors["password"] = [ctx._("Enter your password.")]
        if errors:
            return ctx.render("login.html", status=422, values={"username": username},
                              errors=errors, next=target)
        try:
            token = auth.issue_token(self.db, username, password, request.remote_addr or "",
                                     self.clock())
        except LisaError as exc:  # wrong password (401), throttled (429)
            response = ctx.render("login.html", status=exc.status,
                                  values={"username": username}, errors={},
                                  failure=ctx._(exc.message) if exc.status == 401 else
                                  ctx._("Too many failed logins; try again later."),
                                  next=target)
            response.headers.update(exc.headers)
            return response
        ctx.set_cookie(SESSION_COOKIE, token["access_token"],
                       max_age=int(auth.TOKEN_TTL.integer()))
        ctx.forget_cookie(PRE_SESSION_COOKIE)
        return ctx.redirect(target)

    @page("POST", "/logout")
    def logout(self, request, ctx):
        from services.gateway import auth

        with self.db.session() as session:
            auth.revoke(session, f"Bearer {request.cookies.get(SESSION_COOKIE)}", self.clock())
        ctx.forget_cookie(SESSION_COOKIE)
        return ctx.redirect("/login")

    @page("POST", "/language", public=True)
    def choose_language(self, request, ctx):
        chosen = form_of(request).get("language")
        if chosen not in i18n.LANGUAGES:
            raise BadRequest("Unknown language.")
        ctx.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600)
        return ctx.redirect(safe_next(form_of(request).get("next")))

    @http("GET", "/static/<path:name>")
    def static(self, request, name):
        target = safe_join(str(STATIC), name)
        if target is None or not Path(target).is_file():
            raise NotFound(f"No static file {name!r}.")
        kind = mimetypes.guess_type(target)[0] or "application/octet-stream"
        response = Response(Path(target).read_bytes(), mimetype=kind)
        response.headers["Cache-Control"] = "public, max-age=3600"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def safe_next(target: str | None) -> str:
    """Where to go after login or a language switch: a path of this site only."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or len(target) > 300:
        return "/"
    return target


# -- forms ----------------------------------------------------------------------------------------

def field_errors(error: LisaError, language: str) -> dict[str, list[str]]:
    """A service's field messages ({"location": {"address": [...]}}) flattened to the form's
    dotted names ("location.address"), in the user's language, for display next to each field."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            flat.setdefault(prefix or "_schema", []).extend(
                i18n.gettext(language, item) for item in value)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(f"{prefix}.{index}", item)
        else:
            flat.setdefault(prefix or "_schema", []).append(i18n.gettext(language, str(value)))

    walk("", error.fields)
    return flat


def schema_choices(cls: type, method: str, path: str, dotted: str) -> tuple[str, ...]:
    """The values a REST route's request schema accepts for a field (its OneOf), read off the
    route the gateway serves: the pages offer exactly what the service validates, without
    importing the service."""
    from shared.http import routes_of

    for route in routes_of(cls):
        if route.method == method and route.path == path and route.request is not None:
            schema = route.request()
            names = dotted.split(".")
            for name in names[:-1]:
                schema = schema.fields[name].schema
            for validator in schema.fields[names[-1]].validators:
                if hasattr(validator, "choices"):
                    return tuple(validator.choices)
    raise LookupError(f"{method} {path} has no choices for {dotted}")


def blank_to_none(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def number_or_text(value: str | None):
    """A number typed in a form, as a number when it is one; else the text, which the
    service's schema refuses with its own message."""
    text = blank_to_none(value)
    if text is None:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return text
