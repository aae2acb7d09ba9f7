"""`python -m lisa.cli broker-setup`: one RabbitMQ user per service, allowed to write only to its
own exchanges (docs/adr/0011-events-broker-users-and-trust.md).

Each service's user, password and vhost come from its `LISA_<SERVICE>_AMQP_URI`, the URI that
service connects with, so the setup and the services cannot disagree. The user must be
`config.broker_user(service)` (`lisa-<service>`): consumers demand that an event's validated
`user_id` is its owner's. Idempotent: an existing user gets the password again and its
permissions are set anew. Uses `rabbitmqctl import_definitions` (works without the management
plugin); the definitions go to it on standard input, never on a command line. With
`LISA_RABBITMQ_API_URL` set (a container beside the broker, as docker-compose's one-shot
`broker-setup`, has no rabbitmqctl) it does the same through the management HTTP API, waiting
for the API to answer.
"""
import base64
import hashlib
import json
import secrets
import time
from urllib.parse import quote, urlsplit

import requests
from kombu.utils.url import url_to_parts

from lisa import platform
from lisa.local import rabbitmqctl
from shared import config, topology


class BrokerSetupError(ValueError):
    pass


def planned_users() -> list[dict]:
    """What `setup_users` would do, from the environment; raises BrokerSetupError naming every
    missing or wrong variable."""
    plans, problems = [], []
    classes = platform.service_classes()
    for spec in platform.specs():
        variable = config.SERVICE_AMQP_URI.name(spec.name)
        uri = config.env(variable)
        if not uri:
            problems.append(f"{variable} is not set")
            continue
        parts = url_to_parts(uri)
        if parts.username != config.broker_user(spec.name) or not parts.password:
            problems.append(f"{variable} must connect as {config.broker_user(spec.name)} "
                            "with a password")
            continue
        configure, write, read = topology.broker_permissions(spec.name, classes)
        plans.append({"service": spec.name, "user": parts.username, "password": parts.password,
                      "vhost": parts.path or "/", "configure": configure,
                      "write": write, "read": read,
                      "topics": topology.topic_permissions(spec.name, tuple(spec.publishes))})
    if problems:
        raise BrokerSetupError("; ".join(problems))
    return plans


def setup_users() -> list[str]:
    """Create or update every service's broker user and its permissions, and the event queues'
    policy (`topology.event_queue_policy`: delivery limit, dead letters) on their vhost;
    returns the users."""
    plans = planned_users()
    api_url = config.RABBITMQ_API_URL.text()
    if api_url:
        return setup_users_over_http(api_url, plans)
    # Each rabbitmqctl call boots an Erlang VM (1.5 s idle, 4 s on a loaded machine): one call
    # imports every user and permission as definitions (on standard input: no password in a
    # file or a process list); topic permissions on exchanges no longer planned are cleared.
    ours = {plan["user"] for plan in plans}
    for vhost in sorted({plan["vhost"] for plan in plans}):
        planned = {(plan["user"], exchange) for plan in plans if plan["vhost"] == vhost
                   for exchange, _, _ in plan["topics"]}
        listed = rabbitmqctl("list_topic_permissions", "-p", vhost, "--no-table-headers")
        rows = [line.split("\t") for line in listed.splitlines() if line.strip()]
        stale = {user for user, exchange, *_ in rows
                 if user in ours and (user, exchange) not in planned}
        for user in sorted(stale):
            rabbitmqctl("clear_topic_permissions", "-p", vhost, user)
    rabbitmqctl("import_definitions", stdin=json.dumps(definitions(plans)))
    return [plan["user"] for plan in plans]


def definitions(plans: list[dict]) -> dict:
    """RabbitMQ definitions of the planned users (no tags: no management access), their
    permissions and topic permissions. Passwords as RabbitMQ hashes them by default
    (rabbit_password_hashing_sha256: base64 of a 4-byte salt and SHA-256 of salt + password)."""
    return {
        "users": [{"name": plan["user"], "password_hash": password_hash(plan["password"]),
                   "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}
                  for plan in plans],
        "permissions": [{"user": plan["user"], "vhost": plan["vhost"],
                         "configure": plan["configure"], "write": plan["write"],
                         "read": plan["read"]} for plan in plans],
        "topic_permissions": [{"user": plan["user"], "vhost": plan["vhost"],
                               "exchange": exchange, "write": write, "read": read}
                              for plan in plans for exchange, write, read in plan["topics"]],
        "policies": [event_queue_policy_definition(vhost)
                     for vhost in sorted({plan["vhost"] for plan in plans})],
    }


def event_queue_policy_definition(vhost: str, policy: dict | None = None) -> dict:
    """The event queues' policy (review of issues 7, 8 and 13, finding 3) as a definition."""
    policy = policy or topology.event_queue_policy()
    return {"vhost": vhost, "name": policy["name"], "pattern": policy["pattern"],
            "apply-to": policy["apply-to"], "definition": policy["definition"],
            "priority": policy["priority"]}


def set_event_queue_policy(vhost: str, policy: dict | None = None) -> None:
    """The event queues' delivery limit and dead-letter exchange, with rabbitmqctl."""
    policy = policy or topology.event_queue_policy()
    rabbitmqctl("set_policy", "-p", vhost, "--apply-to", policy["apply-to"], "--priority",
                str(policy["priority"]), policy["name"], policy["pattern"],
                json.dumps(policy["definition"]))


def password_hash(password: str) -> str:
    salt = secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def setup_users_over_http(api_url: str, plans: list[dict],
                          wait_seconds: float = 120.0) -> list[str]:
    """The same through RabbitMQ's management HTTP API (`PUT /api/users/<user>`, `PUT
    /api/permissions/<vhost>/<user>`): idempotent, as the API replaces what it is given."""
    parts = urlsplit(api_url)
    if not (parts.scheme in ("http", "https") and parts.hostname and parts.username
            and parts.password):
        raise BrokerSetupError(f"{config.RABBITMQ_API_URL.variable} must be "
                               "http(s)://user:password@host:port/")
    base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}{parts.path.rstrip('/')}/api"
    session = requests.Session()
    session.auth = (parts.username, parts.password)
    deadline = time.monotonic() + wait_seconds
    while True:   # the broker may be up before its management plugin
        try:
            session.get(f"{base}/overview", timeout=5).raise_for_status()
            break
        except requests.RequestException as exc:
            if time.monotonic() > deadline:
                raise BrokerSetupError(f"the management API at {parts.hostname} does not answer: "
                                       f"{exc}") from None
            time.sleep(2)

    def call(method: str, path: str, body: dict | None = None,
             ok: tuple[int, ...] = (201, 204)) -> None:
        response = session.request(method, f"{base}/{path}", json=body, timeout=10)
        if response.status_code not in ok:
            raise BrokerSetupError(f"{method} {path.split('/')[0]}: {response.status_code} "
                                   f"{response.text[:200]}")

    for plan in plans:
        user, vhost = quote(plan["user"], safe=""), quote(plan["vhost"], safe="")
        call("PUT", f"users/{user}", {"password": plan["password"], "tags": ""})
        call("PUT", f"permissions/{vhost}/{user}", {"configure": plan["configure"],
                                                    "write": plan["write"],
                                                    "read": plan["read"]})
        # What rabbitmqctl's path does: the topic permissions replace the old ones (404: none).
        call("DELETE", f"topic-permissions/{vhost}/{user}", ok=(204, 404))
        for exchange, write, read in plan["topics"]:
            call("PUT", f"topic-permissions/{vhost}/{user}",
                 {"exchange": exchange, "write": write, "read": read})
    for vhost in sorted({plan["vhost"] for plan in plans}):
        policy = event_queue_policy_definition(vhost)
        call("PUT", f"policies/{quote(vhost, safe='')}/{quote(policy['name'], safe='')}",
             {key: policy[key] for key in ("pattern", "definition", "priority", "apply-to")})
    return [plan["user"] for plan in plans]
