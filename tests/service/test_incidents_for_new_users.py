"""What a new user of the incidents API found (issue 8): re-routing, the responsible partner's
view of the contact, neighbourhoods from coordinates, ticket lookup. One platform for the
module; each test makes its own incidents."""
import pytest

from tests.service.test_gateway_embedded import GRAFFITI

CONFLICT = {"category": "neighbour_conflict", "channel": "desk",
            "description": "Conflit entre voisins au sujet d'une cour commune.",
            "location": {"address": "Rue de la Tulipe 30, 1050 Ixelles", "lat": 50.8336,
                         "lon": 4.3706},
            "reporter": {"name": "M. Dupont", "phone": "+32 2 512 00 11", "may_contact": True,
                         "share_with_police": False}}


def report(api, body, user="desk"):
    response = api.call("POST", "/api/v1/incidents", user, json=body)
    assert response.status_code == 201, response.text
    return response.json()["incident"]


def test_the_coordinator_re_routes_a_triaged_incident(shared_platform):
    api = shared_platform
    incident = report(api, {**GRAFFITI, "category": "illegal_dumping", "reporter": None})
    path = f"/api/v1/incidents/{incident['id']}/triage"
    first = api.call("POST", path, "coordinator", json={})
    assert first.status_code == 200 and first.json()["partner"] == "public_cleanliness"
    again = api.call("POST", path, "coordinator",
                     json={"partner": "street_work", "note": "Dépôt lié à un squat"})
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["status"], body["partner"]) == ("triaged", "street_work")
    last = body["history"][-1]
    assert (last["from_status"], last["to_status"], last["partner"]) == \
        ("triaged", "triaged", "street_work")
    assert "public_cleanliness" in last["note"] and "street_work" in last["note"]
    assert "squat" in last["note"]


def test_re_routing_needs_a_change(shared_platform):
    api = shared_platform
    incident = report(api, {**GRAFFITI, "category": "illegal_dumping", "reporter": None})
    path = f"/api/v1/incidents/{incident['id']}/triage"
    api.call("POST", path, "coordinator", json={})
    same = api.call("POST", path, "coordinator", json={"partner": "public_cleanliness"})
    assert same.status_code == 409


@pytest.mark.parametrize("may_contact, user, sees", [
    (True, "mediator", True),          # social_mediation is the responsible partner
    (False, "mediator", False),        # the citizen did not agree to be contacted
    (True, "streetworker", False),     # another organisation
    (True, "warden", False),
])
def test_the_responsible_partner_reads_the_contact_the_citizen_allowed(shared_platform,
                                                                      may_contact, user, sees):
    api = shared_platform
    body = {**CONFLICT, "reporter": {**CONFLICT["reporter"], "may_contact": may_contact}}
    incident = report(api, body)
    assert incident["partner"] == "social_mediation"
    view = api.call("GET", f"/api/v1/incidents/{incident['id']}", user)
    assert view.status_code == 200
    assert (view.json()["reporter"] is not None) is sees
    if sees:
        assert view.json()["reporter"]["phone"] == "+32 2 512 00 11"
    log = api.call("GET", f"/api/v1/incidents/{incident['id']}/contact-access", "auditor")
    readers = [entry["user"] for entry in log.json()["items"]]
    assert (user in readers) is sees


def test_a_re_routed_incident_shows_the_contact_to_the_new_partner_only(shared_platform):
    api = shared_platform
    incident = report(api, CONFLICT)
    api.call("POST", f"/api/v1/incidents/{incident['id']}/triage", "coordinator",
             json={"partner": "street_work"})
    assert api.call("GET", f"/api/v1/incidents/{incident['id']}",
                    "mediator").json()["reporter"] is None
    assert api.call("GET", f"/api/v1/incidents/{incident['id']}",
                    "streetworker").json()["reporter"] is not None


def test_the_neighbourhood_follows_from_the_coordinates(shared_platform):
    api = shared_platform
    place = {"address": "Rue Malibran 12, 1050 Ixelles", "lat": 50.8300, "lon": 4.3735}
    incident = report(api, {**GRAFFITI, "reporter": None, "location": place})
    assert incident["location"]["neighbourhood"] == "Flagey"
    no_coordinates = report(api, {**GRAFFITI, "reporter": None, "location": {
        "address": "Rue Malibran 14, 1050 Ixelles", "neighbourhood": "flagey"}})
    assert no_coordinates["location"]["neighbourhood"] == "Flagey"


@pytest.mark.parametrize("spelling", ["Flagey", "flagey", "FLAGEY", " Flagey "])
def test_the_neighbourhood_filter_ignores_case(shared_platform, spelling):
    api = shared_platform
    report(api, {**GRAFFITI, "reporter": None,
                 "location": {"address": "Place Flagey 3, 1050 Ixelles", "lat": 50.8276,
                              "lon": 4.3723}})
    listed = api.call("GET", "/api/v1/incidents", "coordinator",
                      params={"neighbourhood": spelling, "limit": 500}).json()
    assert listed["total"] >= 1
    assert {item["location"]["neighbourhood"] for item in listed["items"]} == {"Flagey"}


@pytest.mark.parametrize("shape", [str.lower, lambda t: f"  {t} ", lambda t: t.replace(
    "LISA", "lisa")])
def test_a_ticket_is_found_in_any_case_and_with_spaces(shared_platform, shape):
    api = shared_platform
    incident = report(api, {**GRAFFITI, "reporter": None})
    found = api.call("GET", f"/api/v1/incidents/{shape(incident['ticket'])}", "coordinator")
    assert found.status_code == 200, found.text
    assert found.json()["id"] == incident["id"]
