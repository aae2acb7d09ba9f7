"""Configuration from environment variables, with embedded-mode defaults.

Every setting the platform reads is here, so `env | grep LISA_` tells the whole story.
"""
import os
from pathlib import Path
from typing import overload

PROJECT_ROOT = Path(__file__).resolve().parent.parent

EMBEDDED_AMQP_URI = "lisa-memory://localhost/"


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: None = None) -> str | None: ...
def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def var_dir() -> Path:
    path = Path(env("LISA_VAR_DIR", str(PROJECT_ROOT / "var")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def amqp_uri(service: str | None = None) -> str:
    """`LISA_<SERVICE>_AMQP_URI` (the service's own broker user, see `broker-setup`), else
    `LISA_AMQP_URI`, else the embedded in-memory broker."""
    specific = env(f"LISA_{service.upper()}_AMQP_URI") if service else None
    return specific or env("LISA_AMQP_URI", EMBEDDED_AMQP_URI)


def broker_user(service: str) -> str:
    """The RabbitMQ user a service connects as when the deployment gives each its own:
    `LISA_BROKER_USER_PREFIX` (`lisa-`) and the service's name."""
    return f"{env('LISA_BROKER_USER_PREFIX', 'lisa-')}{service}"


def amqp_user(uri: str) -> str | None:
    """The user name in an AMQP URI (None for the embedded broker)."""
    from kombu.utils.url import url_to_parts

    if uri.startswith(EMBEDDED_AMQP_URI.split(":")[0]):
        return None
    return url_to_parts(uri).username or "guest"


def broker_users_enforced(service: str) -> bool:
    """True when `service` connects as its own broker user: then every service does (the
    deployment ran `broker-setup`), and a consumer demands that an event's validated `user_id`
    is its owner's user."""
    return amqp_user(amqp_uri(service)) == broker_user(service)


def event_retry_delays() -> tuple[float, ...]:
    """Seconds to wait before each retry of an event whose handler met a transient failure:
    doubling from `LISA_EVENT_RETRY_FIRST_SECONDS` (1) up to `LISA_EVENT_RETRY_MAX_SECONDS` (60)
    each, until they add up to `LISA_EVENT_RETRY_WINDOW_SECONDS` (900); then the event is
    dead-lettered."""
    first = float(env("LISA_EVENT_RETRY_FIRST_SECONDS", "1"))
    longest = float(env("LISA_EVENT_RETRY_MAX_SECONDS", "60"))
    window = float(env("LISA_EVENT_RETRY_WINDOW_SECONDS", "900"))
    delays, total, delay = [], 0.0, first
    while total < window and first > 0:
        delays.append(min(delay, longest))
        total += delays[-1]
        delay *= 2
    return tuple(delays)


def event_workers() -> int:
    """Workers a service's event handlers may take at once (`LISA_EVENT_WORKERS`); the rest of
    `LISA_MAX_WORKERS` stay free for API calls while consumers wait on another service."""
    default = max(1, int(env("LISA_MAX_WORKERS", "10")) // 3)
    return max(1, int(env("LISA_EVENT_WORKERS", str(default))))


def outbox_retention_days() -> float:
    """Days a published outbox row is kept (for inspection) before the housekeeping prunes it."""
    return float(env("LISA_OUTBOX_RETENTION_DAYS", "7"))


def processed_events_retention_days() -> float:
    """Days a consumer remembers an event id it processed. Longer than any redelivery: the
    retry window and the time a dead letter may wait for its replay."""
    return float(env("LISA_PROCESSED_EVENTS_RETENTION_DAYS", "30"))


def housekeeping_interval_seconds() -> float:
    return float(env("LISA_HOUSEKEEPING_INTERVAL_SECONDS", "3600"))


def database_url(service: str) -> str:
    """`LISA_<SERVICE>_DATABASE_URL`, else `LISA_DATABASE_URL` (a `{service}` placeholder gives
    each service its own database), else a SQLite file under var/."""
    specific = env(f"LISA_{service.upper()}_DATABASE_URL")
    if specific:
        return specific
    template = env("LISA_DATABASE_URL")
    if template:
        return template.replace("{service}", service)
    return f"sqlite:///{var_dir() / service}.db"


def http_host() -> str:
    return env("LISA_HTTP_HOST", "127.0.0.1")


def http_port() -> int:
    return int(env("LISA_HTTP_PORT", "8000"))


def ops_port(service: str) -> int | None:
    """Port of a back-end service's own /healthz, /readyz, /metrics (distributed mode)."""
    value = env(f"LISA_{service.upper()}_OPS_PORT")
    return int(value) if value else None


def antenna_id() -> str:
    """The antenna this deployment seeds and plans for (the first of `served_antennas`)."""
    return env("LISA_ANTENNA_ID", "ixelles-tulipe")


def served_antennas() -> tuple[str, ...]:
    """Every antenna this deployment serves (`LISA_ANTENNAS`, comma-separated; default the one
    `LISA_ANTENNA_ID`). An event or a call about any other antenna is not ours to act on."""
    listed = tuple(a.strip() for a in (env("LISA_ANTENNAS") or "").split(",") if a.strip())
    return listed or (antenna_id(),)


def antenna_location() -> tuple[float, float]:
    """Where the crew's van starts and ends its day (the antenna)."""
    return (float(env("LISA_ANTENNA_LAT", "50.8338")), float(env("LISA_ANTENNA_LON", "4.3703")))


def is_embedded() -> bool:
    return amqp_uri().startswith(EMBEDDED_AMQP_URI.split(":")[0])


# -- keys: no defaults; `make demo` makes its own under var/, everything else is given them --------

class ConfigurationError(ValueError):
    """A key or setting is missing or unreadable; the message names the variable."""


PUBLIC_KEYS_VARIABLE = "LISA_IDENTITY_PUBLIC_KEYS"
ENCRYPTION_KEYS_VARIABLE = "LISA_ENCRYPTION_KEYS"
AUDIENCE_VARIABLE = "LISA_IDENTITY_AUDIENCE"


def signing_key_variable(service: str) -> str:
    return f"LISA_{service.upper()}_SIGNING_KEY"


def signing_key(service: str) -> str | None:
    """This service's private Ed25519 key: it signs the identities this process mints."""
    return env(signing_key_variable(service))


def identity_public_keys() -> str | None:
    """`issuer:base64key` entries, comma-separated: the keys every process trusts (ADR 12)."""
    return env(PUBLIC_KEYS_VARIABLE)


def identity_audience() -> str:
    """Names this deployment in every identity, so another deployment refuses its tokens."""
    return env(AUDIENCE_VARIABLE, f"lisa:{antenna_id()}")


def identity_ttl_seconds() -> int:
    """How long a minted identity is valid: one call chain, not a session."""
    return int(env("LISA_IDENTITY_TTL_SECONDS", "300"))


def encryption_keys() -> list[str]:
    """Fernet keys for personal content at rest, comma-separated: the first encrypts, every one
    decrypts (a key change-over, then `lisa.cli reencrypt-referrals`)."""
    return [key.strip() for key in (env(ENCRYPTION_KEYS_VARIABLE) or "").split(",")
            if key.strip()]


def token_ttl_seconds() -> int:
    return int(env("LISA_TOKEN_TTL_SECONDS", str(8 * 3600)))


def token_retention_days() -> int:
    """Days an expired or revoked API token is kept (which token acted when) before pruning."""
    return int(env("LISA_TOKEN_RETENTION_DAYS", "30"))


def login_max_failures() -> int:
    """Failed logins for one username, or from one client address, that close the window."""
    return int(env("LISA_LOGIN_MAX_FAILURES", "5"))


def login_window_seconds() -> int:
    return int(env("LISA_LOGIN_WINDOW_SECONDS", str(15 * 60)))


def password_hashing_concurrency() -> int:
    """Password hashes computed at once by one gateway: by default one core fewer than the
    machine has, so hashing never takes the core that serves every other request."""
    default = max(1, (os.cpu_count() or 2) - 1)
    return max(1, int(env("LISA_PASSWORD_HASHING_CONCURRENCY", str(default))))


def trusted_proxy_hops() -> int:
    """Reverse proxies in front of the gateway that append to X-Forwarded-For: the client
    address the login throttle counts is the one they saw (0: the socket's peer)."""
    return int(env("LISA_TRUSTED_PROXY_HOPS", "0"))


def rpc_timeout_seconds() -> float:
    """How long the gateway waits for a service; an unanswered request expires in the queue."""
    return float(env("LISA_RPC_TIMEOUT_SECONDS", "20"))


def contact_retention_days() -> int:
    """Days a citizen's contact is kept after the incident is closed (GDPR storage limitation)."""
    return int(env("LISA_CONTACT_RETENTION_DAYS", "90"))


def referral_reminder_working_days() -> int:
    return int(env("LISA_REFERRAL_REMINDER_DAYS", "3"))


def referral_expiry_working_days() -> int:
    return int(env("LISA_REFERRAL_EXPIRY_DAYS", "10"))


def referral_purge_days() -> int:
    """Days after closure when a referral's personal content is erased."""
    return int(env("LISA_REFERRAL_PURGE_DAYS", "180"))


def nameko_config(web_port: int | None = None, service: str | None = None) -> dict:
    """The nameko config dict for this process (`service`: the one service it runs alone)."""
    return {
        "AMQP_URI": amqp_uri(service),
        "WEB_SERVER_ADDRESS": f"{http_host()}:{web_port or http_port()}",
        "max_workers": int(env("LISA_MAX_WORKERS", "10")),
        "PREFETCH_COUNT": int(env("LISA_PREFETCH_COUNT", "20")),
        "serializer": "json",
    }
