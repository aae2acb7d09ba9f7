"""The edges of HTTP a hostile client tries: numbers past what the database stores, JSON nested
deeper than the parser recurses, reused idempotency keys, methods a route does not have, bodies
over the limit or sent chunked. Each gets a JSON 4xx, never a 5xx. One platform for the module."""
import json
import logging
import re

import pytest
from marshmallow import fields

from lisa import platform
from shared.web import MAX_BODY_BYTES
from tests.service.test_gateway_embedded import GRAFFITI
from tests.service.test_tags_embedded import DIRECT

# Who may reach the resource behind each route, so a huge id is looked up rather than refused.
USER_FOR_TAG = {"incidents": "coordinator", "tag-jobs": "tags", "referrals": "streetworker"}
HUGE = [2**63, 2**64, 10**30, 2**31]
_PATH_INT = re.compile(r"<int:(\w+)>")


def assert_json_4xx(response, status=None):
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    assert response.json()["error"]["code"]


def _path_cases():
    cases = []
    for route in platform.api_routes():
        if route.tag not in USER_FOR_TAG or not _PATH_INT.search(route.path):
            continue
        user = "auditor" if route.path.endswith("/contact-access") else USER_FOR_TAG[route.tag]
        for number in HUGE:
            cases.append((route.method, _PATH_INT.sub(str(number), route.path), user))
    for number in HUGE:
        cases.append(("GET", f"/api/v1/incidents/{number}", "coordinator"))
    return cases


def _query_cases():
    cases = []
    for route in platform.api_routes():
        if route.query is None or route.tag not in USER_FOR_TAG:
            continue
        for name, field in route.query().fields.items():
            if isinstance(field, fields.Integer):
                user = "auditor" if route.path == "/api/v1/audit" or \
                    route.path.endswith("/contact-access") else USER_FOR_TAG[route.tag]
                for number in HUGE:
                    cases.append((route.path, f"{name}={number}", user))
    return cases


PATH_CASES = _path_cases()
QUERY_CASES = _query_cases()


def test_the_cases_cover_every_resource():
    assert len(PATH_CASES) + len(QUERY_CASES) >= 51
    assert {path.split("/")[3] for _, path, _ in PATH_CASES} == {"incidents", "tag-jobs",
                                                                 "referrals"}


@pytest.mark.parametrize("method, path, user", PATH_CASES,
                         ids=[f"{m} {p}" for m, p, _ in PATH_CASES])
def test_an_id_past_the_database_integer_is_not_found(shared_platform, method, path, user):
    kwargs = {"json": {}} if method == "POST" else {}
    response = shared_platform.call(method, path, user, **kwargs)
    assert_json_4xx(response, 404)


@pytest.fixture(scope="module")
def existing(shared_platform):
    """Ids that exist, for the paths of lists under one resource (a log of one incident)."""
    from tests.conftest import eventually

    api = shared_platform
    incident = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI).json()["incident"]
    job = eventually(lambda: api.call("GET", f"/api/v1/tag-jobs?incident_id={incident['id']}",
                                      "tags").json()["items"])[0]
    return {"incident_id": incident["id"], "job_id": job["id"]}


@pytest.mark.parametrize("path, query, user", QUERY_CASES,
                         ids=[f"{p}?{q}" for p, q, _ in QUERY_CASES])
def test_a_query_number_past_the_database_integer_is_invalid(shared_platform, existing, path,
                                                             query, user):
    path = _PATH_INT.sub(lambda match: str(existing[match.group(1)]), path)
    response = shared_platform.call("GET", f"{path}?{query}", user)
    assert_json_4xx(response, 422)
    assert query.split("=")[0] in response.json()["error"]["fields"]


WIDE = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_an_id_in_other_digits_names_no_record(shared_platform, existing):
    """"１２３" is not 123 (review of issue 7, finding 10): in a path 404, in a query 422."""
    api, number = shared_platform, str(existing["incident_id"])
    assert api.call("GET", f"/api/v1/incidents/{number}", "coordinator").status_code == 200
    for digits in (WIDE, ARABIC_INDIC):
        other = number.translate(digits)
        assert_json_4xx(api.call("GET", f"/api/v1/incidents/{other}", "coordinator"), 404)
        assert_json_4xx(api.call("GET", f"/api/v1/incidents/{other}/contact-access",
                                 "auditor"), 404)
        assert_json_4xx(api.call("POST", f"/api/v1/incidents/{other}/status", "coordinator",
                                 json={"status": "in_progress"}), 404)
        response = api.call("GET", f"/api/v1/tag-jobs?incident_id={other}", "tags")
        assert_json_4xx(response, 422)
        assert "incident_id" in response.json()["error"]["fields"]


def test_duplicate_of_past_the_database_integer_is_invalid(shared_platform):
    api = shared_platform
    incident_id = api.call("POST", "/api/v1/incidents", "desk",
                           json=GRAFFITI).json()["incident"]["id"]
    for number in (10**30, 2**63, 2**31):
        response = api.call("POST", f"/api/v1/incidents/{incident_id}/status", "coordinator",
                            json={"status": "duplicate", "duplicate_of": number})
        assert_json_4xx(response, 422)
        assert "duplicate_of" in response.json()["error"]["fields"]


def nested(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("path, user", [("/api/v1/auth/token", None),
                                        ("/api/v1/incidents", "desk"),
                                        ("/api/v1/tag-jobs", "tags"),
                                        ("/api/v1/referrals", "streetworker")])
@pytest.mark.parametrize("kind", ["list", "object"])
@pytest.mark.parametrize("depth", [1000, 100_000 // 6])
def test_deeply_nested_json_is_a_bad_request(shared_platform, path, user, kind, depth):
    response = shared_platform.call("POST", path, user, data=nested(depth, kind),
                                    headers={"Content-Type": "application/json"})
    assert_json_4xx(response)
    assert response.status_code in (400, 413)


# -- Idempotency-Key --------------------------------------------------------------------------

def test_the_same_key_with_another_body_is_refused_naming_the_conflict(shared_platform):
    api = shared_platform
    headers = {"Idempotency-Key": "tablet-2-0001"}
    first = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI, headers=dict(headers))
    assert first.status_code == 201
    other = {**GRAFFITI, "description": "Un autre problème, ailleurs."}
    response = api.call("POST", "/api/v1/incidents", "desk", json=other, headers=dict(headers))
    assert_json_4xx(response, 422)
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in error["fields"]
    again = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI, headers=dict(headers))
    assert again.status_code == 201
    assert again.json()["incident"]["id"] == first.json()["incident"]["id"]


def test_the_idempotency_key_header_is_documented(shared_platform):
    spec = shared_platform.call("GET", "/api/v1/openapi.json").json()
    parameters = spec["paths"]["/api/v1/incidents"]["post"]["parameters"]
    [header] = [p for p in parameters if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and not header.get("required")
    assert header["schema"] == {"type": "string", "minLength": 1, "maxLength": 100}
    assert "422" in spec["paths"]["/api/v1/incidents"]["post"]["responses"]


# -- methods, sizes, chunked bodies -----------------------------------------------------------

@pytest.mark.parametrize("method, path, allowed", [
    ("OPTIONS", "/api/v1/incidents", {"GET", "POST"}),
    ("PUT", "/api/v1/incidents", {"GET", "POST"}),
    ("DELETE", "/api/v1/incidents/1", {"GET"}),
    ("PATCH", "/api/v1/incidents/1/triage", {"POST"}),
    ("GET", "/api/v1/auth/token", {"POST"}),
    ("OPTIONS", "/api/v1/partners/street_outreach", {"PATCH"}),
    ("POST", "/api/v1/openapi.json", {"GET"}),
    ("TRACE", "/healthz", {"GET"}),
])
def test_a_method_the_route_lacks_is_405_with_the_real_allow(shared_platform, method, path,
                                                             allowed):
    response = shared_platform.call(method, path, "coordinator")
    assert_json_4xx(response, 405)
    allow = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allow - {"HEAD"} == allowed
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("method, path", [("GET", "/api/v1/nothing-here"),
                                          ("POST", "/api/v2/incidents"),
                                          ("OPTIONS", "/api/v1/nothing"),
                                          ("GET", "/favicon.ico")])
def test_unknown_paths_stay_json_404(shared_platform, method, path):
    assert_json_4xx(shared_platform.call(method, path, "desk"), 404)


def test_head_answers_like_get_without_a_body(shared_platform):
    response = shared_platform.call("HEAD", "/api/v1/me", "desk")
    assert response.status_code == 200 and response.content == b""


def test_a_body_over_the_limit_is_413(shared_platform):
    body = {**GRAFFITI, "description": "x" * (MAX_BODY_BYTES + 10)}
    response = shared_platform.call("POST", "/api/v1/incidents", "desk", json=body)
    assert_json_4xx(response, 413)
    assert response.json()["error"]["code"] == "payload_too_large"


def chunks(raw: bytes, size: int = 100):
    for start in range(0, len(raw), size):
        yield raw[start:start + size]


def test_a_chunked_body_is_read(shared_platform):
    api = shared_platform
    raw = json.dumps(GRAFFITI).encode()
    response = api.call("POST", "/api/v1/incidents", "desk", data=chunks(raw),
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["incident"]["description"] == GRAFFITI["description"]
    job = api.call("POST", "/api/v1/tag-jobs", "tags", data=chunks(json.dumps(DIRECT).encode()),
                   headers={"Content-Type": "application/json"})
    assert job.status_code == 201, job.text


def test_a_chunked_body_over_the_limit_is_413(shared_platform):
    raw = json.dumps({**GRAFFITI, "description": "x" * (3 * MAX_BODY_BYTES)}).encode()
    response = shared_platform.call("POST", "/api/v1/incidents", "desk", data=chunks(raw, 8192),
                                    headers={"Content-Type": "application/json"})
    assert_json_4xx(response, 413)


# -- logs -------------------------------------------------------------------------------------

def test_expected_refusals_are_logged_as_one_line_without_a_traceback(shared_platform, caplog):
    api = shared_platform
    incident_id = api.call("POST", "/api/v1/incidents", "desk",
                           json=GRAFFITI).json()["incident"]["id"]
    api.token("coordinator"), api.token("tags"), api.token("auditor")
    refusals = [
        ("POST", "/api/v1/incidents", "desk", {"json": {}}, 422),
        ("POST", "/api/v1/incidents", "auditor", {"json": GRAFFITI}, 403),
        ("GET", "/api/v1/incidents/999999", "coordinator", {}, 404),
        ("POST", f"/api/v1/incidents/{incident_id}/status", "coordinator",
         {"json": {"status": "closed"}}, 409),
        ("POST", "/api/v1/tag-jobs", "tags", {"json": {"surface": "lava"}}, 422),
        ("GET", "/api/v1/me", None, {}, 401),
    ]
    with caplog.at_level(logging.INFO):
        caplog.clear()
        for method, path, user, kwargs, status in refusals:
            assert api.call(method, path, user, **kwargs).status_code == status
    records = caplog.records
    assert not [r for r in records if r.exc_info or r.exc_text], \
        [r.getMessage() for r in records if r.exc_info or r.exc_text]
    assert not [r for r in records if r.levelno >= logging.WARNING]
    messages = [r.getMessage() for r in records]
    assert all("\n" not in message for message in messages)
    for code in ("validation_failed", "forbidden", "not_found", "invalid_transition",
                 "unauthenticated"):
        assert any(code in message for message in messages), (code, messages)


# -- NUL characters (PostgreSQL refuses them in text: a server error there) ------------------

def test_a_nul_character_is_refused_before_any_database_sees_it(shared_platform):
    api = shared_platform
    response = api.call("GET", "/api/v1/incidents?partner=cellule%00tags", "coordinator")
    assert_json_4xx(response, 422)
    assert "partner" in response.json()["error"]["fields"]
    response = api.call("POST", "/api/v1/incidents", "desk",
                        json={**GRAFFITI, "description": "Tags\u0000"})
    assert_json_4xx(response, 422)
    assert "description" in response.json()["error"]["fields"]
    assert_json_4xx(api.call("GET", "/api/v1/incidents/LISA%00", "coordinator"), 404)
    assert_json_4xx(api.call("PATCH", "/api/v1/partners/x%00", "admin", json={}), 404)
    response = api.call("POST", "/api/v1/auth/token", json={"username": "desk\u0000",
                                                            "password": "demo"})
    assert_json_4xx(response, 422)
