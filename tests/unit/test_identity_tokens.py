"""Signed identities (ADR 12): only the gateway mints users, a service only itself; tokens
expire, name their audience, and survive a key change-over. Every attack here is written the way
someone who reaches the bus would write it: by hand, not through our own signer."""
import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.config import ConfigurationError
from shared.errors import Forbidden, Unauthenticated
from shared.identity import Identity, SigningKey, TrustedKeys

AUDIENCE = "lisa:test-deployment"
T0 = 1_800_000_000   # a fixed clock: tokens are judged against `now`, never the wall clock
TTL = 300
STREET_WORKER = Identity("sw", "street_worker", "street_work", ("ixelles-tulipe",))
ADMIN = Identity("root", "admin", "prevention_service", ("ixelles-tulipe",))

GATEWAY = SigningKey.generate("gateway")
TAGS = SigningKey.generate("tags")
INCIDENTS = SigningKey.generate("incidents")
TRUSTED = TrustedKeys.parse(",".join(k.public_entry() for k in (GATEWAY, TAGS, INCIDENTS)))


def mint(key, identity, now=T0, audience=AUDIENCE, ttl=TTL):
    return key.mint(identity, audience=audience, ttl_seconds=ttl, now=now)


def verify(token, now=T0 + 1, audience=AUDIENCE, trusted=TRUSTED):
    return trusted.verify(token, audience=audience, now=now)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(private_key, claims: dict, header: dict) -> str:
    """A compact JWS built by hand, as an attacker with some private key would."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(private_key.sign(signing_input.encode()))}"


def claims_of(identity, issuer="gateway", now=T0, audience=AUDIENCE):
    return {"iss": issuer, "sub": identity.user, "role": identity.role,
            "organisation": identity.organisation, "antennas": list(identity.antennas),
            "aud": audience, "iat": now, "exp": now + TTL}


def test_a_user_identity_minted_by_the_gateway_verifies():
    assert verify(mint(GATEWAY, STREET_WORKER)) == STREET_WORKER


def test_a_service_identity_minted_by_that_service_verifies():
    tags = Identity.for_service("tags", ("ixelles-tulipe",))
    assert (tags.user, tags.role) == ("tags", "service")
    assert verify(mint(TAGS, tags)) == tags


@pytest.mark.parametrize("forger", ["random key", "tags key", "incidents key"])
@pytest.mark.parametrize("victim", [STREET_WORKER, ADMIN], ids=["street worker", "admin"])
def test_a_user_identity_signed_by_anything_but_a_gateway_key_is_refused(forger, victim):
    private = {"random key": Ed25519PrivateKey.generate(), "tags key": TAGS.private_key,
               "incidents key": INCIDENTS.private_key}[forger]
    for kid in (GATEWAY.kid, TAGS.kid, INCIDENTS.kid, "made-up"):
        for issuer in ("gateway", "tags"):
            token = forge(private, claims_of(victim, issuer=issuer),
                          {"alg": "EdDSA", "typ": "JWT", "kid": kid})
            with pytest.raises(Unauthenticated):
                verify(token)


def test_a_service_identity_is_accepted_only_from_that_services_own_key():
    incidents = Identity.for_service("incidents", ("ixelles-tulipe",))
    for key in (TAGS, GATEWAY):   # tags passing for incidents; the gateway passing for a service
        token = forge(key.private_key, claims_of(incidents, issuer=key.issuer),
                      {"alg": "EdDSA", "typ": "JWT", "kid": key.kid})
        with pytest.raises(Unauthenticated):
            verify(token)
        token = forge(key.private_key, claims_of(incidents, issuer="incidents"),
                      {"alg": "EdDSA", "typ": "JWT", "kid": key.kid})
        with pytest.raises(Unauthenticated):
            verify(token)


def test_our_own_signer_refuses_to_mint_what_it_may_not_vouch_for():
    with pytest.raises(ValueError, match="only as itself"):
        mint(TAGS, STREET_WORKER)
    with pytest.raises(ValueError, match="only as itself"):
        mint(TAGS, Identity.for_service("incidents", ("ixelles-tulipe",)))
    with pytest.raises(ValueError, match="service"):
        mint(GATEWAY, Identity.for_service("tags", ("ixelles-tulipe",)))


def test_a_token_expires_and_is_not_valid_before_it_was_issued():
    token = mint(GATEWAY, STREET_WORKER, now=T0)
    assert verify(token, now=T0 + TTL - 1) == STREET_WORKER
    with pytest.raises(Unauthenticated, match="expired"):
        verify(token, now=T0 + TTL)
    with pytest.raises(Unauthenticated, match="expired"):
        verify(token, now=T0 + 10 * 24 * 3600)
    assert verify(token, now=T0 - 5) == STREET_WORKER    # a few seconds of clock skew
    with pytest.raises(Unauthenticated, match="not valid yet"):
        verify(token, now=T0 - 600)


def test_a_token_of_another_deployment_is_refused():
    token = mint(GATEWAY, STREET_WORKER, audience="lisa:staging")
    with pytest.raises(Unauthenticated, match="audience"):
        verify(token, audience="lisa:production")


def test_two_gateway_keys_verify_during_a_change_over_and_a_removed_one_no_longer_does():
    old, new = SigningKey.generate("gateway"), SigningKey.generate("gateway")
    during = TrustedKeys.parse(f"{old.public_entry()}, {new.public_entry()}")
    after = TrustedKeys.parse(new.public_entry())
    assert verify(mint(old, ADMIN), trusted=during) == ADMIN
    assert verify(mint(new, ADMIN), trusted=during) == ADMIN
    assert verify(mint(new, ADMIN), trusted=after) == ADMIN
    with pytest.raises(Unauthenticated, match="not trusted"):
        verify(mint(old, ADMIN), trusted=after)


def test_the_header_cannot_choose_a_weaker_algorithm():
    claims = claims_of(ADMIN)
    for header in ({"alg": "none", "kid": GATEWAY.kid}, {"alg": "HS256", "kid": GATEWAY.kid}):
        body = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        mac = hmac.new(GATEWAY.public_entry().encode(), body.encode(), hashlib.sha256).digest()
        for token in (f"{body}.", f"{body}.{b64(mac)}"):
            with pytest.raises(Unauthenticated):
                verify(token)


def legacy_token():
    """Today's format: JSON and an HMAC with the constant that was in the repository."""
    body = json.dumps({"antennas": ["ixelles-tulipe"], "organisation": "prevention_service",
                       "role": "admin", "user": "root"}, separators=(",", ":")).encode()
    mac = hmac.new(b"embedded-demo-secret-change-me", body, hashlib.sha256).digest()
    return f"{base64.urlsafe_b64encode(body).decode()}.{base64.urlsafe_b64encode(mac).decode()}"


@pytest.mark.parametrize("token", [
    None, "", "garbage", "a.b.c", "!!!.???.***", 42, ["a", "b"], legacy_token(),
    "x" * 100_000,
    f"{b64(b'[' * 5000)}.{b64(b'[' * 5000)}.AAAA",
    f"{b64(json.dumps({'alg': 'EdDSA', 'kid': 'k'}).encode())}.{b64(b'[]')}.AAAA",
])
def test_malformed_identities_are_refused(token):
    with pytest.raises(Unauthenticated):
        verify(token)


def test_claims_of_the_wrong_shape_are_refused_even_when_signed():
    header = {"alg": "EdDSA", "typ": "JWT", "kid": GATEWAY.kid}
    for change in ({"role": "emperor"}, {"antennas": "ixelles-tulipe"}, {"sub": None},
                   {"exp": "tomorrow"}, {"iat": None}, {"organisation": 7}):
        with pytest.raises(Unauthenticated):
            verify(forge(GATEWAY.private_key, {**claims_of(ADMIN), **change}, header))


def test_the_service_role_no_longer_bypasses_the_antenna_check():
    tags = Identity("tags", "service", "service:tags", ("ixelles-tulipe",))
    tags.require_antenna("ixelles-tulipe")
    with pytest.raises(Forbidden):
        tags.require_antenna("charleroi-nord")
    with pytest.raises(Forbidden):
        Identity.for_service("tags", ("ixelles-tulipe",)).require_antenna("charleroi-nord")


@pytest.mark.parametrize("text, message", [
    ("", "no key"),
    ("gateway", "issuer:base64"),
    ("gateway:not base64!", "gateway"),
    ("gateway:" + base64.b64encode(b"short").decode(), "32 bytes"),
])
def test_a_bad_public_key_list_is_a_configuration_error_naming_the_variable(text, message):
    with pytest.raises(ConfigurationError, match=message) as caught:
        TrustedKeys.parse(text)
    assert "LISA_IDENTITY_PUBLIC_KEYS" in str(caught.value)


def test_a_signing_key_reads_raw_base64_and_pem():
    from cryptography.hazmat.primitives import serialization

    pem = GATEWAY.private_key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode()
    assert SigningKey.from_text("gateway", pem).kid == GATEWAY.kid
    assert SigningKey.from_text("gateway", GATEWAY.private_text()).kid == GATEWAY.kid
    with pytest.raises(ConfigurationError, match="LISA_GATEWAY_SIGNING_KEY"):
        SigningKey.from_text("gateway", "not a key")
