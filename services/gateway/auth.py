"""Users, passwords (argon2) and bearer tokens. Hashing runs in a real OS thread (eventlet's
tpool) so a token request does not stall every other request for the ~50 ms argon2 takes."""
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool
from sqlalchemy import select

from services.gateway.models import ApiToken, User
from shared import config
from shared.errors import Unauthenticated, ValidationFailed
from shared.identity import ROLES, Identity
from shared.reference import partner_codes

_hasher = PasswordHasher()
# Verified when the username is unknown, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return tpool.execute(_hasher.hash, password)


def _password_matches(stored_hash: str, password: str) -> bool:
    try:
        return tpool.execute(_hasher.verify, stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def identity_of(user: User) -> Identity:
    return Identity(user.username, user.role, user.organisation,
                    tuple(a for a in user.antennas.split(",") if a))


def create_user(session, username: str, password: str, role: str, organisation: str,
                antennas: list[str], language: str = "fr") -> User:
    problems = {}
    if role not in ROLES or role == "service":
        problems["role"] = [f"Unknown role '{role}'."]
    if organisation not in partner_codes():
        problems["organisation"] = [f"Unknown organisation '{organisation}'."]
    if not antennas:
        problems["antennas"] = ["At least one antenna."]
    if problems:
        raise ValidationFailed("Invalid user.", problems)
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        user = User(username=username, created_at=datetime.now(UTC))
        session.add(user)
    user.password_hash = hash_password(password)
    user.role, user.organisation = role, organisation
    user.antennas, user.language, user.active = ",".join(antennas), language, True
    session.flush()
    return user


def issue_token(session, username: str, password: str, now: datetime) -> dict:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        _password_matches(_DUMMY_HASH, password)
        raise Unauthenticated("Wrong username or password.")
    if not _password_matches(user.password_hash, password):
        raise Unauthenticated("Wrong username or password.")
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=config.token_ttl_seconds())
    session.add(ApiToken(token_hash=token_digest(token), user_id=user.id, created_at=now,
                         expires_at=expires, revoked=False))
    session.commit()
    return {"access_token": token, "token_type": "Bearer", "expires_at": expires,
            "role": user.role, "organisation": user.organisation}


def authenticate(session, authorization: str | None, now: datetime) -> Identity:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthenticated("Send 'Authorization: Bearer <token>'.")
    token = authorization[len("Bearer "):].strip()
    row = session.execute(
        select(ApiToken, User).join(User).where(ApiToken.token_hash == token_digest(token))
    ).first()
    if row is None:
        raise Unauthenticated("Unknown token.")
    api_token, user = row
    expires = api_token.expires_at
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if api_token.revoked or expires <= now or not user.active:
        raise Unauthenticated("The token has expired or was revoked.")
    return identity_of(user)


def revoke(session, authorization: str) -> None:
    token = authorization[len("Bearer "):].strip()
    api_token = session.get(ApiToken, token_digest(token))
    if api_token is not None:
        api_token.revoked = True
        session.commit()
