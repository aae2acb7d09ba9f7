"""The caller's identity, carried in nameko's context data to every RPC and event handler.

The gateway authenticates a user and puts a signed identity in the worker's context data; nameko
copies context data into the headers of every RPC call and event the worker makes, so each
service can check permissions itself. The signature (HMAC-SHA256 with LISA_SECRET_KEY) means a
client that can reach the bus still cannot forge a role by writing headers.
"""
import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, field

from nameko.extensions import DependencyProvider

from shared import config
from shared.errors import Forbidden, Unauthenticated

CONTEXT_KEY = "lisa_identity"

ROLES = (
    "desk", "warden", "street_worker", "mediator", "police", "tags", "coordinator", "auditor",
    "admin", "service",
)


@dataclass(frozen=True)
class Identity:
    user: str
    role: str
    organisation: str
    antennas: tuple[str, ...] = field(default_factory=tuple)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def require_role(self, *roles: str) -> None:
        if not self.has_role(*roles):
            raise Forbidden(f"Role '{self.role}' may not do this.")

    def require_antenna(self, antenna_id: str) -> None:
        if antenna_id not in self.antennas and self.role != "service":
            raise Forbidden("This antenna is not one of yours.")


def sign(identity: Identity, secret: str | None = None) -> str:
    body = json.dumps(asdict(identity), separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new((secret or config.secret_key()).encode(), body, hashlib.sha256).digest()
    return f"{base64.urlsafe_b64encode(body).decode()}.{base64.urlsafe_b64encode(mac).decode()}"


def verify(token: str | None, secret: str | None = None) -> Identity:
    if not token:
        raise Unauthenticated("No caller identity.")
    try:
        body_b64, mac_b64 = token.split(".")
        body = base64.urlsafe_b64decode(body_b64)
        mac = base64.urlsafe_b64decode(mac_b64)
    except (ValueError, TypeError) as exc:
        raise Unauthenticated("Malformed caller identity.") from exc
    expected = hmac.new((secret or config.secret_key()).encode(), body, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        raise Unauthenticated("Caller identity signature is invalid.")
    data = json.loads(body)
    return Identity(data["user"], data["role"], data["organisation"], tuple(data["antennas"]))


class CallerIdentity(DependencyProvider):
    """Injects an accessor for the identity of whoever started this call chain."""

    class Accessor:
        def __init__(self, worker_ctx):
            self._worker_ctx = worker_ctx

        @property
        def current(self) -> Identity:
            return verify(self._worker_ctx.context_data.get(CONTEXT_KEY))

        def assume(self, identity: Identity) -> None:
            """Gateway only: act as `identity` for the rest of this worker's calls."""
            self._worker_ctx.context_data[CONTEXT_KEY] = sign(identity)

    def get_dependency(self, worker_ctx):
        return self.Accessor(worker_ctx)


def context_for(identity: Identity) -> dict:
    """Context data for a standalone client or a test acting as `identity`."""
    return {CONTEXT_KEY: sign(identity)}
