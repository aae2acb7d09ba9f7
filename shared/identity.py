"""The caller's identity, carried in nameko's context data to every RPC (ADR 12).

The gateway authenticates a user and mints a signed identity; nameko copies context data into
the headers of every RPC call the worker makes, so each service checks permissions itself.
Anyone who reaches the bus can write headers, so the identity is a compact JWS (RFC 7515) signed
with Ed25519 (EdDSA, RFC 8037): every process holds the public keys and can verify, only the
holder of a private key can mint. A user identity is believed only if a gateway key signed it, a
service's own identity (event handlers, timers) only if that service's key did, so a process
that is taken over cannot pass for a street worker. A token names its audience (the deployment)
and expires within minutes: a header captured from the bus is soon worthless, and worthless
elsewhere.
"""
import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from shared import config
from shared.config import ConfigurationError
from shared.errors import Forbidden, Unauthenticated

CONTEXT_KEY = "lisa_identity"
GATEWAY = "gateway"
SERVICE = "service"
ALGORITHM = "EdDSA"
CLOCK_SKEW_SECONDS = 30  # an issued-at this far ahead is another machine's clock, not a forgery
MAX_TOKEN_CHARS = 4096   # judged before parsing: a header is not a place for megabytes

ROLES = (
    "desk", "warden", "street_worker", "mediator", "police", "tags", "coordinator", "auditor",
    "admin", SERVICE,
    # Open311 GeoReport v2 callers (ADR 30), minted by the gateway, never a person's account: a
    # client holding an API key the admin issued, and anyone reading the public requests.
    "open311_client", "open311_public",
    "warden_coordinator",   # plans the Gardiens de la Paix rosters (issue 9)
    "techno_adviser",   # technoprevention adviser (home-security visits), issue 11
)
OPEN311_CLIENT, OPEN311_PUBLIC = "open311_client", "open311_public"


@dataclass(frozen=True)
class Identity:
    user: str
    role: str
    organisation: str
    antennas: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def for_service(cls, name: str, antennas) -> "Identity":
        """A service acting on its own behalf (event handlers, timers), for the antennas it
        serves; only that service's own key can vouch for it."""
        return cls(name, SERVICE, f"service:{name}", tuple(antennas))

    @property
    def issuer(self) -> str:
        """Who alone may vouch for this identity."""
        return self.user if self.role == SERVICE else GATEWAY

    @property
    def is_service(self) -> bool:
        """A service acting on its own behalf (an event handler, a timer), not a person."""
        return self.role == SERVICE

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def require_role(self, *roles: str) -> None:
        if not self.has_role(*roles):
            raise Forbidden(f"Role '{self.role}' may not do this.")

    def acting_antenna(self) -> str:
        """The antenna this identity acts for when it creates something: its first one. One
        with no antenna may create nothing (Forbidden)."""
        if not self.antennas:
            raise Forbidden("This identity serves no antenna.")
        return self.antennas[0]

    def require_antenna(self, antenna_id: str) -> None:
        if antenna_id not in self.antennas:
            raise Forbidden("This antenna is not one of yours.")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not."""
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64encode(hashlib.sha256(raw).digest())[:16]


@dataclass(frozen=True)
class SigningKey:
    """One process's private key: mints the identities that process may vouch for."""
    issuer: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, issuer: str) -> "SigningKey":
        return cls(issuer, Ed25519PrivateKey.generate())

    @classmethod
    def from_text(cls, issuer: str, text: str) -> "SigningKey":
        """Base64 of the raw 32-byte key, or a PKCS#8 PEM."""
        variable = config.signing_key_variable(issuer)
        try:
            if "-----BEGIN" in text:
                key = serialization.load_pem_private_key(text.encode(), password=None)
            else:
                key = Ed25519PrivateKey.from_private_bytes(_b64decode(text))
        except (ValueError, TypeError, binascii.Error) as exc:
            raise ConfigurationError(f"{variable} is not an Ed25519 private key (base64 of "
                                        "32 bytes, or PEM).") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{variable} is not an Ed25519 key.")
        return cls(issuer, key)

    @classmethod
    def from_config(cls, issuer: str) -> "SigningKey":
        text = config.signing_key(issuer)
        if not text:
            raise ConfigurationError(f"{config.signing_key_variable(issuer)} is not set.")
        return cls.from_text(issuer, text)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def kid(self) -> str:
        return key_id(self.public_key)

    def private_text(self) -> str:
        return base64.b64encode(self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption())).decode()

    def public_entry(self) -> str:
        """This key's entry in LISA_IDENTITY_PUBLIC_KEYS."""
        raw = self.public_key.public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)
        return f"{self.issuer}:{base64.b64encode(raw).decode()}"

    def mint(self, identity: Identity, *, audience: str | None = None,
             ttl_seconds: int | None = None, now: float | None = None) -> str:
        if identity.issuer != self.issuer:
            if self.issuer == GATEWAY:
                raise ValueError("The gateway mints users, never a service's identity.")
            raise ValueError(f"The {self.issuer} service may act only as itself.")
        issued = int(time.time() if now is None else now)
        ttl = config.identity_ttl_seconds() if ttl_seconds is None else ttl_seconds
        header = {"alg": ALGORITHM, "typ": "JWT", "kid": self.kid}
        claims = {"iss": self.issuer, "sub": identity.user, "role": identity.role,
                  "organisation": identity.organisation, "antennas": list(identity.antennas),
                  "aud": audience or config.identity_audience(), "iat": issued,
                  "exp": issued + ttl}
        signing_input = f"{_b64encode(_json(header))}.{_b64encode(_json(claims))}"
        return f"{signing_input}.{_b64encode(self.private_key.sign(signing_input.encode()))}"


def _json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


class TrustedKeys:
    """The public keys a process verifies with: issuer -> {key id: key}. Two keys for one issuer
    during a change-over (ADR 12)."""

    def __init__(self, keys: dict[str, dict[str, Ed25519PublicKey]]):
        self.keys = keys

    @classmethod
    def parse(cls, text: str | None) -> "TrustedKeys":
        variable = config.PUBLIC_KEYS_VARIABLE
        keys: dict[str, dict[str, Ed25519PublicKey]] = {}
        for entry in (e.strip() for e in (text or "").split(",")):
            if not entry:
                continue
            issuer, _, encoded = entry.partition(":")
            if not issuer.strip() or not encoded.strip():
                raise ConfigurationError(f"{variable}: '{entry[:20]}' is not issuer:base64.")
            try:
                raw = _b64decode(encoded)
            except (ValueError, binascii.Error) as exc:
                raise ConfigurationError(f"{variable}: the key of '{issuer}' is not "
                                            "base64.") from exc
            if len(raw) != 32:
                raise ConfigurationError(f"{variable}: the key of '{issuer}' is not 32 bytes "
                                            "(a raw Ed25519 public key).")
            public_key = Ed25519PublicKey.from_public_bytes(raw)
            keys.setdefault(issuer.strip(), {})[key_id(public_key)] = public_key
        if not keys:
            raise ConfigurationError(f"{variable}: no key.")
        return cls(keys)

    @classmethod
    def from_config(cls) -> "TrustedKeys":
        text = config.identity_public_keys()
        if not text:
            raise ConfigurationError(f"{config.PUBLIC_KEYS_VARIABLE} is not set.")
        return cls.parse(text)

    def verify(self, token, *, audience: str | None = None, now: float | None = None
               ) -> Identity:
        if not token:
            raise Unauthenticated("No caller identity.")
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated("Malformed caller identity.")
        try:
            header_part, claims_part, signature_part = token.split(".")
            header = json.loads(_b64decode(header_part))
            claims = json.loads(_b64decode(claims_part))
            signature = _b64decode(signature_part)
            kid, role, subject = header["kid"], claims["role"], claims["sub"]
        except (ValueError, TypeError, KeyError, RecursionError, binascii.Error) as exc:
            raise Unauthenticated("Malformed caller identity.") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated("Caller identity is not signed with EdDSA.")
        # Who may vouch follows from what is claimed: a user only by the gateway, a service
        # only by itself. The key is looked up under that issuer, never under a claimed one.
        issuer = subject if role == SERVICE else GATEWAY
        key = self.keys.get(issuer, {}).get(kid) if isinstance(issuer, str) and \
            isinstance(kid, str) else None
        if key is None or claims.get("iss") != issuer:
            raise Unauthenticated(f"Caller identity is signed by a key not trusted for "
                                  f"'{issuer}'.")
        try:
            key.verify(signature, f"{header_part}.{claims_part}".encode())
        except InvalidSignature:
            raise Unauthenticated("Caller identity signature is invalid.") from None
        return _checked(claims, audience or config.identity_audience(),
                        time.time() if now is None else now)


def _checked(claims: dict, audience: str, now: float) -> Identity:
    if claims.get("aud") != audience:
        raise Unauthenticated("Caller identity is for another audience.")
    issued, expires = claims.get("iat"), claims.get("exp")
    if not (isinstance(issued, int) and isinstance(expires, int)) or \
            isinstance(issued, bool) or isinstance(expires, bool):
        raise Unauthenticated("Malformed caller identity.")
    if now >= expires:
        raise Unauthenticated("Caller identity has expired.")
    if issued > now + CLOCK_SKEW_SECONDS:
        raise Unauthenticated("Caller identity is not valid yet.")
    user, role, organisation, antennas = (claims.get(k) for k in ("sub", "role", "organisation",
                                                                   "antennas"))
    if not (isinstance(user, str) and role in ROLES and isinstance(organisation, str)
            and isinstance(antennas, list) and all(isinstance(a, str) for a in antennas)):
        raise Unauthenticated("Malformed caller identity.")
    return Identity(user, role, organisation, tuple(antennas))


def check_configuration(service: str) -> None:
    """Raise ConfigurationError unless this service can mint an identity every process will
    believe (its key readable and listed) and verify the gateway's users."""
    key = SigningKey.from_config(service)
    trusted = TrustedKeys.from_config()
    if GATEWAY not in trusted.keys:
        raise ConfigurationError(f"{config.PUBLIC_KEYS_VARIABLE} has no key for 'gateway'.")
    if key.kid not in trusted.keys.get(service, {}):
        raise ConfigurationError(f"The public key of {config.signing_key_variable(service)} "
                                    f"is not listed in {config.PUBLIC_KEYS_VARIABLE}.")


def context_for(identity: Identity) -> dict:
    """Context data for a standalone client or a test acting as `identity`, signed with the key
    of its issuer from this process's environment."""
    return {CONTEXT_KEY: SigningKey.from_config(identity.issuer).mint(identity)}
