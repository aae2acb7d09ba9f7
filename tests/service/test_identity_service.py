"""The referrals and incidents services believe an identity only from the right key, within its
lifetime and for this deployment, driven through their nameko entrypoints (ADR 12)."""
import base64
import json
import time
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook

from services.incidents import use_cases as incidents
from services.incidents.service import IncidentsService
from services.referrals import use_cases as referrals
from services.referrals.service import ReferralsService
from shared.dependencies import CallerIdentity
from shared.errors import NotFound, Unauthenticated
from shared.identity import CONTEXT_KEY, Identity, SigningKey, context_for
from tests.conftest import ANTENNA, migrated_database

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
SENDER = Identity("sw", "street_worker", "street_work", (ANTENNA,))
ADMIN = Identity("root", "admin", "prevention_service", (ANTENNA,))
DESK = Identity("desk", "desk", "antenna_desk", (ANTENNA,))
PERSON = {"receiver_service": "addiction_outreach", "subject": "person", "reason": "addiction",
          "urgency": "normal", "message": "Demande d'accompagnement discret.",
          "client_key": "SW-0001", "identity": None,
          "consent": {"kind": "verbal", "given_at": NOW, "expires_at": None},
          "legal_basis": None}
REPORT = {"category": "graffiti_public", "description": "Tags sur l'abribus.", "channel": "desk",
          "location": {"address": "Rue de la Paix 3, 1050 Ixelles", "lat": 50.8348,
                       "lon": 4.3678}, "reporter": None}


def forged_by(private_key: Ed25519PrivateKey, issuer: str, identity: Identity, **mint) -> dict:
    """An identity header signed with `private_key`, under the key id and issuer name it
    claims to be: what someone with that key would publish on the bus."""
    key = SigningKey(issuer, private_key)
    return {CONTEXT_KEY: key.mint(identity, **mint)}


def private_key(service: str) -> Ed25519PrivateKey:
    return SigningKey.from_config(service).private_key


def forgeries(identity: Identity) -> dict[str, dict]:
    """Every way to present `identity` but a fresh one from the gateway's key."""
    return {
        "random key posing as the gateway": forged_by(Ed25519PrivateKey.generate(), "gateway",
                                                      identity),
        "the tags service's key": forged_by(private_key("tags"), "gateway", identity),
        "a gateway token issued an hour ago": forged_by(private_key("gateway"), "gateway",
                                                        identity, now=time.time() - 3600),
        "another deployment's gateway token": forged_by(private_key("gateway"), "gateway",
                                                        identity, audience="lisa:elsewhere"),
    }


@pytest.fixture
def referrals_container(tmp_path, memory_broker, container_factory, monkeypatch):
    url = f"sqlite:///{tmp_path}/referrals.db"
    with migrated_database("referrals", url) as database:
        with database.unit_of_work() as uow:
            referral_id = referrals.send(uow, SENDER, PERSON, NOW)["id"]
        monkeypatch.setenv("LISA_REFERRALS_DATABASE_URL", url)
        container = container_factory(ReferralsService)
        container.start()
        yield container, referral_id


@pytest.fixture
def incidents_container(tmp_path, memory_broker, container_factory, monkeypatch):
    url = f"sqlite:///{tmp_path}/incidents.db"
    with migrated_database("incidents", url) as database:
        with database.unit_of_work() as uow:
            incident_id = incidents.report(uow, DESK, REPORT, NOW, ANTENNA)["incident"]["id"]
        monkeypatch.setenv("LISA_INCIDENTS_DATABASE_URL", url)
        container = container_factory(IncidentsService)
        container.start()
        yield container, incident_id


def call(container, method, context, *args):
    with entrypoint_hook(container, method, context_data=context) as entrypoint:
        return entrypoint(*args)


def test_only_the_gateways_key_lets_anyone_read_a_referrals_content(referrals_container):
    container, referral_id = referrals_container
    read = call(container, "get", context_for(SENDER), referral_id)
    assert read["content"]["message"] == "Demande d'accompagnement discret."
    for how, context in forgeries(SENDER).items():
        with pytest.raises(Unauthenticated):
            call(container, "get", context, referral_id)
            pytest.fail(f"{how} was believed")


def test_a_forged_admin_cannot_change_a_partners_email(referrals_container):
    container, _ = referrals_container
    change = {"email": "attacker@example.org"}
    for how, context in forgeries(ADMIN).items():
        with pytest.raises(Unauthenticated):
            call(container, "update_partner_service", context, "addiction_outreach", change)
            pytest.fail(f"{how} was believed")
    partners = call(container, "list_partners", context_for(SENDER))
    assert "attacker@example.org" not in {p["email"] for p in partners}
    changed = call(container, "update_partner_service", context_for(ADMIN),
                   "addiction_outreach", change)   # the real gateway's admin can
    assert changed["email"] == "attacker@example.org"


def test_incidents_refuse_the_same_forgeries(incidents_container):
    container, incident_id = incidents_container
    assert call(container, "get", context_for(DESK), incident_id)["id"] == incident_id
    for how, context in forgeries(DESK).items():
        with pytest.raises(Unauthenticated):
            call(container, "get", context, incident_id)
            pytest.fail(f"{how} was believed")


def test_a_service_identity_acts_only_on_the_antennas_it_serves(incidents_container):
    container, incident_id = incidents_container
    for_here = Identity.for_service("tags", (ANTENNA,))
    for_elsewhere = Identity.for_service("tags", ("charleroi-nord",))
    assert call(container, "get", context_for(for_here), incident_id)["id"] == incident_id
    with pytest.raises(NotFound):
        call(container, "get", context_for(for_elsewhere), incident_id)
    with pytest.raises(Unauthenticated):   # and only tags' own key vouches for tags
        call(container, "get", forged_by(private_key("incidents"), "tags", for_here),
             incident_id)


class Probe:
    """A stand-in for any service container: what does it sign its own calls with?"""
    name = "tags"
    caller = CallerIdentity()

    @rpc
    def act_as_itself(self):
        acting = self.caller.act_as_service()
        return acting, self.caller.current, self.caller._worker_ctx.context_data[CONTEXT_KEY]

    @rpc
    def pass_for_a_user(self):
        self.caller.assume(SENDER)


def test_each_container_signs_with_its_own_services_key(container_factory, memory_broker,
                                                       monkeypatch):
    monkeypatch.setenv("LISA_ANTENNAS", f"{ANTENNA},saint-gilles-parvis")
    container = container_factory(Probe)
    container.start()
    acting, verified, token = call(container, "act_as_itself", {})
    assert acting == verified == Identity("tags", "service", "service:tags",
                                          (ANTENNA, "saint-gilles-parvis"))
    assert _header(token)["kid"] == SigningKey.from_config("tags").kid
    with pytest.raises(ValueError, match="only as itself"):
        call(container, "pass_for_a_user", {})


def _header(token: str) -> dict:
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_a_container_without_its_key_does_not_start(container_factory, memory_broker,
                                                   monkeypatch):
    monkeypatch.delenv("LISA_TAGS_SIGNING_KEY")
    container = container_factory(Probe)
    with pytest.raises(Exception, match="LISA_TAGS_SIGNING_KEY"):
        container.start()
