"""End to end through the HTTP API of the embedded platform (in-memory broker, SQLite)."""
import json

import pytest
from kombu import Connection, Exchange, Queue

from shared import events
from tests.conftest import eventually

GRAFFITI = {
    "category": "graffiti_public",
    "description": "Tags sur l'abribus, environ 3 m2.",
    "channel": "desk",
    "location": {"address": "Rue de la Tulipe 12, 1050 Ixelles", "lat": 50.8338,
                 "lon": 4.3703, "neighbourhood": "Tulipe"},
    "reporter": {"name": "Mme Janssens", "phone": "+32 2 511 22 33", "may_contact": True,
                 "share_with_police": False},
}


@pytest.fixture
def incident_events(embedded_platform):
    """A test consumer on the platform's in-memory broker: every incidents event."""
    connection = Connection("lisa-memory://localhost/")
    queue = Queue("test-consumer", Exchange("incidents.events", type="topic", durable=True),
                  routing_key="#")(connection.default_channel)
    queue.declare()

    def drain(expected: int):
        return [events.parse(eventually(lambda: queue.get(no_ack=True), timeout=10).payload)
                for _ in range(expected)]

    yield drain
    connection.release()


def test_report_read_triage_and_events(embedded_platform, incident_events):
    api = embedded_platform
    created = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI)
    assert created.status_code == 201, created.text
    incident = created.json()["incident"]
    assert incident["ticket"].startswith("LISA-20") and len(incident["ticket"]) == 16
    assert incident["status"] == "new" and incident["partner"] == "cellule_tags"
    assert incident["reporter"]["name"] == "Mme Janssens"  # desk sees its own intake

    by_ticket = api.call("GET", f"/api/v1/incidents/{incident['ticket']}", "coordinator")
    assert by_ticket.status_code == 200 and by_ticket.json()["id"] == incident["id"]

    triaged = api.call("POST", f"/api/v1/incidents/{incident['id']}/triage", "coordinator",
                       json={"note": "Cellule Tags, cette semaine"})
    assert triaged.status_code == 200, triaged.text
    assert triaged.json()["status"] == "triaged"
    assert [h["to_status"] for h in triaged.json()["history"]] == ["new", "triaged"]

    received = incident_events(2)
    assert [e.event_type for e in received] == ["incident_reported", "incident_triaged"]
    assert received[0].payload["ticket"] == incident["ticket"]
    assert received[0].antenna_id == "ixelles-tulipe"
    body = json.dumps([e.payload for e in received], default=str)
    assert "Janssens" not in body and "abribus" not in body  # no personal data, no free text

    metrics = api.call("GET", "/metrics").text
    assert 'lisa_events_published_total{event_type="incident_reported",service="incidents"}' \
        in metrics


def test_lifecycle_to_closed_emits_incident_closed(embedded_platform, incident_events):
    api = embedded_platform
    incident_id = api.call("POST", "/api/v1/incidents", "warden",
                           json={**GRAFFITI, "channel": "warden", "reporter": None}
                           ).json()["incident"]["id"]
    api.call("POST", f"/api/v1/incidents/{incident_id}/triage", "coordinator", json={})
    for status in ("in_progress", "resolved", "closed"):
        response = api.call("POST", f"/api/v1/incidents/{incident_id}/status", "coordinator",
                            json={"status": status})
        assert response.status_code == 200, response.text
    received = incident_events(6)
    assert [e.event_type for e in received][-2:] == ["incident_status_changed",
                                                      "incident_closed"]
    assert received[-1].payload["within_sla"] is True


def test_duplicate_hints_and_marking(embedded_platform):
    api = embedded_platform
    first = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI).json()
    second = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI).json()
    assert [h["ticket"] for h in second["duplicate_hints"]] == [first["incident"]["ticket"]]
    marked = api.call("POST", f"/api/v1/incidents/{second['incident']['id']}/status",
                      "coordinator", json={"status": "duplicate",
                                           "duplicate_of": first["incident"]["id"]})
    assert marked.status_code == 200 and marked.json()["duplicate_of"] == first["incident"]["id"]


def test_list_filters_and_role_scopes(embedded_platform):
    api = embedded_platform
    api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI)
    api.call("POST", "/api/v1/incidents", "desk", json={**GRAFFITI, "category": "noise"})
    everything = api.call("GET", "/api/v1/incidents", "coordinator").json()
    assert everything["total"] == 2
    assert all(item["reporter"] is None for item in everything["items"])  # lists never show it
    graffiti = api.call("GET", "/api/v1/incidents?category=graffiti", "coordinator").json()
    assert [i["category"] for i in graffiti["items"]] == ["graffiti_public"]
    tags_view = api.call("GET", "/api/v1/incidents", "tags").json()
    assert [i["category"] for i in tags_view["items"]] == ["graffiti_public"]
    noise_id = [i for i in everything["items"] if i["category"] == "noise"][0]["id"]
    assert api.call("GET", f"/api/v1/incidents/{noise_id}", "tags").status_code == 404


@pytest.mark.parametrize("user, sees_contact", [
    ("desk", True), ("coordinator", True), ("police", False), ("warden", False),
    ("streetworker", False), ("auditor", False),
])
def test_citizen_contact_follows_the_access_table(embedded_platform, user, sees_contact):
    api = embedded_platform
    incident_id = api.call("POST", "/api/v1/incidents", "desk",
                           json=GRAFFITI).json()["incident"]["id"]
    view = api.call("GET", f"/api/v1/incidents/{incident_id}", user)
    assert view.status_code == 200
    assert (view.json()["reporter"] is not None) is sees_contact


def test_police_sees_contact_only_with_consent(embedded_platform):
    api = embedded_platform
    consenting = {**GRAFFITI, "reporter": {**GRAFFITI["reporter"], "share_with_police": True}}
    incident_id = api.call("POST", "/api/v1/incidents", "desk",
                           json=consenting).json()["incident"]["id"]
    view = api.call("GET", f"/api/v1/incidents/{incident_id}", "police").json()
    assert view["reporter"]["phone"] == "+32 2 511 22 33"


@pytest.mark.parametrize("user, status", [
    ("auditor", 403), ("tags", 403), ("coordinator", 403),
])
def test_roles_that_may_not_report(embedded_platform, user, status):
    assert embedded_platform.call("POST", "/api/v1/incidents", user,
                                  json=GRAFFITI).status_code == status


@pytest.mark.parametrize("user", ["desk", "police", "warden", "auditor", "tags"])
def test_only_coordinator_triages(embedded_platform, user):
    api = embedded_platform
    incident_id = api.call("POST", "/api/v1/incidents", "desk",
                           json=GRAFFITI).json()["incident"]["id"]
    assert api.call("POST", f"/api/v1/incidents/{incident_id}/triage", user,
                    json={}).status_code in (403, 404)
    assert api.call("GET", f"/api/v1/incidents/{incident_id}",
                    "coordinator").json()["status"] == "new"


def test_categories_and_openapi(embedded_platform):
    api = embedded_platform
    categories = api.call("GET", "/api/v1/categories", "desk").json()
    codes = {c["code"] for c in categories}
    assert {"graffiti", "graffiti_public", "intra_family_violence", "syringes_found"} <= codes
    ifv = next(c for c in categories if c["code"] == "intra_family_violence")
    assert ifv["zone"] == "social" and ifv["phenomenon"] == "intra_family_violence"
    spec = api.call("GET", "/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/incidents", "/api/v1/incidents/{incident_id}/triage",
            "/api/v1/auth/token", "/api/v1/categories"} <= set(spec["paths"])
    request_schema = spec["components"]["schemas"]["ReportIncident"]
    assert set(request_schema["required"]) == {"category", "description", "location",
                                               "channel"}


def test_health_and_readiness(embedded_platform):
    api = embedded_platform
    assert api.call("GET", "/healthz").json()["status"] == "alive"
    ready = api.call("GET", "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok",
                                                                  "broker": "ok"}


def test_token_lifecycle(embedded_platform):
    api = embedded_platform
    me = api.call("GET", "/api/v1/me", "police").json()
    assert me == {"user": "police", "role": "police", "organisation": "police_zone",
                  "antennas": ["ixelles-tulipe"]}
    token = api.token("police")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.call("POST", "/api/v1/auth/revoke", headers=headers).status_code == 200
    assert api.call("GET", "/api/v1/me", headers=headers).status_code == 401


def test_a_service_that_does_not_answer_gives_503_not_a_hang(tmp_path):
    from tests.conftest import running_platform

    with running_platform(tmp_path, only={"gateway"},
                          env={"LISA_RPC_TIMEOUT_SECONDS": "1"}) as api:
        response = api.call("GET", "/api/v1/categories", "desk")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


def test_a_retried_report_with_the_same_idempotency_key_creates_one_incident(embedded_platform):
    api = embedded_platform
    headers = {"Idempotency-Key": "desk-tablet-7f3a"}
    first = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI, headers=dict(headers))
    again = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI, headers=dict(headers))
    assert first.status_code == again.status_code == 201
    assert first.json()["incident"]["ticket"] == again.json()["incident"]["ticket"]
    other = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI,
                     headers={"Idempotency-Key": "another"})
    assert other.json()["incident"]["ticket"] != first.json()["incident"]["ticket"]
    assert api.call("GET", "/api/v1/incidents", "coordinator").json()["total"] == 2


def test_auditor_sees_who_read_a_contact_but_not_the_contact(embedded_platform):
    api = embedded_platform
    incident_id = api.call("POST", "/api/v1/incidents", "desk",
                           json=GRAFFITI).json()["incident"]["id"]
    api.call("GET", f"/api/v1/incidents/{incident_id}", "coordinator")
    audit = api.call("GET", f"/api/v1/incidents/{incident_id}/contact-access", "auditor")
    assert audit.status_code == 200
    assert [(e["user"], e["purpose"]) for e in audit.json()["items"]] == [
        ("desk", "intake"), ("coordinator", "view incident")]
    assert audit.json()["total"] == 2
    assert api.call("GET", f"/api/v1/incidents/{incident_id}", "auditor").json()["reporter"] \
        is None
    for user in ("desk", "police", "coordinator"):
        assert api.call("GET", f"/api/v1/incidents/{incident_id}/contact-access",
                        user).status_code == 403


def test_home_page_asks_to_log_in_and_the_api_page_points_to_the_api(embedded_platform):
    page = embedded_platform.call("GET", "/")      # the web pages: log in first
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert 'name="password"' in page.text
    api_page = embedded_platform.call("GET", "/api-docs")    # public, as the API document is
    assert api_page.status_code == 200 and "/api/v1/openapi.json" in api_page.text
