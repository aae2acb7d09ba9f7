"""Patrols on the real RabbitMQ and PostgreSQL (`make run` on a throwaway vhost and databases,
the `distributed_platform` fixture): a warden's observation becomes an incident of channel
`warden` through the broker, and incidents reported at the desk become hotspot weights."""
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import eventually

pytestmark = pytest.mark.integration
PLANNER = "wardencoord"


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def test_observation_to_incident_and_incidents_to_hotspots(distributed_platform):
    api = distributed_platform.api
    post = ok(api.call("POST", "/api/v1/patrols/posts", PLANNER, json={
        "name": "Place Flagey", "kind": "hotspot", "neighbourhood": "Flagey",
        "address": "Place Flagey, 1050 Ixelles", "lat": 50.8275, "lon": 4.3722}), 201)
    ok(api.call("POST", "/api/v1/patrols/wardens", PLANNER, json={
        "name": "Nadia", "username": "warden", "contract_hours": 38}), 201)
    ended = datetime.now(UTC) - timedelta(minutes=1)
    ok(api.call("POST", "/api/v1/patrols/logs", "warden", json={
        "post_id": post["id"], "started_at": (ended - timedelta(hours=2)).isoformat(),
        "ended_at": ended.isoformat(), "observations": [{"category": "syringes_found"}]}), 201)

    def warden_incident():
        items = ok(api.call("GET", "/api/v1/incidents", "coordinator",
                            params={"limit": 100}))["items"]
        return [i for i in items if i["channel"] == "warden"]

    [incident] = eventually(warden_incident, timeout=60)
    assert incident["category"] == "syringes_found"
    assert incident["location"]["neighbourhood"] == "Flagey"

    for _ in range(2):
        ok(api.call("POST", "/api/v1/incidents", "desk", json={
            "category": "litter", "description": "Déchets place Flagey.", "channel": "desk",
            "location": {"address": "Place Flagey 3, 1050 Ixelles", "lat": 50.8276,
                         "lon": 4.3721, "neighbourhood": "Flagey"}, "reporter": None}), 201)

    def flagey():   # the warden's incident counts too: it is an incident reported there
        hoods = ok(api.call("GET", "/api/v1/patrols/hotspots", PLANNER))["neighbourhoods"]
        return next((h for h in hoods if h["neighbourhood"] == "Flagey"
                     and h["incidents"] >= 3), None)

    hotspot = eventually(flagey, timeout=60)
    assert hotspot["bonus"] == 150
    assert 'consumer="incidents.on_observation_logged"' in \
        distributed_platform.metrics("incidents")
