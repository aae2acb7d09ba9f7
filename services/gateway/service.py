"""The HTTP gateway, the platform's edge: token authentication and the login throttle, the error
table (shared.http), OpenAPI, metrics, ops endpoints and
the web pages (services/gateway/web/).

The REST resources are the services' own (services/<name>/routes.py): `serving(resources)`
composes the gateway of them, as the registry lists them (lisa/platform.py). Each forwards to its
service over RPC with the caller's signed identity in the context data; services check
permissions themselves, the gateway never decides what a role may see."""
import logging
from collections.abc import Sequence
from datetime import timedelta

from nameko.timer import timer

from services.gateway import auth, open311_keys
from services.gateway.models import metadata
from services.gateway.openapi import build_spec
from services.gateway.schemas import (
    IssuedOpen311KeySchema,
    MeSchema,
    Open311KeyRequestSchema,
    Open311KeySchema,
    RevokedSchema,
    TokenRequestSchema,
    TokenSchema,
)
from services.gateway.web import PAGES
from shared.db import Database
from shared.dependencies import CallerIdentity, Clock, EntrypointMetrics
from shared.errors import validated
from shared.handlers import QueueGauges
from shared.http import api, read_json, routes_of
from shared.ops import OpsEndpoints
from shared.rpc import ServiceClient

log = logging.getLogger(__name__)


class GatewayService(*PAGES, OpsEndpoints):
    name = "gateway"

    db = Database(metadata)
    caller = CallerIdentity()
    clock = Clock()
    metrics = EntrypointMetrics()
    letters = QueueGauges(letters=True)  # the dead letters' depth, once per platform

    def authenticate(self, request):
        with self.db.session() as session:
            return auth.authenticate(session, request.headers.get("Authorization"),
                                     self.clock())

    # -- auth ---------------------------------------------------------------------------------
    @api("POST", "/api/v1/auth/token", summary="Exchange username and password for a token",
         tag="auth", request=TokenRequestSchema, response=TokenSchema, public=True)
    def issue_token(self, request, identity):
        data = validated(TokenRequestSchema(), read_json(request))
        token = auth.issue_token(self.db, data["username"], data["password"],
                                 request.remote_addr or "", self.clock())
        return TokenSchema().dump(token)

    @api("POST", "/api/v1/auth/revoke", summary="Revoke the token of this request", tag="auth",
         response=RevokedSchema)
    def revoke_token(self, request, identity):
        with self.db.session() as session:
            auth.revoke(session, request.headers["Authorization"], self.clock())
        return {"revoked": True}

    @api("GET", "/api/v1/me", summary="Who the token belongs to", tag="auth",
         response=MeSchema)
    def me(self, request, identity):
        return MeSchema().dump({"user": identity.user, "role": identity.role,
                                "organisation": identity.organisation,
                                "antennas": list(identity.antennas)})

    # -- Open311 callers and their API keys (ADR 30) ------------------------------------------
    def open311_caller(self, api_key: str | None = None):
        """Act, for the rest of this request, as the Open311 client of this key (Forbidden if
        it is unknown or revoked), or as the public reader when no key is needed."""
        if api_key is None:
            identity = open311_keys.public_identity()
        else:
            with self.db.session() as session:
                identity = open311_keys.client_identity(session, api_key)
        self.caller.assume(identity)
        return identity

    @api("POST", "/api/v1/open311/keys", summary="Issue an Open311 API key (admin; shown once)",
         tag="open311", request=Open311KeyRequestSchema, response=IssuedOpen311KeySchema,
         status=201)
    def issue_open311_key(self, request, identity):
        open311_keys.require_admin(identity)
        data = validated(Open311KeyRequestSchema(), read_json(request))
        with self.db.session() as session:
            issued = open311_keys.issue(session, identity, data["name"], data["antenna_id"],
                                        self.clock())
        return IssuedOpen311KeySchema().dump(issued)

    @api("GET", "/api/v1/open311/keys", summary="Open311 API keys of your antennas (admin)",
         tag="open311", response=Open311KeySchema, many=True)
    def list_open311_keys(self, request, identity):
        with self.db.session() as session:
            return Open311KeySchema(many=True).dump(open311_keys.listed(session, identity))

    @api("POST", "/api/v1/open311/keys/<key_id>/revoke", summary="Revoke an Open311 API key "
         "(admin)", tag="open311", response=Open311KeySchema)
    def revoke_open311_key(self, request, identity, key_id):
        with self.db.session() as session:
            return Open311KeySchema().dump(open311_keys.revoke(session, identity, key_id,
                                                               self.clock()))

    # -- documents ------------------------------------------------------------------------------
    @api("GET", "/api/v1/openapi.json", summary="This API's OpenAPI 3 document", tag="meta",
         public=True)
    def openapi(self, request, identity):
        return build_spec(routes_of(type(self)))

    # -- housekeeping ---------------------------------------------------------------------------
    @timer(interval=3600)
    def prune_tokens(self):
        with self.db.session() as session:
            pruned = auth.prune(session, self.clock(),
                                timedelta(days=auth.TOKEN_RETENTION_DAYS.integer()))
        if any(pruned.values()):
            log.info("pruned %(tokens)d API tokens and %(login_failures)d failed logins",
                     pruned)


class ResourceClash(TypeError):
    pass


def serving(resources: Sequence[type]) -> type:
    """The gateway serving these REST resources (route mixins, shared.http.api). Refuses two
    that declare one name or one route differently: the composed class would silently keep
    only one of them."""
    owners: dict[str, tuple[type, object]] = {}
    routes: dict[tuple[str, str], type] = {}
    for resource in resources:
        for name, member in vars(resource).items():
            if name.startswith("__"):
                continue
            if hasattr(GatewayService, name):
                raise ResourceClash(f"{resource.__name__}.{name} hides the gateway's own")
            if name in owners and not _same_client(owners[name][1], member):
                raise ResourceClash(f"{resource.__name__}.{name} is also "
                                    f"{owners[name][0].__name__}.{name}")
            owners.setdefault(name, (resource, member))
        for route in routes_of(resource):
            key = (route.method, route.path)
            if key in routes:
                raise ResourceClash(f"{route.method} {route.path} is served by both "
                                    f"{routes[key].__name__} and {resource.__name__}")
            routes[key] = resource
    return type(GatewayService.__name__, (GatewayService, *resources),
                {"__module__": __name__, "__doc__": GatewayService.__doc__})


def _same_client(one, other) -> bool:
    """Two resources of one service may each declare its RPC client under one name."""
    return (isinstance(one, ServiceClient) and isinstance(other, ServiceClient)
            and one.target_service == other.target_service)
