"""Open311 GeoReport v2 at /open311/v2/ on a running embedded platform, written from the
specification (wiki.open311.org/GeoReport_v2): every endpoint in JSON and XML with its element
names, errors as its error list with 4xx statuses, and the round trip POST -> GET by id showing
the incident's status after the coordinator closes it."""
import urllib.parse
import uuid
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from lisa.local import drop_databases
from tests.conftest import POSTGRES_ADMIN_URL, require_service, running_platform

SPEC_SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type",
                       "keywords", "group"}
SPEC_REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name",
                       "service_code", "description", "agency_responsible", "service_notice",
                       "requested_datetime", "updated_datetime", "expected_datetime",
                       "address", "address_id", "zipcode", "lat", "long", "media_url"}
PUBLIC_CODES = {"graffiti_public", "graffiti_private", "graffiti_offensive", "illegal_dumping",
                "litter", "syringes_found", "street_lighting", "road_defect"}
GRAFFITI_FORM = {
    "service_code": "graffiti_public", "lat": "50.8338", "long": "4.3703",
    "address_string": "Rue de la Tulipe 12, 1050 Ixelles",
    "description": "Tags sur l'abribus.",
    "attribute[surface]": "brick", "attribute[offensive]": "no", "attribute[area_m2]": "3",
    "attribute[contact_consent]": "yes",
    "email": "citizen@example.org", "first_name": "Anne", "last_name": "Janssens",
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory):
    """The embedded platform on SQLite (as `make demo`) and on PostgreSQL (as production)."""
    env, prefix = {}, f"lisa_test_o311_{uuid.uuid4().hex[:8]}"
    if request.param == "postgresql":
        require_service("PostgreSQL", "127.0.0.1", 5432)
        env["LISA_DATABASE_URL"] = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{prefix}_{{service}}"
    try:
        with running_platform(tmp_path_factory.mktemp("open311"), env=env) as platform:
            yield platform
    finally:
        if request.param == "postgresql":
            drop_databases(POSTGRES_ADMIN_URL, prefix)


@pytest.fixture(scope="module")
def api_key(api):
    issued = api.call("POST", "/api/v1/open311/keys", "admin",
                      json={"name": f"fixmystreet-{uuid.uuid4().hex[:6]}"})
    assert issued.status_code == 201, issued.text
    return issued.json()["api_key"]


def xml(response) -> ElementTree.Element:
    assert response.headers["Content-Type"].startswith("text/xml"), response.headers
    return ElementTree.fromstring(response.content)


def assert_spec_error(response, status: int, words: str = "") -> str:
    """The specification's error list: JSON [{code, description}] or XML <errors><error>."""
    assert response.status_code == status, response.text
    if response.headers["Content-Type"].startswith("text/xml"):
        root = xml(response)
        assert root.tag == "errors"
        (error,) = root.findall("error")
        code, description = error.findtext("code"), error.findtext("description")
    else:
        body = response.json()
        assert isinstance(body, list) and len(body) == 1 and set(body[0]) == {"code",
                                                                              "description"}
        code, description = str(body[0]["code"]), body[0]["description"]
    assert code == str(status)
    assert words.lower() in description.lower(), description
    return description


def plain_form(code: str) -> dict:
    """A request of a service that asks only the common question."""
    return {"service_code": code, "lat": "50.8331", "long": "4.3712",
            "description": "Signalé par une application.", "attribute[contact_consent]": "no"}


def post(api, fields, key=None):
    data = dict(fields)
    if key is not None:
        data["api_key"] = key
    return api.session.post(api.url("/open311/v2/requests.json"), data=data, timeout=30)


# -- discovery and services ------------------------------------------------------------------------

def test_discovery_names_the_specification_and_both_formats(api):
    body = api.call("GET", "/open311/v2/discovery.json").json()
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    root = xml(api.call("GET", "/open311/v2/discovery.xml"))
    assert root.tag == "discovery"
    formats = [f.text for f in root.find("endpoints/endpoint/formats").findall("format")]
    assert set(formats) == {"text/xml", "application/json"}


def test_services_are_the_public_categories_only(api):
    response = api.call("GET", "/open311/v2/services.json")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(
        "application/json")
    services = response.json()
    assert {s["service_code"] for s in services} == PUBLIC_CODES
    for service in services:
        assert set(service) == SPEC_SERVICE_FIELDS
        assert service["type"] == "realtime" and service["metadata"] is True
    english = {s["service_code"]: s for s in api.call(
        "GET", "/open311/v2/services.json?locale=en").json()}
    assert english["illegal_dumping"]["service_name"] == "Illegal dumping"
    root = xml(api.call("GET", "/open311/v2/services.xml"))
    assert root.tag == "services"
    codes = {service.findtext("service_code") for service in root.findall("service")}
    assert codes == PUBLIC_CODES
    assert {child.tag for child in root.find("service")} == SPEC_SERVICE_FIELDS
    assert root.find("service").findtext("metadata") == "true"


def test_graffiti_definition_asks_surface_offensive_content_and_area(api):
    body = api.call("GET", "/open311/v2/services/graffiti_public.json?locale=en").json()
    assert body["service_code"] == "graffiti_public"
    attributes = {a["code"]: a for a in body["attributes"]}
    assert set(attributes) == {"surface", "offensive", "area_m2", "contact_consent"}
    assert attributes["surface"]["datatype"] == "singlevaluelist"
    assert attributes["surface"]["required"] is True
    assert "brick" in [v["key"] for v in attributes["surface"]["values"]]
    assert [v["key"] for v in attributes["offensive"]["values"]] == ["yes", "no"]
    assert attributes["area_m2"]["datatype"] == "number"
    assert attributes["area_m2"]["required"] is False
    assert [a["order"] for a in body["attributes"]] == [1, 2, 3, 4]
    for attribute in body["attributes"]:
        assert {"variable", "code", "datatype", "required", "datatype_description", "order",
                "description", "values"} == set(attribute)
    root = xml(api.call("GET", "/open311/v2/services/graffiti_public.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == \
        "graffiti_public"
    surface = next(a for a in root.find("attributes").findall("attribute")
                   if a.findtext("code") == "surface")
    assert surface.findtext("required") == "true"
    assert "brick" in [v.findtext("key") for v in surface.find("values").findall("value")]


def test_unknown_or_social_service_code_is_404_in_the_spec_format(api):
    assert_spec_error(api.call("GET", "/open311/v2/services/nope.json"), 404, "service_code")
    assert_spec_error(api.call("GET", "/open311/v2/services/intra_family_violence.xml"), 404)
    assert_spec_error(api.call("GET", "/open311/v2/nothing-here.xml"), 404)


# -- keys ----------------------------------------------------------------------------------------

def test_only_the_admin_issues_lists_and_revokes_keys_and_revoked_keys_post_nothing(api):
    assert api.call("POST", "/api/v1/open311/keys", "desk",
                    json={"name": "desk-try"}).status_code == 403
    assert api.call("POST", "/api/v1/open311/keys", json={"name": "anon"}).status_code == 401
    issued = api.call("POST", "/api/v1/open311/keys", "admin", json={"name": "short-lived"})
    assert issued.status_code == 201, issued.text
    key, key_id = issued.json()["api_key"], issued.json()["id"]
    assert api.call("POST", "/api/v1/open311/keys", "admin",
                    json={"name": "short-lived"}).status_code == 422
    listed = api.call("GET", "/api/v1/open311/keys", "admin").json()
    assert any(k["id"] == key_id for k in listed)
    assert key not in str(listed) and "api_key" not in listed[0]  # shown once, stored hashed
    assert api.call("GET", "/api/v1/open311/keys", "coordinator").status_code == 403
    assert post(api, GRAFFITI_FORM, key).status_code == 200
    revoked = api.call("POST", f"/api/v1/open311/keys/{key_id}/revoke", "admin")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_spec_error(post(api, GRAFFITI_FORM, key), 403, "api_key")


def test_the_longest_client_name_fits_every_column_it_reaches(api):
    name = f"client-{uuid.uuid4().hex}".ljust(80, "x")
    assert api.call("POST", "/api/v1/open311/keys", "admin",
                    json={"name": name + "x"}).status_code == 422
    issued = api.call("POST", "/api/v1/open311/keys", "admin", json={"name": name})
    assert issued.status_code == 201, issued.text
    created = post(api, plain_form("litter"), issued.json()["api_key"])
    assert created.status_code == 200, created.text
    ticket = created.json()[0]["service_request_id"]
    incident = api.call("GET", f"/api/v1/incidents/{ticket}", "coordinator").json()
    assert incident["reported_by"] == f"open311:{name}"
    assert incident["history"][0]["actor"] == f"open311:{name}"


# -- POST, then GET, through the incident's life -------------------------------------------------

def test_round_trip_post_then_get_follows_the_incident_to_closed(api, api_key):
    created = post(api, GRAFFITI_FORM, api_key)
    assert created.status_code == 200, created.text
    (answer,) = created.json()
    ticket, token = answer["service_request_id"], answer["token"]
    assert ticket.startswith("LISA-") and answer["service_notice"]

    by_token = api.call("GET", f"/open311/v2/tokens/{token}.json").json()
    assert by_token == [{"service_request_id": ticket, "token": token}]
    token_xml = xml(api.call("GET", f"/open311/v2/tokens/{token}.xml"))
    assert token_xml.tag == "service_requests"
    assert token_xml.find("request").findtext("service_request_id") == ticket

    (shown,) = api.call("GET", f"/open311/v2/requests/{ticket}.json").json()
    assert set(shown) == SPEC_REQUEST_FIELDS
    assert shown["status"] == "open" and shown["service_code"] == "graffiti_public"
    assert shown["lat"] == pytest.approx(50.8338) and shown["long"] == pytest.approx(4.3703)
    assert shown["zipcode"] == "1050" and shown["agency_responsible"] == "cellule_tags"
    assert shown["description"] is None  # the citizen's text is not published
    expected = datetime.fromisoformat(shown["expected_datetime"])
    requested = datetime.fromisoformat(shown["requested_datetime"])
    assert expected.utcoffset() is not None and expected - requested >= timedelta(days=5)

    # Staff see an incident of the channel open311, with the answers and the consented contact.
    incident = api.call("GET", f"/api/v1/incidents/{ticket}", "coordinator").json()
    assert incident["channel"] == "open311" and incident["category"] == "graffiti_public"
    assert "surface: brick" in incident["description"] and "area_m2: 3" in \
        incident["description"]
    assert incident["reporter"]["email"] == "citizen@example.org"
    assert incident["reporter"]["may_contact"] is True
    assert incident["sla_due_at"][:10] == \
        datetime.fromisoformat(shown["expected_datetime"]).astimezone(UTC).isoformat()[:10]

    api.call("POST", f"/api/v1/incidents/{incident['id']}/triage", "coordinator", json={})
    for status in ("in_progress", "resolved", "closed"):
        moved = api.call("POST", f"/api/v1/incidents/{incident['id']}/status", "coordinator",
                         json={"status": status})
        assert moved.status_code == 200, moved.text
    (closed,) = api.call("GET", f"/open311/v2/requests/{ticket}.json?locale=en").json()
    assert closed["status"] == "closed" and closed["status_notes"] == "Closed"
    root = xml(api.call("GET", f"/open311/v2/requests/{ticket}.xml"))
    assert root.tag == "service_requests"
    request = root.find("request")
    assert {child.tag for child in request} == SPEC_REQUEST_FIELDS
    assert request.findtext("status") == "closed"
    assert request.findtext("service_request_id") == ticket


def test_post_in_xml_offensive_content_and_no_consent(api, api_key):
    form = {**GRAFFITI_FORM, "attribute[offensive]": "yes",
            "attribute[contact_consent]": "no", "api_key": api_key}
    response = api.session.post(api.url("/open311/v2/requests.xml"), data=form, timeout=30)
    assert response.status_code == 200, response.text
    ticket = xml(response).find("request").findtext("service_request_id")
    incident = api.call("GET", f"/api/v1/incidents/{ticket}", "coordinator").json()
    assert incident["category"] == "graffiti_offensive"  # removed first: its own SLA
    assert incident["reporter"] is None  # no consent: the contact was not kept


def test_bad_posts_are_the_spec_errors(api, api_key):
    assert_spec_error(post(api, GRAFFITI_FORM), 403, "api_key")
    assert_spec_error(post(api, GRAFFITI_FORM, "lisa311_not-a-key"), 403, "api_key")
    cases = [
        ({"service_code": "no_such_service"}, "service_code"),
        ({"service_code": ""}, "service_code"),
        ({"lat": "", "long": "", "address_string": ""}, "location"),
        ({"lat": "50.8"  , "long": ""}, "lat and long"),
        ({"lat": "north"}, "lat"),
        ({"lat": "48.85", "long": "2.35"}, "belgium"),
        ({"attribute[surface]": "marble"}, "surface"),
        ({"attribute[surface]": ""}, "required"),
        ({"attribute[area_m2]": "-4"}, "area_m2"),
        ({"attribute[colour]": "red"}, "colour"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
        ({"description": "x" * 5000}, "description"),
    ]
    for change, words in cases:
        assert_spec_error(post(api, {**GRAFFITI_FORM, **change}, api_key), 400, words)
    as_json = api.session.post(api.url("/open311/v2/requests.xml"), json=GRAFFITI_FORM,
                               timeout=30)
    assert_spec_error(as_json, 400, "x-www-form-urlencoded")
    repeated = api.session.post(api.url("/open311/v2/requests.json"),
                                data=[("api_key", api_key), ("lat", "50.8"), ("lat", "50.9")],
                                timeout=30)
    assert_spec_error(repeated, 400, "once")


def test_staff_cannot_claim_the_open311_channel(api):
    report = {"category": "litter", "description": "Déchets.", "channel": "open311",
              "location": {"address": "Rue de la Tulipe 3, 1050 Ixelles"}}
    assert api.call("POST", "/api/v1/incidents", "desk", json=report).status_code == 403


# -- GET requests: filters and limits -------------------------------------------------------------

def test_request_filters(api, api_key):
    tickets = [post(api, plain_form(code), api_key).json()[0]["service_request_id"]
               for code in ("illegal_dumping", "street_lighting")]
    social = api.call("POST", "/api/v1/incidents", "desk", json={
        "category": "intra_family_violence", "description": "Cris la nuit.", "channel": "desk",
        "location": {"address": "Rue de la Tulipe 8, 1050 Ixelles"}}).json()["incident"]

    listed = api.call("GET", "/open311/v2/requests.json").json()
    shown = {r["service_request_id"] for r in listed}
    assert set(tickets) <= shown and social["ticket"] not in shown
    assert all(r["service_code"] in PUBLIC_CODES for r in listed)
    assert [r["requested_datetime"] for r in listed] == \
        sorted((r["requested_datetime"] for r in listed), reverse=True)
    assert_spec_error(api.call("GET", f"/open311/v2/requests/{social['ticket']}.json"), 404)

    by_ids = api.call("GET", "/open311/v2/requests.json",
                      params={"service_request_id": ",".join(tickets),
                              "service_code": "litter"}).json()  # ids override the rest
    assert {r["service_request_id"] for r in by_ids} == set(tickets)
    dumping = api.call("GET", "/open311/v2/requests.json",
                       params={"service_code": "illegal_dumping,litter"}).json()
    assert tickets[0] in {r["service_request_id"] for r in dumping}
    assert {r["service_code"] for r in dumping} <= {"illegal_dumping", "litter"}
    open_ones = api.call("GET", "/open311/v2/requests.json", params={"status": "open"}).json()
    assert tickets[1] in {r["service_request_id"] for r in open_ones}
    assert all(r["status"] == "open" for r in open_ones)
    closed = api.call("GET", "/open311/v2/requests.json", params={"status": "closed"}).json()
    assert all(r["status"] == "closed" for r in closed)

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert api.call("GET", "/open311/v2/requests.json",
                    params={"start_date": tomorrow}).json() == []
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = api.call("GET", "/open311/v2/requests.json",
                      params={"start_date": yesterday, "end_date": tomorrow}).json()
    assert set(tickets) <= {r["service_request_id"] for r in recent}
    root = xml(api.call("GET", "/open311/v2/requests.xml", params={"status": "open"}))
    assert root.tag == "service_requests" and root.findall("request")


@pytest.mark.parametrize("params, words", [
    ({"start_date": "yesterday"}, "start_date"),
    ({"end_date": "2026-13-45"}, "end_date"),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "90 days"),
    ({"start_date": "2026-06-01", "end_date": "2026-05-01"}, "after"),
    ({"service_code": "no_such_service"}, "service_code"),
    ({"status": "pending"}, "status"),
])
def test_bad_searches_are_400_in_the_spec_format(api, params, words):
    assert_spec_error(api.call("GET", "/open311/v2/requests.json", params=params), 400, words)
    assert_spec_error(api.call("GET", "/open311/v2/requests.xml", params=params), 400, words)


def test_unknown_ids_tokens_and_jurisdictions_are_404(api):
    assert_spec_error(api.call("GET", "/open311/v2/requests/LISA-1999-000001.json"), 404)
    assert_spec_error(api.call("GET", f"/open311/v2/tokens/{uuid.uuid4()}.xml"), 404, "token")
    assert_spec_error(api.call("GET", "/open311/v2/requests.json",
                               params={"jurisdiction_id": "elsewhere"}), 404, "jurisdiction")
    assert api.call("GET", "/open311/v2/requests.json",
                    params={"jurisdiction_id": "ixelles-tulipe"}).status_code == 200
    assert api.call("GET", "/open311/v2/requests.csv").status_code == 404


# -- no input gets a 5xx ---------------------------------------------------------------------------

FIELDS = st.sampled_from([
    "service_code", "lat", "long", "address_string", "address_id", "description",
    "attribute[surface]", "attribute[offensive]", "attribute[area_m2]",
    "attribute[contact_consent]", "attribute[]", "attribute[x", "email", "first_name",
    "last_name", "phone", "media_url", "jurisdiction_id", "locale", "service_request_id",
    "status", "start_date", "end_date", "api_key"])
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
VALUES = TEXT | st.sampled_from(["graffiti_public", "litter", "50.83", "4.37", "-1e309",
                                 "brick", "yes", "no", "2026-11-23", "open,closed", "",
                                 "ixelles-tulipe", "9" * 30, "LISA-2026-000001"])


@seed(311)
@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(fields=st.dictionaries(FIELDS, VALUES, max_size=8), fmt=st.sampled_from(["json", "xml"]),
       segment=VALUES)
def test_no_input_gets_a_server_error(api, api_key, fields, fmt, segment):
    form = {**fields, "api_key": api_key} if fields.get("api_key") == "" else fields
    quoted = urllib.parse.quote(segment, safe="") or "x"
    answers = [
        api.session.post(api.url(f"/open311/v2/requests.{fmt}"), data=form, timeout=30),
        api.session.get(api.url(f"/open311/v2/requests.{fmt}"), params=fields, timeout=30),
        api.session.get(api.url(f"/open311/v2/services/{quoted}.{fmt}"), params=fields,
                        timeout=30),
        api.session.get(api.url(f"/open311/v2/requests/{quoted}.{fmt}"), timeout=30),
        api.session.get(api.url(f"/open311/v2/tokens/{quoted}.{fmt}"), timeout=30),
    ]
    for response in answers:
        assert response.status_code < 500, (response.request.url, response.text)
        if response.status_code >= 400:
            assert_spec_error(response, response.status_code)
