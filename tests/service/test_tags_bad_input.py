"""Bad input to the tags API: 4xx with a JSON body, nothing changed. One platform for the
module (module-scoped: do not mix with `embedded_platform` here, two platforms would share the
in-memory broker)."""
from datetime import timedelta

import pytest

from tests.service.test_tags_embedded import COMPLETION, CONSENT, DIRECT, TODAY, with_crew

BAD = [
    ("negative area", "create", {**DIRECT, "area_m2": -3}, 422),
    ("absurd area", "create", {**DIRECT, "area_m2": 100000}, 422),
    ("unknown surface", "create", {**DIRECT, "surface": "lava"}, 422),
    ("unknown field", "create", {**DIRECT, "colour": "red"}, 422),
    ("site outside Belgium", "create", {**DIRECT, "site": {"address": "Paris 1", "lat": 48.8,
                                                           "lon": 2.3}}, 422),
    ("completion without m2", "complete", {"method": "chemical", "minutes_spent": 30,
                                           "crew": ["Karim"]}, 422),
    ("complete a job not scheduled", "complete", COMPLETION, 409),
    ("consent on public property", "consent", CONSENT, 409),
    ("schedule in the past", "schedule", {"date": (TODAY - timedelta(days=3)).isoformat()}, 422),
    ("schedule bad date", "schedule", {"date": "tomorrow"}, 422),
    ("cancel without reason", "cancel", {}, 422),
]


@pytest.mark.parametrize("name, action, body, status", BAD, ids=[case[0] for case in BAD])
def test_bad_input_changes_nothing(shared_platform, name, action, body, status):
    api = shared_platform
    job = api.call("POST", "/api/v1/tag-jobs", "tags", json=DIRECT).json()
    before = api.call("GET", "/api/v1/tag-jobs", "tags").json()["total"]
    if action == "create":
        response = api.call("POST", "/api/v1/tag-jobs", "tags", json=body)
    else:
        response = api.call("POST", f"/api/v1/tag-jobs/{job['id']}/{action}", "tags", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"]
    assert api.call("GET", "/api/v1/tag-jobs", "tags").json()["total"] == before
    after = api.call("GET", f"/api/v1/tag-jobs/{job['id']}", "tags").json()
    assert after["status"] == "ready" and len(after["history"]) == 2


def test_forbidden_transition_after_completion(shared_platform):
    api = shared_platform
    with_crew(api, *COMPLETION["crew"])
    job = api.call("POST", "/api/v1/tag-jobs", "tags", json=DIRECT).json()
    api.call("POST", f"/api/v1/tag-jobs/{job['id']}/schedule", "tags",
             json={"date": TODAY.isoformat()})
    api.call("POST", f"/api/v1/tag-jobs/{job['id']}/complete", "tags", json=COMPLETION)
    for action, body in (("cancel", {"reason": "changed my mind"}), ("complete", COMPLETION),
                         ("schedule", {"date": TODAY.isoformat()})):
        response = api.call("POST", f"/api/v1/tag-jobs/{job['id']}/{action}", "tags", json=body)
        assert response.status_code == 409
