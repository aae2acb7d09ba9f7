"""The forged- and replayed-identity attacks of issue 7, on `make run` (RabbitMQ, PostgreSQL).

Someone who can reach the broker publishes RPC requests straight to `nameko-rpc` with an
identity header of their making: signed with the constant that used to be in the repository,
with a key of their own, or with the tags service's key; or a header captured from a real
gateway call, replayed later or on another deployment. None reads a referral's content or
changes a partner's e-mail. A request signed by the real gateway key, sent the same way, does:
the harness reaches the service, so each refusal is the identity check at work."""
import base64
import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kombu import Connection, Exchange, Queue

from lisa.local import drop_databases, free_port, fresh_keys, stop_group, wait_ready
from shared.identity import CONTEXT_KEY, Identity, SigningKey
from tests.conftest import ANTENNA, POSTGRES_ADMIN_URL, ROOT, eventually
from tests.integration.conftest import throwaway_vhost

pytestmark = pytest.mark.integration

TTL_SECONDS = 5   # short, so a captured header expires within the test
MESSAGE = "Jeune majeur, consommation quotidienne, demande un accompagnement discret."
STREET_WORKER = Identity("streetworker", "street_worker", "street_work", (ANTENNA,))
ADMIN = Identity("admin", "admin", "prevention_service", (ANTENNA,))
ATTACKER_EMAIL = "attacker@example.org"
RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)


@pytest.fixture
def platform_env():
    """Short-lived identities; the referrals database named here, so a second deployment can
    be pointed at the same data."""
    prefix = f"lisa_ids_{uuid.uuid4().hex[:8]}"
    yield {**fresh_keys(), "LISA_IDENTITY_TTL_SECONDS": str(TTL_SECONDS),
           "LISA_REFERRALS_DATABASE_URL":
               f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{prefix}_referrals"}
    drop_databases(POSTGRES_ADMIN_URL, prefix)


class RawRpc:
    """RPC requests published straight to the broker, as anyone who can reach it could."""

    def __init__(self, amqp_uri: str):
        self.connection = Connection(amqp_uri)
        name = f"attacker-replies-{uuid.uuid4().hex[:8]}"
        self.replies = Queue(name, RPC_EXCHANGE, routing_key=name, exclusive=True,
                             auto_delete=True)(self.connection.default_channel)
        self.replies.declare()

    def call(self, service: str, method: str, args: list, token: str | None) -> dict:
        correlation_id = uuid.uuid4().hex
        headers = {f"nameko.{CONTEXT_KEY}": token} if token else {}
        self.connection.Producer().publish(
            {"args": args, "kwargs": {}}, exchange=RPC_EXCHANGE,
            routing_key=f"{service}.{method}", reply_to=self.replies.name,
            correlation_id=correlation_id, headers=headers, serializer="json")
        reply = eventually(lambda: self.replies.get(no_ack=True))
        assert reply.properties["correlation_id"] == correlation_id
        return reply.payload

    def close(self):
        self.connection.release()


def legacy_token(identity: Identity) -> str:
    """The attack as it worked before: JSON plus an HMAC with the repository's constant."""
    body = json.dumps({"antennas": list(identity.antennas), "organisation":
                       identity.organisation, "role": identity.role, "user": identity.user},
                      separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(b"embedded-demo-secret-change-me", body, hashlib.sha256).digest()
    return f"{base64.urlsafe_b64encode(body).decode()}.{base64.urlsafe_b64encode(mac).decode()}"


def forgeries(identity: Identity, keys: dict) -> dict[str, str]:
    audience = keys["LISA_IDENTITY_AUDIENCE"]
    tags = SigningKey.from_text("tags", keys["LISA_TAGS_SIGNING_KEY"]).private_key
    return {
        "the old repository constant": legacy_token(identity),
        "a key of the attacker's own": SigningKey("gateway", Ed25519PrivateKey.generate()
                                                  ).mint(identity, audience=audience),
        "the tags service's key": SigningKey("gateway", tags).mint(identity, audience=audience),
        "the tags service's key, as tags": SigningKey("tags", tags).mint(
            Identity.for_service("tags", (ANTENNA,)), audience=audience),
        "no identity at all": None,
    }


def refused(reply: dict) -> bool:
    return reply["result"] is None and reply["error"] is not None


def send_referral(api) -> int:
    sent = api.call("POST", "/api/v1/referrals", "streetworker", json={
        "receiver_service": "addiction_outreach", "subject": "person", "reason": "addiction",
        "urgency": "high", "message": MESSAGE, "client_key": "SW-IT-0007",
        "consent": {"kind": "written", "given_at": datetime.now(UTC).isoformat()}})
    assert sent.status_code == 201, sent.text
    return sent.json()["id"]


def test_forged_identities_published_on_the_broker_read_and_change_nothing(
        distributed_platform, platform_env):
    api, amqp_uri = distributed_platform.api, distributed_platform.amqp_uri
    referral_id = send_referral(api)
    gateway = SigningKey.from_text("gateway", platform_env["LISA_GATEWAY_SIGNING_KEY"])
    audience = platform_env["LISA_IDENTITY_AUDIENCE"]
    bus = RawRpc(amqp_uri)
    try:
        genuine = bus.call("referrals", "get", [referral_id],
                           gateway.mint(STREET_WORKER, audience=audience))
        assert genuine["result"]["content"]["message"] == MESSAGE   # the path itself works
        for how, token in forgeries(STREET_WORKER, platform_env).items():
            reply = bus.call("referrals", "get", [referral_id], token)
            assert refused(reply), f"{how}: {reply}"
            assert MESSAGE not in json.dumps(reply)
        for how, token in forgeries(ADMIN, platform_env).items():
            reply = bus.call("referrals", "update_partner_service",
                             ["addiction_outreach", {"email": ATTACKER_EMAIL}], token)
            assert refused(reply), f"{how}: {reply}"
    finally:
        bus.close()
    partners = api.call("GET", "/api/v1/partners", "streetworker").json()
    assert ATTACKER_EMAIL not in {p["email"] for p in partners}
    audit = api.call("GET", f"/api/v1/audit?referral_id={referral_id}",
                     "auditor").json()["items"]
    assert {e["user"] for e in audit if e["granted"]} == {"streetworker"}


def captured_identity(api, amqp_uri, referral_id) -> str:
    """The identity header of a real gateway call, copied off the RPC exchange."""
    with Connection(amqp_uri) as connection:
        spy = Queue(f"spy-{uuid.uuid4().hex[:8]}", RPC_EXCHANGE, routing_key="referrals.get",
                    exclusive=True, auto_delete=True)(connection.default_channel)
        spy.declare()
        read = api.call("GET", f"/api/v1/referrals/{referral_id}", "streetworker")
        assert read.status_code == 200 and read.json()["content"]["message"] == MESSAGE
        return eventually(lambda: spy.get(no_ack=True)).headers[f"nameko.{CONTEXT_KEY}"]


@contextlib.contextmanager
def another_deployment(platform_env: dict, audience: str, tmp_path):
    """A deployment trusting the same keys (a staging copy, say) under its own audience: a
    referrals service on its own vhost, over the same database. Yields its broker URI."""
    ops_port = free_port()
    with throwaway_vhost() as other_uri:
        env = {**os.environ, **platform_env, "LISA_AMQP_URI": other_uri,
               "LISA_IDENTITY_AUDIENCE": audience, "LISA_REFERRALS_OPS_PORT": str(ops_port),
               "LISA_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
        with open(tmp_path / "other-deployment.log", "w") as log:
            process = subprocess.Popen([sys.executable, "-m", "lisa.cli", "service", "referrals"],
                                       cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            try:
                wait_ready(f"http://127.0.0.1:{ops_port}/readyz", process)
                yield other_uri
            finally:
                stop_group(process)


def test_a_captured_identity_header_is_refused_elsewhere_and_once_expired(
        distributed_platform, platform_env, tmp_path):
    api, amqp_uri = distributed_platform.api, distributed_platform.amqp_uri
    referral_id = send_referral(api)
    gateway = SigningKey.from_text("gateway", platform_env["LISA_GATEWAY_SIGNING_KEY"])
    with another_deployment(platform_env, "lisa:staging-copy", tmp_path) as other_uri:
        captured = captured_identity(api, amqp_uri, referral_id)
        bus = RawRpc(other_uri)
        try:
            own = bus.call("referrals", "get", [referral_id],
                           gateway.mint(STREET_WORKER, audience="lisa:staging-copy"))
            assert own["result"]["content"]["message"] == MESSAGE   # it serves its own users
            elsewhere = bus.call("referrals", "get", [referral_id], captured)
        finally:
            bus.close()
    assert refused(elsewhere) and "audience" in elsewhere["error"]["value"]

    bus = RawRpc(amqp_uri)
    try:
        def replay_refused():
            reply = bus.call("referrals", "get", [referral_id], captured)
            return reply if refused(reply) else None

        later = eventually(replay_refused, timeout=TTL_SECONDS + 30, interval=0.5)
    finally:
        bus.close()
    assert later["error"]["exc_type"] == "Unauthenticated" and "expired" in later["error"]["value"]
    assert MESSAGE not in json.dumps(later)
