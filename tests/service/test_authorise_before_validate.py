"""Authorisation comes before validation, on every RPC of incidents, tags, referrals and
prevention: a caller who may not do something at all is told 403, one who may not see the
resource 404, whatever the body says; a 422 (which teaches what a valid request looks like) only
for those who may. One platform for the module."""
import pytest

from tests.service.test_gateway_embedded import GRAFFITI
from tests.service.test_referrals_embedded import PERSON
from tests.service.test_tags_embedded import DIRECT

MALFORMED = {"unexpected": [1, 2, 3], "status": 7, "reason": None, "outcome": "?"}


@pytest.fixture(scope="module")
def world(shared_platform):
    """One incident, two jobs (one from a desk report, one created directly), one referral
    from the street workers to the addiction service."""
    api = shared_platform
    incident = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI).json()["incident"]
    from tests.conftest import eventually
    desk_job = eventually(lambda: api.call("GET", f"/api/v1/tag-jobs?incident_id="
                                                  f"{incident['id']}", "tags").json()["items"])[0]
    direct_job = api.call("POST", "/api/v1/tag-jobs", "tags", json=DIRECT).json()
    referral = api.call("POST", "/api/v1/referrals", "streetworker", json=PERSON).json()
    member = api.call("POST", "/api/v1/tag-crew", "coordinator", json={"name": "Matrix"}).json()
    return {"incident": incident["id"], "desk_job": desk_job["id"],
            "direct_job": direct_job["id"], "referral": referral["id"], "member": member["id"],
            "missing": 999999}


# (method, path template, user, expected status): each with a malformed body or query.
MATRIX = [
    # incidents
    ("POST", "/api/v1/incidents", "auditor", 403),
    ("POST", "/api/v1/incidents", "tags", 403),
    ("POST", "/api/v1/incidents", "coordinator", 403),
    ("GET", "/api/v1/incidents?limit=abc", "admin", None),  # readers: 422 (control row)
    ("POST", "/api/v1/incidents/{incident}/triage", "desk", 403),
    ("POST", "/api/v1/incidents/{incident}/triage", "police", 403),
    ("POST", "/api/v1/incidents/{missing}/triage", "coordinator", 404),
    ("POST", "/api/v1/incidents/{incident}/status", "warden", 403),
    ("POST", "/api/v1/incidents/{missing}/status", "coordinator", 404),
    ("GET", "/api/v1/incidents/{incident}/contact-access?limit=abc", "coordinator", 403),
    ("GET", "/api/v1/incidents/{missing}/contact-access?limit=abc", "auditor", 404),
    # removal jobs
    ("POST", "/api/v1/tag-jobs", "police", 403),
    ("POST", "/api/v1/tag-jobs", "desk", 403),
    ("POST", "/api/v1/tag-jobs", "auditor", 403),
    ("GET", "/api/v1/tag-jobs?limit=abc", "police", 403),
    ("GET", "/api/v1/tag-plan?date=someday", "desk", 403),
    ("POST", "/api/v1/tag-jobs/{direct_job}/assess", "desk", 404),     # not its organisation's
    ("POST", "/api/v1/tag-jobs/{direct_job}/schedule", "desk", 404),
    ("POST", "/api/v1/tag-jobs/{desk_job}/schedule", "desk", 403),     # reads it, may not change
    ("POST", "/api/v1/tag-jobs/{desk_job}/complete", "police", 404),
    ("POST", "/api/v1/tag-jobs/{desk_job}/consent", "streetworker", 404),
    ("POST", "/api/v1/tag-jobs/{desk_job}/cancel", "auditor", 404),
    ("POST", "/api/v1/tag-jobs/{missing}/cancel", "tags", 404),
    ("GET", "/api/v1/tag-jobs/{desk_job}/contact-access?limit=abc", "tags", 403),
    ("GET", "/api/v1/tag-jobs/{missing}/contact-access?limit=abc", "auditor", 404),
    # the crew
    ("POST", "/api/v1/tag-crew", "tags", 403),
    ("POST", "/api/v1/tag-crew", "desk", 403),
    ("POST", "/api/v1/tag-crew/{member}/absences", "tags", 403),
    ("POST", "/api/v1/tag-crew/{member}/deactivate", "police", 403),
    ("POST", "/api/v1/tag-crew/{missing}/absences", "coordinator", 404),
    ("POST", "/api/v1/tag-crew/{missing}/deactivate", "admin", 404),
    # referrals and partners
    ("POST", "/api/v1/referrals", "tags", 403),
    ("POST", "/api/v1/referrals", "coordinator", 403),
    ("POST", "/api/v1/referrals", "auditor", 403),
    ("GET", "/api/v1/referrals?limit=abc", "tags", 403),
    ("GET", "/api/v1/audit?limit=abc", "coordinator", 403),
    ("POST", "/api/v1/referrals/{referral}/decline", "police", 404),   # not a party
    ("POST", "/api/v1/referrals/{referral}/decline", "streetworker", 403),  # sender, not receiver
    ("POST", "/api/v1/referrals/{referral}/accept", "coordinator", 403),
    ("POST", "/api/v1/referrals/{referral}/contact-made", "mediator", 404),
    ("POST", "/api/v1/referrals/{referral}/close", "tags", 404),
    ("POST", "/api/v1/referrals/{referral}/close", "auditor", 403),
    ("POST", "/api/v1/referrals/{referral}/withdraw-consent", "coordinator", 403),
    ("POST", "/api/v1/referrals/{missing}/accept", "addiction", 404),
    ("PATCH", "/api/v1/partners/addiction_outreach", "desk", 403),
    ("PATCH", "/api/v1/partners/no_such_service", "admin", 404),
    # prevention: street work, mediation, technoprevention (issue 11)
    ("POST", "/api/v1/street-work/outings", "police", 403),
    ("PUT", "/api/v1/street-work/assignment", "coordinator", 403),
    ("POST", "/api/v1/street-work/outings", "coordinator", 403),
    ("GET", "/api/v1/street-work/outings?limit=abc", "desk", 403),
    ("POST", "/api/v1/street-work/accompaniments", "mediator", 403),
    ("GET", "/api/v1/street-work/accompaniments?limit=abc", "coordinator", 403),
    ("POST", "/api/v1/street-work/accompaniments/{missing}/steps", "warden", 403),
    ("POST", "/api/v1/street-work/accompaniments/{missing}/steps", "streetworker", 404),
    ("POST", "/api/v1/street-work/accompaniments/{missing}/close", "streetworker", 404),
    ("POST", "/api/v1/street-work/concertations", "tags", 403),
    ("POST", "/api/v1/street-work/policy-notes", "police", 403),
    ("GET", "/api/v1/street-work/figures?year=abc", "warden", 403),
    ("GET", "/api/v1/street-work/access-log?limit=abc", "coordinator", 403),
    ("POST", "/api/v1/mediation/cases", "streetworker", 403),
    ("GET", "/api/v1/mediation/cases?limit=abc", "coordinator", 403),
    ("POST", "/api/v1/mediation/cases/{missing}/sessions", "mediator", 404),
    ("POST", "/api/v1/mediation/cases/{missing}/close", "police", 403),
    ("POST", "/api/v1/technoprevention/visits", "warden", 403),
    ("GET", "/api/v1/technoprevention/visits?limit=abc", "desk", 403),
    ("POST", "/api/v1/technoprevention/visits/{missing}/report", "desk", 403),
]


@pytest.mark.parametrize("method, template, user, status", MATRIX,
                         ids=[f"{m} {t} {u}" for m, t, u, _ in MATRIX])
def test_refused_before_the_body_is_read(shared_platform, world, method, template, user,
                                         status):
    path = template.format(**world)
    kwargs = {} if method == "GET" else {"json": MALFORMED}
    response = shared_platform.call(method, path, user, **kwargs)
    expected = 422 if status is None else status
    assert response.status_code == expected, response.text
    if status is not None:
        assert "fields" not in response.json()["error"]  # nothing about what a body needs


@pytest.mark.parametrize("method, template, user", [
    ("POST", "/api/v1/incidents", "desk"),
    ("POST", "/api/v1/incidents/{incident}/triage", "coordinator"),
    ("POST", "/api/v1/tag-jobs", "tags"),
    ("POST", "/api/v1/tag-jobs/{desk_job}/schedule", "tags"),
    ("GET", "/api/v1/tag-jobs/{desk_job}/contact-access?limit=abc", "auditor"),
    ("GET", "/api/v1/incidents/{incident}/contact-access?limit=abc", "auditor"),
    ("POST", "/api/v1/tag-crew", "coordinator"),
    ("POST", "/api/v1/tag-crew/{member}/absences", "coordinator"),
    ("POST", "/api/v1/tag-crew/{member}/deactivate", "coordinator"),
    ("POST", "/api/v1/referrals", "streetworker"),
    ("POST", "/api/v1/referrals/{referral}/decline", "addiction"),
    ("PATCH", "/api/v1/partners/addiction_outreach", "admin"),
    ("POST", "/api/v1/street-work/outings", "streetworker"),
    ("POST", "/api/v1/street-work/concertations", "coordinator"),
    ("POST", "/api/v1/mediation/cases", "mediator"),
    ("POST", "/api/v1/technoprevention/visits", "desk"),
])
def test_who_may_is_told_what_is_wrong(shared_platform, world, method, template, user):
    response = shared_platform.call(method, template.format(**world), user, json=MALFORMED)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"]


def test_refused_senders_are_in_the_access_log(shared_platform, world):
    api = shared_platform
    api.call("POST", "/api/v1/referrals", "tags", json=MALFORMED)
    entries = api.call("GET", "/api/v1/audit?user=tags", "auditor").json()["items"]
    assert entries and entries[0]["action"] == "send" and not entries[0]["granted"]


def test_the_idempotency_key_is_checked_after_the_caller(shared_platform):
    api = shared_platform
    too_long = {"Idempotency-Key": "k" * 101}
    assert api.call("POST", "/api/v1/incidents", "auditor", json=GRAFFITI,
                    headers=dict(too_long)).status_code == 403
    refused = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI, headers=dict(too_long))
    assert refused.status_code == 422 and "Idempotency-Key" in refused.json()["error"]["fields"]
