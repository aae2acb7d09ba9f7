"""API keys of Open311 GeoReport v2 clients (docs/adr/0030-open311-georeport-v2.md).

GeoReport v2 authenticates a POST with an `api_key` parameter. An admin issues a key for one
client and one antenna; the key is shown once and only its SHA-256 is stored (a key is 256
random bits: a fast hash is enough, as for the API tokens). A key that is unknown or revoked
authenticates nothing. The gateway turns a valid key into an identity of role `open311_client`
it signs like any user's, so the incidents service decides what the client may do; a read
without a key is an `open311_public` identity. Neither is ever a person's account."""
import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.gateway.models import Open311Key
from shared import config
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.fields import record_id
from shared.identity import OPEN311_CLIENT, OPEN311_PUBLIC, Identity

KEY_PREFIX = "lisa311_"
MAX_KEY_CHARS = 200


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def view(row: Open311Key) -> dict:
    return {"id": row.id, "name": row.name, "antenna_id": row.antenna_id,
            "issued_by": row.issued_by, "issued_at": row.issued_at,
            "revoked_at": row.revoked_at}


def require_admin(identity: Identity) -> None:
    """Deny by default: only the admin issues, lists and revokes keys."""
    identity.require_role("admin")


def issue(session, admin: Identity, name: str, antenna_id: str | None, now: datetime) -> dict:
    require_admin(admin)
    antenna = antenna_id or admin.acting_antenna()
    if antenna not in admin.antennas or antenna not in config.served_antennas():
        raise ValidationFailed("Unknown antenna.",
                               {"antenna_id": [f"Not an antenna you serve: {antenna!r}."]})
    if session.scalars(select(Open311Key).where(Open311Key.name == name)).first() is not None:
        raise ValidationFailed("Name taken.", {"name": [f"A key named {name!r} exists."]})
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = Open311Key(key_hash=digest(key), name=name, antenna_id=antenna, issued_by=admin.user,
                     issued_at=now, revoked_at=None)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # the same name issued at the same moment by another admin
        session.rollback()
        raise ValidationFailed("Name taken.", {"name": [f"A key named {name!r} exists."]}) \
            from None
    return {**view(row), "api_key": key}


def listed(session, admin: Identity) -> list[dict]:
    require_admin(admin)
    return [view(row) for row in session.scalars(
        select(Open311Key).where(Open311Key.antenna_id.in_(admin.antennas))
        .order_by(Open311Key.id))]


def revoke(session, admin: Identity, key_id: object, now: datetime) -> dict:
    require_admin(admin)
    row = session.get(Open311Key, record_id(key_id, NotFound("No such key.")))
    if row is None or row.antenna_id not in admin.antennas:
        raise NotFound("No such key.")
    if row.revoked_at is None:
        row.revoked_at = now
        session.commit()
    return view(row)


def client_identity(session, api_key: str | None) -> Identity:
    """The identity a valid, unrevoked key stands for; Forbidden otherwise (GeoReport v2 answers
    an invalid key with 403)."""
    if not api_key:
        raise Forbidden("An api_key is required.")
    if not isinstance(api_key, str) or len(api_key) > MAX_KEY_CHARS:
        raise Forbidden("Invalid api_key.")
    row = session.scalars(select(Open311Key).where(Open311Key.key_hash == digest(api_key))
                          ).first()
    if row is None or row.revoked_at is not None:
        raise Forbidden("Invalid api_key.")
    return Identity(f"open311:{row.name}", OPEN311_CLIENT, "open311", (row.antenna_id,))


def public_identity() -> Identity:
    """Whoever reads the public requests without a key, for every antenna served."""
    return Identity("open311:public", OPEN311_PUBLIC, "open311", config.served_antennas())
