"""Users, passwords (argon2id), bearer tokens and the login throttle.

Password hashing is the one CPU-heavy thing the gateway does, and it must not stall the requests
around it (docs/adr/0013-gateway-login-throttle-and-hashing.md):
- it runs in a real OS thread (eventlet's tpool; argon2-cffi releases the GIL), at most
  `LISA_PASSWORD_HASHING_CONCURRENCY` at once, so hashing never takes every core from the hub;
- no database session (nor, on SQLite, the database lock every request needs) is held while it
  runs;
- argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane: one hash is one core); a hash made
  with other parameters is replaced at the next successful login;
- after `LISA_LOGIN_MAX_FAILURES` failures for one username, or
  `LISA_LOGIN_MAX_FAILURES_PER_ADDRESS` from one address, within `LISA_LOGIN_WINDOW_SECONDS`,
  attempts are refused (429) before any hashing. The failures are rows in the gateway's
  database, so every replica counts the same ones. An attempt is recorded as a failure *before*
  its password is checked, in the same transaction that counts the earlier ones (serialised per
  username and address), and forgotten if the password was right: concurrent guesses cannot all
  pass the check before any of them is recorded.
"""
import hashlib
import logging
import math
import os
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool
from eventlet.semaphore import Semaphore
from sqlalchemy import and_, delete, or_, select, text

from services.gateway.models import ApiToken, LoginFailure, User
from shared.clock import as_utc
from shared.config import Setting
from shared.errors import TooManyRequests, Unauthenticated, ValidationFailed
from shared.identity import OPEN311_CLIENT, OPEN311_PUBLIC, ROLES, SERVICE, Identity
from shared.reference import partner_codes

log = logging.getLogger(__name__)

TOKEN_TTL = Setting("LISA_TOKEN_TTL_SECONDS", "28800", "lifetime of an API token (60 to "
                    "604800)")
TOKEN_RETENTION_DAYS = Setting("LISA_TOKEN_RETENTION_DAYS", "30", "days an expired or revoked "
                               "API token is kept (which token acted when) before pruning")
LOGIN_MAX_FAILURES = Setting("LISA_LOGIN_MAX_FAILURES", "5", "failed logins for one username "
                             "that close it for the window")
LOGIN_MAX_FAILURES_PER_ADDRESS = Setting(
    "LISA_LOGIN_MAX_FAILURES_PER_ADDRESS", "20", "failed logins from one client address that "
    "close it for the window (higher than per username: an office behind one NAT address)")
LOGIN_WINDOW = Setting("LISA_LOGIN_WINDOW_SECONDS", "900", "the login throttle's window")
PASSWORD_HASHING_CONCURRENCY = Setting(
    "LISA_PASSWORD_HASHING_CONCURRENCY", None, "password hashes computed at once by one gateway "
    "(default: one core fewer than the machine has, so hashing never takes the core that serves "
    "every other request)")
SETTINGS = (TOKEN_TTL, TOKEN_RETENTION_DAYS, LOGIN_MAX_FAILURES, LOGIN_MAX_FAILURES_PER_ADDRESS,
            LOGIN_WINDOW,
            PASSWORD_HASHING_CONCURRENCY)

# OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_slots: Semaphore | None = None
_dummy_hash: str | None = None


def _hashing_slots() -> Semaphore:
    global _slots
    if _slots is None:
        _slots = Semaphore(hashing_concurrency())
    return _slots


def hashing_concurrency() -> int:
    if PASSWORD_HASHING_CONCURRENCY.text() is None:
        return max(1, (os.cpu_count() or 2) - 1)
    return max(1, PASSWORD_HASHING_CONCURRENCY.integer())


def _hashing(fn, *args):
    """Run an argon2 call in an OS thread once a hashing slot is free (green wait)."""
    with _hashing_slots():
        return tpool.execute(fn, *args)


def hash_password(password: str) -> str:
    return _hashing(_hasher.hash, password)


def _password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hashing(_hasher.verify, stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _unknown_user_hash() -> str:
    """Verified when the username is unknown, so a wrong username costs as long as a wrong
    password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("not-a-password")
    return _dummy_hash


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def identity_of(user: User) -> Identity:
    return Identity(user.username, user.role, user.organisation,
                    tuple(a for a in user.antennas.split(",") if a))


def create_user(session, username: str, password: str, role: str, organisation: str,
                antennas: list[str], language: str = "fr") -> User:
    problems = {}
    if role not in ROLES or role in (SERVICE, OPEN311_CLIENT, OPEN311_PUBLIC):  # no person
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


MAX_TOKEN_TTL_SECONDS = 7 * 24 * 3600


def token_ttl_seconds() -> int:
    """An API token's lifetime: from a minute to a week; anything else is refused at start."""
    return TOKEN_TTL.bounded(60, MAX_TOKEN_TTL_SECONDS)


# -- the login throttle ---------------------------------------------------------------------------

def seconds_until_allowed(session, username: str, address: str, now: datetime,
                          excluding: int | None = None) -> int:
    """0 if a login may be attempted; else how long until the window lets one through again:
    when the oldest of the last `limit` failures (for the username, or from the address) leaves
    the window. Refused attempts are not failures, so waiting is enough. `excluding`: the
    attempt being decided, already recorded."""
    window = timedelta(seconds=LOGIN_WINDOW.integer())
    waits = []
    for column, value, limit in (
            (LoginFailure.username, username, LOGIN_MAX_FAILURES.integer()),
            (LoginFailure.address, address, LOGIN_MAX_FAILURES_PER_ADDRESS.integer())):
        recent = session.scalars(select(LoginFailure.at).where(
            column == value, LoginFailure.at > now - window,
            LoginFailure.id != (excluding if excluding is not None else -1),
        ).order_by(LoginFailure.at.desc()).limit(limit)).all()
        if len(recent) >= limit:
            waits.append(math.ceil((as_utc(recent[-1]) + window - now).total_seconds()))
    return max([1, *waits]) if waits else 0


def _throttle_key(kind: str, value: str) -> int:
    digest = hashlib.sha256(f"lisa-login:{kind}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def reserve_attempt(session, username: str, address: str, now: datetime) -> tuple[int, int]:
    """Record this attempt as a failure and count the earlier ones, atomically: (0, its row id)
    if it may go on, else (seconds to wait, 0) and nothing recorded. On PostgreSQL transaction
    advisory locks on the username and the address serialise the attempts (in one order, so
    two never wait on each other); on SQLite the INSERT takes the database's write lock, which
    the next attempt's INSERT waits for."""
    if session.get_bind().dialect.name == "postgresql":
        for key in sorted({_throttle_key("user", username), _throttle_key("address", address)}):
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    attempt = LoginFailure(username=username, address=address, at=now)
    session.add(attempt)
    session.flush()
    wait = seconds_until_allowed(session, username, address, now, excluding=attempt.id)
    if wait:
        session.rollback()
        return wait, 0
    session.commit()
    return 0, attempt.id


def issue_token(database, username: str, password: str, address: str, now: datetime) -> dict:
    """Record the attempt under the throttle and load the user (one short session), verify the
    password with no session held, then forget the failures and record the new token (another
    short session) if it was right."""
    address = address[:64]  # an address as a (trusted) proxy forwarded it: bounded like its column
    with database.session() as session:
        wait, _ = reserve_attempt(session, username, address, now)
        user = session.scalars(select(User).where(User.username == username)).first()
    if wait:
        log.warning("login refused by the throttle: username %r from %s, %d s to wait",
                    username, address, wait)
        raise TooManyRequests(f"Too many failed logins; try again in {wait} seconds.", wait)
    known = user is not None and user.active
    matches = _password_matches(user.password_hash if known else _unknown_user_hash(),
                                password)
    if not (known and matches):   # the attempt is recorded already
        log.info("login failed: username %r from %s", username, address)
        raise Unauthenticated("Wrong username or password.")
    new_hash = hash_password(password) if _hasher.check_needs_rehash(user.password_hash) \
        else None
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=token_ttl_seconds())
    with database.session() as session:
        session.add(ApiToken(token_hash=token_digest(token), user_id=user.id, created_at=now,
                             expires_at=expires, revoked=False))
        session.execute(delete(LoginFailure).where(LoginFailure.username == username))
        if new_hash is not None:
            session.get(User, user.id).password_hash = new_hash
        session.commit()
    return {"access_token": token, "token_type": "Bearer", "expires_at": expires,
            "role": user.role, "organisation": user.organisation}


# -- tokens ---------------------------------------------------------------------------------------

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
    if api_token.revoked or as_utc(api_token.expires_at) <= now or not user.active:
        raise Unauthenticated("The token has expired or was revoked.")
    return identity_of(user)


def revoke(session, authorization: str, now: datetime) -> None:
    token = authorization[len("Bearer "):].strip()
    api_token = session.get(ApiToken, token_digest(token))
    if api_token is not None:
        api_token.revoked, api_token.revoked_at = True, now
        session.commit()


def prune(session, now: datetime, retention: timedelta) -> dict:
    """Forget tokens expired or revoked more than `retention` ago, and failed logins the
    throttle no longer counts."""
    cutoff = now - retention
    tokens = session.execute(delete(ApiToken).where(or_(
        ApiToken.expires_at < cutoff,
        and_(ApiToken.revoked, ApiToken.revoked_at < cutoff)))).rowcount
    failures = session.execute(delete(LoginFailure).where(
        LoginFailure.at < now - timedelta(seconds=LOGIN_WINDOW.integer()))).rowcount
    session.commit()
    return {"tokens": tokens, "login_failures": failures}
