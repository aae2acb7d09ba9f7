"""`make run` on the real RabbitMQ and PostgreSQL: one process per service, migrations first
(the `distributed_platform` fixture of tests/integration/conftest.py: its own RabbitMQ vhost and
PostgreSQL databases, so runs never see each other's messages or rows)."""
import json
from datetime import UTC, datetime

import pytest
from kombu import Connection, Exchange, Queue

from shared import events
from shared.calendar import BRUSSELS
from tests.conftest import eventually

pytestmark = pytest.mark.integration

GRAFFITI = {
    "category": "graffiti_offensive", "description": "Tag haineux sur la porte de l'école.",
    "channel": "desk",
    "location": {"address": "Rue Malibran 40, 1050 Ixelles", "lat": 50.8300, "lon": 4.3735},
}


def test_report_triage_and_events_on_rabbitmq_and_postgresql(distributed_platform):
    api, amqp_uri = distributed_platform.api, distributed_platform.amqp_uri
    exchange = Exchange("incidents.events", type="topic", durable=True)
    with Connection(amqp_uri) as connection:
        queue = Queue("it-test-consumer", exchange, routing_key="#", durable=False)
        bound = queue(connection.default_channel)
        bound.declare()

        created = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI)
        assert created.status_code == 201, created.text
        incident = created.json()["incident"]
        assert incident["partner"] == "cellule_tags" and incident["status"] == "new"
        read = api.call("GET", f"/api/v1/incidents/{incident['ticket']}", "coordinator")
        assert read.status_code == 200 and read.json()["id"] == incident["id"]
        triaged = api.call("POST", f"/api/v1/incidents/{incident['id']}/triage", "coordinator",
                           json={"partner": "public_cleanliness"})
        assert triaged.status_code == 200 and triaged.json()["partner"] == "public_cleanliness"
        bad = api.call("POST", f"/api/v1/incidents/{incident['id']}/status", "coordinator",
                       json={"status": "closed"})
        assert bad.status_code == 409

        received = [events.parse(eventually(lambda: bound.get(no_ack=True)).payload)
                    for _ in range(2)]
    assert [e.event_type for e in received] == ["incident_reported", "incident_triaged"]
    assert received[0].payload["ticket"] == incident["ticket"]
    assert received[1].payload["partner"] == "public_cleanliness"
    assert received[0].correlation_id  # the gateway call's id travels with the event

    metrics = distributed_platform.metrics("incidents")
    assert 'lisa_events_published_total{event_type="incident_triaged",service="incidents"} 1.0' \
        in metrics
    assert 'lisa_outbox_backlog{service="incidents"} 0.0' in metrics


def test_graffiti_incident_to_one_job_to_resolved_on_rabbitmq_and_postgresql(
        distributed_platform):
    api, amqp_uri = distributed_platform.api, distributed_platform.amqp_uri
    exchange = Exchange("incidents.events", type="topic", durable=True)
    private = {**GRAFFITI, "category": "graffiti_private",
               "location": {"address": "Rue Malibran 40, 1050 Ixelles", "lat": 50.8300,
                            "lon": 4.3735, "neighbourhood": "Flagey"}}
    with Connection(amqp_uri) as connection:
        spy = Queue("it-spy", exchange, routing_key="incident_reported",
                    durable=False)(connection.default_channel)
        spy.declare()
        incident = api.call("POST", "/api/v1/incidents", "desk", json=private).json()["incident"]
        envelope = eventually(lambda: spy.get(no_ack=True)).payload
        jobs_path = f"/api/v1/tag-jobs?incident_id={incident['id']}"
        [job] = eventually(lambda: api.call("GET", jobs_path, "tags").json()["items"])
        # the same event delivered twice more: still one job
        for _ in range(2):
            connection.Producer().publish(envelope, exchange=exchange,
                                          routing_key="incident_reported", serializer="json")
    duplicates = ('lisa_events_consumed_total{consumer="tags.on_incident_reported",'
                  'event_type="incident_reported",outcome="duplicate",service="tags"} 2.0')
    eventually(lambda: duplicates in distributed_platform.metrics("tags"))
    assert api.call("GET", jobs_path, "tags").json()["total"] == 1
    assert job["status"] == "awaiting_consent"

    for name in ("Karim", "Sofie", "Luc", "Ana"):   # a deployment starts with no crew
        assert api.call("POST", "/api/v1/tag-crew", "coordinator",
                        json={"name": name}).status_code == 201
    path = f"/api/v1/tag-jobs/{job['id']}"
    today = datetime.now(BRUSSELS).date().isoformat()
    assert api.call("POST", f"{path}/schedule", "tags", json={"date": today}).status_code == 409
    consent = api.call("POST", f"{path}/consent", "tags", json={
        "owner": "SPRL Boulangerie", "given_at": datetime.now(UTC).isoformat(),
        "waiver_reference": "WAIVER-118"})
    assert consent.status_code == 200, consent.text
    assert api.call("POST", f"{path}/schedule", "coordinator",
                    json={"date": today, "crew": ["Karim", "Sofie"]}).status_code == 200
    eventually(lambda: api.call("GET", f"/api/v1/incidents/{incident['id']}",
                          "coordinator").json()["status"] == "in_progress")
    done = api.call("POST", f"{path}/complete", "tags", json={
        "removed_m2": 3.5, "method": "chemical", "minutes_spent": 70, "crew": ["Karim", "Sofie"]})
    assert done.status_code == 200, done.text
    eventually(lambda: api.call("GET", f"/api/v1/incidents/{incident['id']}",
                          "coordinator").json()["status"] == "resolved")
    plan = api.call("GET", f"/api/v1/tag-plan?date={today}&anyway=true", "coordinator")
    assert plan.status_code == 200 and plan.json()["m2_capacity"] == 32


def test_referral_lifecycle_on_rabbitmq_and_postgresql(distributed_platform):
    api, amqp_uri = distributed_platform.api, distributed_platform.amqp_uri
    message, client_key = "Demande d'accompagnement discret, jeune majeur.", "SW-IT-0042"
    body = {"receiver_service": "addiction_outreach", "subject": "person",
            "reason": "addiction", "urgency": "high", "message": message,
            "client_key": client_key, "identity": {"name": "Yanis B."},
            "consent": {"kind": "written", "given_at": datetime.now(UTC).isoformat()}}
    with Connection(amqp_uri) as connection:
        spy = Queue("it-referral-spy", Exchange("referrals.events", type="topic", durable=True),
                    routing_key="#", durable=False)(connection.default_channel)
        spy.declare()
        sent = api.call("POST", "/api/v1/referrals", "streetworker", json=body)
        assert sent.status_code == 201, sent.text
        referral_id = sent.json()["id"]
        assert api.call("GET", f"/api/v1/referrals/{referral_id}", "police").status_code == 404
        for action, payload in (("accept", {}), ("contact-made", {}),
                                ("close", {"outcome": "successful"})):
            response = api.call("POST", f"/api/v1/referrals/{referral_id}/{action}",
                                "addiction", json=payload)
            assert response.status_code == 200, response.text
        bodies = [eventually(lambda: spy.get(no_ack=True)).payload for _ in range(4)]
    assert [b["event_type"] for b in bodies] == ["referral_sent", "referral_accepted",
                                                 "referral_contact_made", "referral_closed"]
    assert bodies[-1]["payload"]["successful"] is True
    on_the_bus = json.dumps(bodies)
    assert message not in on_the_bus and client_key not in on_the_bus
    assert "Yanis" not in on_the_bus
    audit = api.call("GET", f"/api/v1/audit?referral_id={referral_id}",
                     "auditor").json()["items"]
    assert {(e["user"], e["granted"]) for e in audit} >= {("streetworker", True),
                                                         ("addiction", True), ("police", False)}


NEIGHBOUR_CONFLICT = {
    "category": "neighbour_conflict", "description": "Disputes au sujet d'une haie mitoyenne.",
    "channel": "desk",
    "location": {"address": "Rue Keyenveld 40, 1050 Ixelles", "lat": 50.8349, "lon": 4.3627,
                 "neighbourhood": "Matonge"},
}


def test_prevention_on_rabbitmq_and_postgresql(distributed_platform):
    """A neighbour conflict reported at the desk opens a mediation case in the prevention
    process (which reads the incident from the incidents process); an outing's tally goes on
    the bus as counts only."""
    api, amqp_uri = distributed_platform.api, distributed_platform.amqp_uri
    with Connection(amqp_uri) as connection:
        spy = Queue("it-prevention-spy", Exchange("prevention.events", type="topic",
                                                  durable=True),
                    routing_key="#", durable=False)(connection.default_channel)
        spy.declare()
        incident = api.call("POST", "/api/v1/incidents", "desk", json=NEIGHBOUR_CONFLICT)
        assert incident.status_code == 201, incident.text
        incident_id = incident.json()["incident"]["id"]

        def opened():
            cases = api.call("GET", "/api/v1/mediation/cases", "mediator").json()["items"]
            return [case for case in cases if case["incident_id"] == incident_id]

        case = eventually(opened)[0]
        assert case["organisation"] == "social_mediation" and len(case["party_keys"]) == 2
        assert api.call("GET", f"/api/v1/mediation/cases/{case['id']}", "police"
                        ).status_code == 404
        closed = api.call("POST", f"/api/v1/mediation/cases/{case['id']}/close", "mediator",
                          json={"outcome": "agreement"})
        assert closed.status_code == 200, closed.text
        outing = api.call("POST", "/api/v1/street-work/outings", "streetworker",
                          json={"neighbourhood": "Matonge", "contacts": 7, "new_people": 2})
        assert outing.status_code == 201, outing.text
        bodies = [eventually(lambda: spy.get(no_ack=True)).payload for _ in range(2)]
    assert sorted(b["event_type"] for b in bodies) == ["contacts_logged", "mediation_closed"]
    closed_event = next(b for b in bodies if b["event_type"] == "mediation_closed")
    assert closed_event["payload"]["from_incident"] is True
    assert closed_event["payload"]["agreement"] is True
    on_the_bus = json.dumps(bodies)
    for key in case["party_keys"]:
        assert key not in on_the_bus
    assert "Keyenveld" not in on_the_bus and "streetworker" not in on_the_bus
