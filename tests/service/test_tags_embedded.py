"""Graffiti removal end to end through the embedded platform: incidents become jobs, the crew's
work moves the incident, access follows the rules, bad input changes nothing."""
from datetime import UTC, date, datetime

import pytest
from kombu import Connection, Exchange, Queue

from shared.calendar import BRUSSELS, add_working_days
from tests.conftest import eventually
from tests.service.test_gateway_embedded import GRAFFITI

PRIVATE = {**GRAFFITI, "category": "graffiti_private", "reporter": None,
           "location": {"address": "Rue Malibran 40, 1050 Ixelles", "lat": 50.8300,
                        "lon": 4.3735, "neighbourhood": "Flagey"}}
TODAY = datetime.now(BRUSSELS).date()
CONSENT = {"owner": "SPRL Boulangerie Malibran", "given_at": datetime.now(UTC).isoformat(),
           "waiver_reference": "WAIVER-2026-118"}
COMPLETION = {"removed_m2": 3.5, "method": "chemical", "minutes_spent": 70,
              "crew": ["Karim", "Sofie"]}
DIRECT = {"site": {"address": "Rue du Viaduc 120, 1050 Ixelles", "lat": 50.8330,
                   "lon": 4.3742, "neighbourhood": "Tulipe"},
          "surface": "brick", "area_m2": 4, "height_m": 1, "ownership": "public",
          "content": "ordinary"}




def consumed(api, outcome: str) -> float:
    """How many incident_reported events the tags consumer counted with `outcome` (the
    registry is process-wide, so tests compare before and after)."""
    needle = ('lisa_events_consumed_total{consumer="tags.on_incident_reported",'
              f'event_type="incident_reported",outcome="{outcome}",service="tags"}} ')
    for line in api.call("GET", "/metrics").text.splitlines():
        if line.startswith(needle):
            return float(line[len(needle):])
    return 0.0


def job_of(api, incident_id):
    return eventually(lambda: api.call("GET", f"/api/v1/tag-jobs?incident_id={incident_id}",
                                     "tags").json()["items"])


def with_crew(api, *names):
    """The crew is the coordinator's data: the members a test schedules or credits must exist."""
    for name in names:
        response = api.call("POST", "/api/v1/tag-crew", "coordinator", json={"name": name})
        assert response.status_code in (201, 422), response.text   # 422: already in the crew


def report(api, body, user="desk"):
    response = api.call("POST", "/api/v1/incidents", user, json=body)
    assert response.status_code == 201, response.text
    return response.json()["incident"]


def test_a_graffiti_incident_becomes_one_job(embedded_platform):
    api = embedded_platform
    incident = report(api, GRAFFITI)
    [job] = job_of(api, incident["id"])
    assert job["status"] == "ready" and job["ownership"] == "public"
    assert job["site"]["address"] == GRAFFITI["location"]["address"]
    assert job["priority"] == 2 and job["due_at"]
    processed = consumed(api, "processed")
    noise = report(api, {**GRAFFITI, "category": "noise"})
    eventually(lambda: consumed(api, "processed") > processed)
    assert api.call("GET", f"/api/v1/tag-jobs?incident_id={noise['id']}",
                    "tags").json()["items"] == []


def test_a_redelivered_incident_event_creates_nothing_new(embedded_platform):
    api = embedded_platform
    with Connection("lisa-memory://localhost/") as connection:
        spy = Queue("test-spy", Exchange("incidents.events", type="topic", durable=True),
                    routing_key="incident_reported")(connection.default_channel)
        spy.declare()
        incident = report(api, GRAFFITI)
        job_of(api, incident["id"])
        duplicates_before = consumed(api, "duplicate")
        envelope = eventually(lambda: spy.get(no_ack=True)).payload
        exchange = Exchange("incidents.events", type="topic", durable=True)
        for _ in range(2):
            connection.Producer().publish(envelope, exchange=exchange,
                                          routing_key="incident_reported", serializer="json")
    eventually(lambda: consumed(api, "duplicate") >= duplicates_before + 2)
    jobs = api.call("GET", f"/api/v1/tag-jobs?incident_id={incident['id']}", "tags").json()
    assert jobs["total"] == 1


def test_private_property_consent_schedule_complete_resolves_the_incident(embedded_platform):
    api = embedded_platform
    with_crew(api, *COMPLETION["crew"])
    incident = report(api, PRIVATE)
    [job] = job_of(api, incident["id"])
    assert job["status"] == "awaiting_consent" and job["due_at"] is None
    path = f"/api/v1/tag-jobs/{job['id']}"
    refused = api.call("POST", f"{path}/schedule", "tags", json={"date": TODAY.isoformat()})
    assert refused.status_code == 409 and "consent" in refused.json()["error"]["message"]
    assessed = api.call("POST", f"{path}/assess", "tags",
                        json={"surface": "painted", "area_m2": 3.5, "photos": ["IMG_0412.jpg"]})
    assert assessed.status_code == 200 and assessed.json()["area_m2"] == 3.5
    consented = api.call("POST", f"{path}/consent", "tags", json=CONSENT)
    assert consented.status_code == 200, consented.text
    assert consented.json()["status"] == "ready" and consented.json()["due_at"]
    scheduled = api.call("POST", f"{path}/schedule", "coordinator",
                         json={"date": TODAY.isoformat(), "crew": ["Karim", "Sofie"]})
    assert scheduled.status_code == 200 and scheduled.json()["status"] == "scheduled"
    eventually(lambda: api.call("GET", f"/api/v1/incidents/{incident['id']}",
                              "coordinator").json()["status"] == "in_progress")
    done = api.call("POST", f"{path}/complete", "tags", json=COMPLETION)
    assert done.status_code == 200 and done.json()["completion"]["removed_m2"] == 3.5
    resolved = eventually(lambda: (lambda i: i if i["status"] == "resolved" else None)(
        api.call("GET", f"/api/v1/incidents/{incident['id']}", "coordinator").json()))
    assert [h["to_status"] for h in resolved["history"]] == ["new", "triaged", "in_progress",
                                                              "resolved"]
    assert resolved["history"][-1]["actor"] == "tags"


def test_legal_wall_rejects_the_job(embedded_platform):
    api = embedded_platform
    created = api.call("POST", "/api/v1/tag-jobs", "tags", json={
        **DIRECT, "site": {"address": "Place Flagey, 1050 Ixelles", "lat": 50.8268,
                           "lon": 4.3718}})
    assert created.status_code == 201
    assert created.json()["status"] == "rejected"
    assert "Legal graffiti wall" in created.json()["reject_reason"]


def test_a_site_tagged_again_within_90_days_is_flagged(embedded_platform):
    api = embedded_platform
    with_crew(api, *COMPLETION["crew"])
    first = api.call("POST", "/api/v1/tag-jobs", "tags", json=DIRECT).json()
    assert first["recurrence"] is False
    api.call("POST", f"/api/v1/tag-jobs/{first['id']}/schedule", "tags",
             json={"date": TODAY.isoformat()})
    api.call("POST", f"/api/v1/tag-jobs/{first['id']}/complete", "tags", json=COMPLETION)
    again = api.call("POST", "/api/v1/tag-jobs", "tags", json={
        **DIRECT, "site": {**DIRECT["site"], "address": "rue du viaduc 120"}}).json()
    assert again["recurrence"] is True and again["site"]["id"] == first["site"]["id"]
    assert again["site"]["removals"] == 1


def test_offensive_content_is_first_and_due_in_one_working_day(embedded_platform):
    api = embedded_platform
    job = api.call("POST", "/api/v1/tag-jobs", "tags",
                   json={**DIRECT, "content": "hate"}).json()
    assert job["priority"] == 1
    due = datetime.fromisoformat(job["due_at"]).astimezone(BRUSSELS).date()
    created = datetime.fromisoformat(job["created_at"]).astimezone(BRUSSELS).date()
    assert due == add_working_days(created, 1)  # the next working day, holidays skipped


@pytest.mark.parametrize("user, list_status, read_status, change_status", [
    ("tags", 200, 200, 200), ("coordinator", 200, 200, 200),
    ("desk", 200, 200, 403),             # the desk logged the incident
    ("police", 403, 404, 404), ("warden", 403, 404, 404), ("streetworker", 403, 404, 404),
    ("mediator", 403, 404, 404), ("auditor", 403, 404, 404),
])
def test_who_may_read_and_change_jobs(embedded_platform, user, list_status, read_status,
                                      change_status):
    api = embedded_platform
    incident = report(api, GRAFFITI)
    [job] = job_of(api, incident["id"])
    assert api.call("GET", "/api/v1/tag-jobs", user).status_code == list_status
    assert api.call("GET", f"/api/v1/tag-jobs/{job['id']}", user).status_code == read_status
    change = api.call("POST", f"/api/v1/tag-jobs/{job['id']}/assess", user,
                      json={"area_m2": 5})
    assert change.status_code == change_status
    assert api.call("GET", f"/api/v1/tag-jobs/{job['id']}", "tags").json()["area_m2"] == \
        (5 if change_status == 200 else 2)


def test_the_desk_sees_only_jobs_of_its_own_intake(embedded_platform):
    api = embedded_platform
    own = report(api, GRAFFITI)
    theirs = report(api, {**GRAFFITI, "channel": "warden"}, user="warden")
    job_of(api, own["id"])
    job_of(api, theirs["id"])
    listed = api.call("GET", "/api/v1/tag-jobs", "desk").json()
    assert [item["incident_id"] for item in listed["items"]] == [own["id"]]


def test_daily_plan_through_the_api(embedded_platform):
    api = embedded_platform
    for name in ("Karim", "Sofie", "Luc", "Ana"):
        assert api.call("POST", "/api/v1/tag-crew", "coordinator",
                        json={"name": name}).status_code == 201
    for n in range(8):
        api.call("POST", "/api/v1/tag-jobs", "tags", json={
            **DIRECT, "area_m2": 5, "site": {**DIRECT["site"], "address": f"Rue Goffart {n + 1}",
                                             "lat": 50.8324 + n * 0.0003}})
    day = next_working_day()
    plan = api.call("GET", f"/api/v1/tag-plan?date={day.isoformat()}", "tags")
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert body["crew"] == ["Karim", "Sofie", "Luc", "Ana"]
    assert body["m2_planned"] <= body["m2_capacity"] == 32
    assert len(body["visits"]) + len(body["left_out"]) == 8
    assert all(entry["reason"] for entry in body["left_out"])
    two = api.call("GET", f"/api/v1/tag-plan?date={day.isoformat()}&crew=Karim,Ana", "tags")
    assert two.json()["m2_capacity"] == 16
    assert api.call("GET", f"/api/v1/tag-plan?date={day.isoformat()}&crew=Nobody",
                    "tags").status_code == 422
    assert api.call("GET", "/api/v1/tag-plan", "tags").status_code == 422
    assert api.call("GET", f"/api/v1/tag-plan?date={day.isoformat()}", "desk").status_code == 403


def next_working_day() -> date:
    return add_working_days(TODAY, 1)
