"""Referrals through the embedded platform: the access table as a matrix over every endpoint
and role, audit entries, consent withdrawal, and events free of personal content."""
import json
from datetime import UTC, datetime, timedelta

import pytest
from kombu import Connection, Exchange, Queue

from lisa import cli
from services.gateway import auth
from tests.conftest import ANTENNA, eventually

NOW = datetime.now(UTC)
MESSAGE = "Jeune de 17 ans, consommation quotidienne, demande un accompagnement discret."
CLIENT_KEY = "SW-7F3A-2026"
PERSON = {"receiver_service": "addiction_outreach", "subject": "person", "reason": "addiction",
          "urgency": "high", "message": MESSAGE, "client_key": CLIENT_KEY,
          "identity": {"name": "Yanis B.", "phone": "+32 470 12 34 56"},
          "consent": {"kind": "written", "given_at": (NOW - timedelta(days=1)).isoformat(),
                      "expires_at": (NOW + timedelta(days=180)).isoformat()}}
EXTRA_USERS = [("addiction", "street_worker", "addiction_service"),
               ("ifv", "mediator", "intra_family_violence")]
ROLES = ["desk", "warden", "streetworker", "mediator", "police", "tags", "coordinator",
         "auditor", "admin", "addiction"]


def add_users(api):
    database = cli.database_for("gateway")
    with database.session() as session:
        for username, role, organisation in EXTRA_USERS:
            auth.create_user(session, username, "demo", role, organisation, [ANTENNA])
        session.commit()
    database.engine.dispose()
    return api


@pytest.fixture(scope="module")
def platform(shared_platform, tmp_path_factory):
    return add_users(shared_platform)


def send(api, body=PERSON, user="streetworker"):
    response = api.call("POST", "/api/v1/referrals", user, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_send_and_read_with_content_for_both_parties_only(platform):
    referral = send(platform)
    assert referral["status"] == "sent" and referral["receiver_org"] == "addiction_service"
    assert referral["content"]["message"] == MESSAGE  # the sender reads what it wrote
    receiver = platform.call("GET", f"/api/v1/referrals/{referral['id']}", "addiction").json()
    assert receiver["content"]["client_key"] == CLIENT_KEY
    assert receiver["content"]["identity"]["name"] == "Yanis B."
    for user in ("coordinator", "auditor", "admin"):
        view = platform.call("GET", f"/api/v1/referrals/{referral['id']}", user)
        assert view.status_code == 200 and view.json()["content"] is None
    for user in ("police", "mediator", "desk", "warden", "tags"):
        assert platform.call("GET", f"/api/v1/referrals/{referral['id']}", user
                             ).status_code == 404


def fresh(api, accepted=False):
    referral = send(api)
    if accepted:
        assert api.call("POST", f"/api/v1/referrals/{referral['id']}/accept",
                        "addiction").status_code == 200
    return referral["id"]


def expected(endpoint, user):
    sender, receiver = "streetworker", "addiction"
    overseers = ("coordinator", "auditor", "admin")
    if endpoint == "list":
        return 403 if user in ("warden", "tags") else 200
    if endpoint == "get":
        return 200 if user in (sender, receiver) + overseers else 404
    if endpoint in ("accept", "decline", "contact-made"):
        if user == receiver:
            return 200
        return 403 if user in (sender,) + overseers else 404
    if endpoint in ("close", "withdraw-consent"):
        if user in (sender, receiver):
            return 200
        return 403 if user in overseers else 404
    if endpoint == "audit":
        return 200 if user == "auditor" else 403
    if endpoint == "partners":
        return 200
    if endpoint == "patch-partner":
        return 200 if user == "admin" else 403
    raise AssertionError(endpoint)


ENDPOINTS = ["list", "get", "accept", "decline", "contact-made", "close", "withdraw-consent",
             "audit", "partners", "patch-partner"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("user", ROLES)
def test_access_matrix(platform, endpoint, user):
    api = platform
    referral_id = fresh(api, accepted=endpoint == "contact-made")
    before = api.call("GET", f"/api/v1/referrals/{referral_id}", "coordinator").json()
    calls = {
        "list": ("GET", "/api/v1/referrals", None),
        "get": ("GET", f"/api/v1/referrals/{referral_id}", None),
        "accept": ("POST", f"/api/v1/referrals/{referral_id}/accept", {}),
        "decline": ("POST", f"/api/v1/referrals/{referral_id}/decline",
                    {"reason": "Hors de notre zone d'intervention."}),
        "contact-made": ("POST", f"/api/v1/referrals/{referral_id}/contact-made", {}),
        "close": ("POST", f"/api/v1/referrals/{referral_id}/close", {"outcome": "withdrawn"}),
        "withdraw-consent": ("POST", f"/api/v1/referrals/{referral_id}/withdraw-consent", {}),
        "audit": ("GET", "/api/v1/audit", None),
        "partners": ("GET", "/api/v1/partners", None),
        "patch-partner": ("PATCH", "/api/v1/partners/tenant_advice",
                          {"schedule": "Lu, Me, Ve 9:00-12:00"}),
    }
    method, path, body = calls[endpoint]
    response = api.call(method, path, user, json=body) if body is not None else \
        api.call(method, path, user)
    assert response.status_code == expected(endpoint, user), response.text
    if response.status_code >= 400:
        after = api.call("GET", f"/api/v1/referrals/{referral_id}", "coordinator").json()
        assert after == before  # a refused call changes nothing
    if endpoint == "list" and response.status_code == 200:
        items = response.json()["items"]
        assert all(item["content"] is None for item in items)  # lists never carry content
        if user in ("desk", "police", "mediator"):
            assert items == []  # not a party to any of these referrals


def test_every_content_read_and_refusal_is_in_the_audit_log(platform):
    api = platform
    referral_id = fresh(api)
    api.call("GET", f"/api/v1/referrals/{referral_id}", "addiction")
    api.call("GET", f"/api/v1/referrals/{referral_id}", "police")        # refused
    api.call("GET", f"/api/v1/referrals/{referral_id}", "coordinator")   # metadata only
    log = api.call("GET", f"/api/v1/audit?referral_id={referral_id}", "auditor").json()["items"]
    entries = [(e["user"], e["action"], e["granted"]) for e in reversed(log)]
    assert entries == [("streetworker", "read_content", True),
                       ("addiction", "read_content", True),
                       ("police", "read", False)]


def test_lifecycle_successful_and_events_carry_no_personal_content(platform):
    api = platform
    with Connection("lisa-memory://localhost/") as connection:
        spy = Queue("test-referral-spy", Exchange("referrals.events", type="topic",
                                                  durable=True), routing_key="#")
        spy = spy(connection.default_channel)
        spy.declare()
        referral_id = fresh(api)
        for action, body in (("accept", {}), ("contact-made", {}),
                             ("close", {"outcome": "successful"})):
            response = api.call("POST", f"/api/v1/referrals/{referral_id}/{action}",
                                "addiction", json=body)
            assert response.status_code == 200, response.text
        assert response.json()["successful"] is True
        bodies = [eventually(lambda: spy.get(no_ack=True), timeout=10).payload
                  for _ in range(4)]
    mine = [b for b in bodies if b["payload"]["referral_id"] == referral_id]
    assert [b["event_type"] for b in mine] == ["referral_sent", "referral_accepted",
                                               "referral_contact_made", "referral_closed"]
    assert mine[-1]["payload"]["successful"] is True
    text = json.dumps(bodies)
    for secret in (MESSAGE, CLIENT_KEY, "Yanis", "+32 470"):
        assert secret not in text


def test_successful_needs_a_first_contact(platform):
    referral_id = fresh(platform, accepted=True)
    response = platform.call("POST", f"/api/v1/referrals/{referral_id}/close", "addiction",
                             json={"outcome": "successful"})
    assert response.status_code == 409


def test_consent_withdrawal_erases_the_content_everywhere(platform):
    api = platform
    referral_id = fresh(api, accepted=True)
    withdrawn = api.call("POST", f"/api/v1/referrals/{referral_id}/withdraw-consent",
                         "streetworker")
    assert withdrawn.status_code == 200 and withdrawn.json()["redacted"] is True
    for user in ("streetworker", "addiction"):
        content = api.call("GET", f"/api/v1/referrals/{referral_id}", user).json()["content"]
        assert content["message"] is None and content["client_key"] is None
        assert content["identity"] is None and content["consent"]["withdrawn_at"]


BAD = [
    ("missing basis", {**PERSON, "consent": None}, 422),
    ("expired consent", {**PERSON, "consent": {**PERSON["consent"], "expires_at": (
        NOW - timedelta(days=1)).isoformat()}}, 422),
    ("consent in the future", {**PERSON, "consent": {**PERSON["consent"], "given_at": (
        NOW + timedelta(days=1)).isoformat()}}, 422),
    ("receiver does not accept the reason", {**PERSON, "reason": "housing"}, 422),
    ("unknown receiver", {**PERSON, "receiver_service": "nowhere"}, 422),
    ("legal basis without justification", {**PERSON, "consent": None, "identity": None,
                                           "legal_basis": {"basis": "case_concertation_458ter",
                                                           "reference": "x"}}, 422),
    ("identity with a legal basis only", {**PERSON, "consent": None, "legal_basis": {
        "basis": "danger_physical_integrity",
        "reference": "Menaces de mort répétées, signalées le 20/11."}}, 422),
    ("situation with a client", {**PERSON, "subject": "situation", "consent": None,
                                 "identity": None}, 422),
    ("unknown field", {**PERSON, "diagnosis": "x"}, 422),
]


@pytest.mark.parametrize("name, body, status", BAD, ids=[case[0] for case in BAD])
def test_bad_referrals_are_refused_and_logged(platform, name, body, status):
    before = platform.call("GET", "/api/v1/referrals", "coordinator").json()["total"]
    response = platform.call("POST", "/api/v1/referrals", "streetworker", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"]
    assert platform.call("GET", "/api/v1/referrals", "coordinator").json()["total"] == before
    if name not in ("unknown field", "legal basis without justification"):  # schema errors
        last = platform.call("GET", "/api/v1/audit?user=streetworker&limit=1",
                             "auditor").json()["items"][0]
        assert (last["action"], last["granted"]) == ("send", False)


def test_legal_basis_without_identity_is_accepted(platform):
    body = {**PERSON, "receiver_service": "ifv_support", "reason": "family_violence",
            "consent": None, "identity": None,
            "legal_basis": {"basis": "danger_physical_integrity",
                            "reference": "Menaces de mort répétées, signalées le 20/11."}}
    referral = send(platform, body, user="police")
    assert referral["basis"] == "danger_physical_integrity"
    # the police sent it, so the police reads it; the street worker does not
    assert platform.call("GET", f"/api/v1/referrals/{referral['id']}", "ifv").json()["content"]
    assert platform.call("GET", f"/api/v1/referrals/{referral['id']}",
                         "streetworker").status_code == 404


def test_wardens_signal_situations_only(platform):
    situation = {"receiver_service": "neighbour_mediation", "subject": "situation",
                 "reason": "mediation", "message": "Tensions récurrentes devant le n° 12."}
    assert platform.call("POST", "/api/v1/referrals", "warden", json=situation
                         ).status_code == 201
    assert platform.call("POST", "/api/v1/referrals", "warden", json=PERSON).status_code == 403


def test_guessing_ids_finds_nothing(platform):
    for referral_id in (999999, 0, 123456789):
        assert platform.call("GET", f"/api/v1/referrals/{referral_id}",
                             "streetworker").status_code == 404
