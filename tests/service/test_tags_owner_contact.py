"""The owner's contact on a consent record (DESIGN.md section 5): the crew and the coordinator
read it one job at a time, every read logged for the auditor; nobody reads it in a list."""
from tests.conftest import eventually
from tests.service.test_tags_embedded import CONSENT, PRIVATE

OWNER = {**CONSENT, "owner": "M. Lambert", "phone": "+32 2 640 10 20",
         "email": "lambert@example.org"}


def test_the_crew_reads_the_owners_contact_and_every_read_is_logged(shared_platform):
    api = shared_platform
    incident = api.call("POST", "/api/v1/incidents", "desk", json=PRIVATE).json()["incident"]
    job = eventually(lambda: api.call("GET", f"/api/v1/tag-jobs?incident_id={incident['id']}",
                                      "tags").json()["items"])[0]
    path = f"/api/v1/tag-jobs/{job['id']}"
    recorded = api.call("POST", f"{path}/consent", "tags", json=OWNER)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["consent"]["owner"]["phone"] == OWNER["phone"]
    assert api.call("GET", path, "coordinator").json()["consent"]["owner"]["name"] == \
        "M. Lambert"
    desk = api.call("GET", path, "desk").json()            # the desk's intake: no owner
    assert desk["consent"]["waiver_reference"] == CONSENT["waiver_reference"]
    assert desk["consent"]["owner"] is None
    listed = api.call("GET", f"/api/v1/tag-jobs?incident_id={incident['id']}", "tags").json()
    assert listed["items"][0]["consent"]["owner"] is None
    log = api.call("GET", f"{path}/contact-access", "auditor")
    assert log.status_code == 200
    assert [(e["user"], e["purpose"]) for e in log.json()["items"]] == [
        ("tags", "record consent"), ("coordinator", "view removal job")]
    assert log.json()["total"] == 2
    for user in ("tags", "coordinator", "desk"):
        assert api.call("GET", f"{path}/contact-access", user).status_code == 403
    assert "M. Lambert" not in str(api.call("GET", f"/api/v1/incidents/{incident['id']}",
                                            "tags").json())
