"""Configuration from environment variables, with embedded-mode defaults.

Every variable the platform reads is a `Setting`, declared where it is read: the platform-wide
ones here (`SETTINGS`), a service's own in its folder, named by its spec
(`ServiceSpec.settings`). No other module of shared/, services/ or lisa/ reads the environment
(the benchmarks read their own LISA_BENCH_* knobs). README's configuration table documents
every setting, and tests/unit/test_docs_are_true.py checks that it does, both ways.
"""
import os
from dataclasses import dataclass
from pathlib import Path
from typing import overload

PROJECT_ROOT = Path(__file__).resolve().parent.parent

EMBEDDED_AMQP_URI = "lisa-memory://localhost/"
SERVICE_PLACEHOLDER = "<SERVICE>"


class ConfigurationError(ValueError):
    """A key or setting is missing or unreadable; the message names the variable."""


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: None = None) -> str | None: ...
def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name (`LISA_<SERVICE>_...` for one per service), its
    default (None: none, or one computed where it is read) and what it is for."""
    variable: str
    default: str | None
    description: str

    def name(self, service: str | None = None) -> str:
        if SERVICE_PLACEHOLDER in self.variable:
            if service is None:
                raise ValueError(f"{self.variable} names a service")
            return self.variable.replace(SERVICE_PLACEHOLDER, service.upper())
        return self.variable

    def text(self, service: str | None = None) -> str | None:
        return env(self.name(service), self.default)

    def integer(self, service: str | None = None) -> int:
        return self._parsed(int, "a whole number", service)

    def bounded(self, low: int, high: int, service: str | None = None) -> int:
        """A whole number from `low` to `high`: a setting outside them is refused, not used."""
        value = self.integer(service)
        if not low <= value <= high:
            raise ConfigurationError(f"{self.name(service)} must be from {low} to {high}, "
                                     f"not {value}.")
        return value

    def number(self, service: str | None = None) -> float:
        return self._parsed(float, "a number", service)

    def _parsed(self, kind, what: str, service: str | None):
        value = self.text(service)
        if value is None:
            raise ConfigurationError(f"{self.name(service)} is not set.")
        try:
            return kind(value)
        except ValueError:
            raise ConfigurationError(f"{self.name(service)} must be {what}, not {value!r}.") \
                from None


# -- where things are ---------------------------------------------------------------------------

VAR_DIR = Setting("LISA_VAR_DIR", None, "where embedded mode keeps its SQLite files and keys "
                  "(default: var/ in the project)")
AMQP_URI = Setting("LISA_AMQP_URI", EMBEDDED_AMQP_URI, "the broker; the operator's URI for "
                   "`migrate` and the `dlq-*` commands")
SERVICE_AMQP_URI = Setting("LISA_<SERVICE>_AMQP_URI", None,
                           "a service's own broker user, else LISA_AMQP_URI")
RABBITMQ_API_URL = Setting("LISA_RABBITMQ_API_URL", None, "`broker-setup` through RabbitMQ's "
                           "management HTTP API at this URL (with the administrator's user and "
                           "password) instead of rabbitmqctl")
BROKER_USER_PREFIX = Setting("LISA_BROKER_USER_PREFIX", "lisa-",
                             "the services' broker users are <prefix><service>")
DATABASE_URL = Setting("LISA_DATABASE_URL", None, "every service's database; `{service}` in it "
                       "names each one's (default: SQLite var/{service}.db)")
SERVICE_DATABASE_URL = Setting("LISA_<SERVICE>_DATABASE_URL", None,
                               "one service's database, else LISA_DATABASE_URL")
HTTP_HOST = Setting("LISA_HTTP_HOST", "127.0.0.1", "where the gateway listens")
HTTP_PORT = Setting("LISA_HTTP_PORT", "8000", "the gateway's port (embedded: every service's)")
OPS_PORT = Setting("LISA_<SERVICE>_OPS_PORT", None, "a back-end service's /healthz /readyz "
                   "/metrics in distributed mode (default: its spec's ops_port)")
REPLICAS = Setting("LISA_REPLICAS", None, "`make run`: processes per service, e.g. "
                   "incidents=2,tags=2 (default: one each)")
LOG_LEVEL = Setting("LISA_LOG_LEVEL", "INFO", "logging level of every process")
# 30: a third of them (10) for event handlers, as many as the reference pipeline's consumer has.
# With 3, the tags service made at most 3 removal jobs at a time, each waiting on round trips:
# that, not CPU, bounded the pipeline's throughput (docs/adr/0034-report-pipeline-speed.md).
MAX_WORKERS = Setting("LISA_MAX_WORKERS", "30", "nameko workers per service")
PREFETCH_COUNT = Setting("LISA_PREFETCH_COUNT", "20", "messages a consumer holds unacknowledged")
EVENT_WORKERS = Setting("LISA_EVENT_WORKERS", None, "workers event handlers may take at once "
                        "(default: a third of LISA_MAX_WORKERS)")
EVENT_RETRY_FIRST = Setting("LISA_EVENT_RETRY_FIRST_SECONDS", "1", "first retry delay")
EVENT_RETRY_MAX = Setting("LISA_EVENT_RETRY_MAX_SECONDS", "60", "longest retry delay")
EVENT_RETRY_WINDOW = Setting("LISA_EVENT_RETRY_WINDOW_SECONDS", "900",
                             "retries stop when their delays add up to this")
OUTBOX_RETENTION_DAYS = Setting("LISA_OUTBOX_RETENTION_DAYS", "7",
                                "days a published outbox row is kept")
PROCESSED_EVENTS_RETENTION_DAYS = Setting("LISA_PROCESSED_EVENTS_RETENTION_DAYS", "30",
                                          "days a consumer remembers an event id")
HOUSEKEEPING_INTERVAL = Setting("LISA_HOUSEKEEPING_INTERVAL_SECONDS", "3600",
                                "how often outbox rows and event claims are pruned")
RPC_TIMEOUT = Setting("LISA_RPC_TIMEOUT_SECONDS", "20", "how long a caller waits for a service")
TRUSTED_PROXY_HOPS = Setting("LISA_TRUSTED_PROXY_HOPS", "0", "reverse proxies in front of the "
                             "HTTP edge whose X-Forwarded-For names the client")
ANTENNA_ID = Setting("LISA_ANTENNA_ID", "ixelles-tulipe", "the antenna seeded and planned for")
ANTENNAS = Setting("LISA_ANTENNAS", None, "every antenna served, comma-separated "
                   "(default: LISA_ANTENNA_ID)")


def var_dir() -> Path:
    path = Path(VAR_DIR.text() or str(PROJECT_ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_level() -> str:
    return LOG_LEVEL.text() or "INFO"


def amqp_uri(service: str | None = None) -> str:
    """`LISA_<SERVICE>_AMQP_URI` (the service's own broker user, see `broker-setup`), else
    `LISA_AMQP_URI`, else the embedded in-memory broker."""
    specific = SERVICE_AMQP_URI.text(service) if service else None
    return specific or AMQP_URI.text() or EMBEDDED_AMQP_URI


def broker_user(service: str) -> str:
    """The RabbitMQ user a service connects as when the deployment gives each its own:
    `LISA_BROKER_USER_PREFIX` (`lisa-`) and the service's name."""
    return f"{BROKER_USER_PREFIX.text()}{service}"


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
    first = EVENT_RETRY_FIRST.number()
    longest = EVENT_RETRY_MAX.number()
    window = EVENT_RETRY_WINDOW.number()
    delays: list[float] = []
    total, delay = 0.0, first
    while total < window and first > 0:
        delays.append(min(delay, longest))
        total += delays[-1]
        delay *= 2
    return tuple(delays)


def max_workers() -> int:
    return MAX_WORKERS.integer()


def event_workers() -> int:
    """Workers a service's event handlers may take at once (`LISA_EVENT_WORKERS`); the rest of
    `LISA_MAX_WORKERS` stay free for API calls while consumers wait on another service."""
    if EVENT_WORKERS.text() is None:
        return max(1, max_workers() // 3)
    return max(1, EVENT_WORKERS.integer())


def outbox_retention_days() -> float:
    """Days a published outbox row is kept (for inspection) before the housekeeping prunes it."""
    return OUTBOX_RETENTION_DAYS.number()


def processed_events_retention_days() -> float:
    """Days a consumer remembers an event id it processed. Longer than any redelivery: the
    retry window and the time a dead letter may wait for its replay."""
    return PROCESSED_EVENTS_RETENTION_DAYS.number()


def housekeeping_interval_seconds() -> float:
    return HOUSEKEEPING_INTERVAL.number()


def database_url(service: str) -> str:
    """`LISA_<SERVICE>_DATABASE_URL`, else `LISA_DATABASE_URL` (a `{service}` placeholder gives
    each service its own database), else a SQLite file under var/."""
    specific = SERVICE_DATABASE_URL.text(service)
    if specific:
        return specific
    template = DATABASE_URL.text()
    if template:
        return template.replace("{service}", service)
    return f"sqlite:///{var_dir() / service}.db"


def http_host() -> str:
    return HTTP_HOST.text() or "127.0.0.1"


def http_port() -> int:
    return HTTP_PORT.integer()


def ops_port(service: str) -> int | None:
    """Port of a back-end service's own /healthz, /readyz, /metrics (distributed mode), if
    `LISA_<SERVICE>_OPS_PORT` says; else its spec's default."""
    return OPS_PORT.integer(service) if OPS_PORT.text(service) else None


def antenna_id() -> str:
    """The antenna this deployment seeds and plans for (the first of `served_antennas`)."""
    return ANTENNA_ID.text() or "ixelles-tulipe"


def served_antennas() -> tuple[str, ...]:
    """Every antenna this deployment serves (`LISA_ANTENNAS`, comma-separated; default the one
    `LISA_ANTENNA_ID`). An event or a call about any other antenna is not ours to act on."""
    listed = tuple(a.strip() for a in (ANTENNAS.text() or "").split(",") if a.strip())
    return listed or (antenna_id(),)


def is_embedded() -> bool:
    return amqp_uri().startswith(EMBEDDED_AMQP_URI.split(":")[0])


def rpc_timeout_seconds() -> float:
    """How long a caller waits for a service; an unanswered request expires in the queue."""
    return RPC_TIMEOUT.number()


def trusted_proxy_hops() -> int:
    """Reverse proxies in front of the gateway that append to X-Forwarded-For: the client
    address the login throttle counts is the one they saw (0: the socket's peer)."""
    return TRUSTED_PROXY_HOPS.integer()


# -- keys: no defaults; `make demo` makes its own under var/, everything else is given them --------

SIGNING_KEY = Setting("LISA_<SERVICE>_SIGNING_KEY", None,
                      "the service's Ed25519 private key; required")
PUBLIC_KEYS = Setting("LISA_IDENTITY_PUBLIC_KEYS", None,
                      "issuer:base64key,... every process verifies identities with; required")
AUDIENCE = Setting("LISA_IDENTITY_AUDIENCE", None, "names the deployment in every identity "
                   "(default: lisa:<LISA_ANTENNA_ID>)")
IDENTITY_TTL = Setting("LISA_IDENTITY_TTL_SECONDS", "300", "lifetime of a minted identity "
                       "(1 to 3600)")
ENCRYPTION_KEYS = Setting("LISA_ENCRYPTION_KEYS", None, "Fernet keys for personal content at "
                          "rest; required by a service that seals content")

PUBLIC_KEYS_VARIABLE = PUBLIC_KEYS.variable
ENCRYPTION_KEYS_VARIABLE = ENCRYPTION_KEYS.variable
AUDIENCE_VARIABLE = AUDIENCE.variable


def signing_key_variable(service: str) -> str:
    return SIGNING_KEY.name(service)


def signing_key(service: str) -> str | None:
    """This service's private Ed25519 key: it signs the identities this process mints."""
    return SIGNING_KEY.text(service)


def identity_public_keys() -> str | None:
    """`issuer:base64key` entries, comma-separated: the keys every process trusts (ADR 12)."""
    return PUBLIC_KEYS.text()


def identity_audience() -> str:
    """Names this deployment in every identity, so another deployment refuses its tokens."""
    return AUDIENCE.text() or f"lisa:{antenna_id()}"


MAX_IDENTITY_TTL_SECONDS = 3600


def identity_ttl_seconds() -> int:
    """How long a minted identity is valid: one call chain, not a session; at most an hour
    (a longer one would make a header captured from the bus a credential)."""
    return IDENTITY_TTL.bounded(1, MAX_IDENTITY_TTL_SECONDS)


def encryption_keys() -> list[str]:
    """Fernet keys for personal content at rest, comma-separated: the first encrypts, every one
    decrypts (a key change-over, then `lisa.cli reencrypt`)."""
    return [key.strip() for key in (ENCRYPTION_KEYS.text() or "").split(",") if key.strip()]


def nameko_config(web_port: int | None = None, service: str | None = None) -> dict:
    """The nameko config dict for this process (`service`: the one service it runs alone)."""
    return {
        "AMQP_URI": amqp_uri(service),
        "WEB_SERVER_ADDRESS": f"{http_host()}:{web_port or http_port()}",
        "max_workers": max_workers(),
        "PREFETCH_COUNT": PREFETCH_COUNT.integer(),
        "serializer": "json",
    }


# The platform-wide settings; each service's own are in its spec.
SETTINGS: tuple[Setting, ...] = tuple(value for value in list(globals().values())
                                      if isinstance(value, Setting))
