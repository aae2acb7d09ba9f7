"""The prevention activity log's access rules (issue 11, DESIGN.md section 5) as a matrix over
every endpoint and role (12 users x 25 endpoints); the access log of case reads; JSON 4xx, never
5xx, on bad input. One platform for the module."""
from datetime import UTC, datetime, timedelta

import pytest

from lisa import cli
from services.gateway import auth
from tests.conftest import ANTENNA

TODAY = datetime.now(UTC).date()
EXTRA_USERS = [("addiction", "street_worker", "addiction_service"),   # street work, other org
               ("ifv", "mediator", "intra_family_violence")]         # mediator, other org
USERS = ["desk", "warden", "streetworker", "mediator", "police", "tags", "coordinator",
         "auditor", "admin", "techno", "addiction", "ifv"]
OUTING = {"neighbourhood": "Tulipe", "contacts": 4, "new_people": 1, "themes": ["housing"]}
ACCOMPANIMENT = {"neighbourhood": "Matonge", "themes": ["school"],
                 "notes": "Décrocheur de 16 ans, vu au parc."}
CONCERTATION = {"kind": "network", "held_on": TODAY.isoformat(),
                "organisations": ["street_work", "social_mediation", "prevention_service"],
                "decisions": "Tournée commune le vendredi soir."}
NOTE = {"filed_on": TODAY.isoformat(), "title": "Jeunes et espace public",
        "body": "Constats et propositions pour la commune.", "themes": ["leisure"]}
MEDIATION = {"subject": "noise", "neighbourhood": "Flagey", "parties": 2,
             "summary": "Bruit de travaux le dimanche."}
VISIT = {"origin": "desk_request", "neighbourhood": "Tulipe", "housing": "apartment",
         "address": "Rue de la Tulipe 7, 1050 Ixelles", "contact": "+32 2 555 12 12",
         "planned_for": TODAY.isoformat()}
REPORT = {"recommendations": ["door_lock"], "report": "Cylindre à remplacer."}


@pytest.fixture(scope="module")
def api(shared_platform):
    database = cli.database_for("gateway")
    with database.session() as session:
        for username, role, organisation in EXTRA_USERS:
            auth.create_user(session, username, "demo", role, organisation, [ANTENNA])
        session.commit()
    database.engine.dispose()
    return shared_platform


def made(api, user, path, body):
    response = api.call("POST", path, user, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def fresh(api):
    return {
        "accompaniment": made(api, "streetworker", "/api/v1/street-work/accompaniments",
                              ACCOMPANIMENT),
        "case": made(api, "mediator", "/api/v1/mediation/cases", MEDIATION),
        "visit": made(api, "techno", "/api/v1/technoprevention/visits", VISIT),
        "concertation": made(api, "streetworker", "/api/v1/street-work/concertations",
                             CONCERTATION),
    }


# endpoint -> (method, path, body); paths name the fresh records
ENDPOINTS = {
    "assignment": ("PUT", "/api/v1/street-work/assignment", {"neighbourhood": "Tulipe"}),
    "log-outing": ("POST", "/api/v1/street-work/outings", OUTING),
    "list-outings": ("GET", "/api/v1/street-work/outings", None),
    "open-accompaniment": ("POST", "/api/v1/street-work/accompaniments", ACCOMPANIMENT),
    "list-accompaniments": ("GET", "/api/v1/street-work/accompaniments", None),
    "get-accompaniment": ("GET", "/api/v1/street-work/accompaniments/{accompaniment}", None),
    "step": ("POST", "/api/v1/street-work/accompaniments/{accompaniment}/steps",
             {"step": "trust_established"}),
    "close-accompaniment": ("POST", "/api/v1/street-work/accompaniments/{accompaniment}/close",
                            {"outcome": "lost_contact"}),
    "record-concertation": ("POST", "/api/v1/street-work/concertations", CONCERTATION),
    "list-concertations": ("GET", "/api/v1/street-work/concertations", None),
    "get-concertation": ("GET", "/api/v1/street-work/concertations/{concertation}", None),
    "file-note": ("POST", "/api/v1/street-work/policy-notes", NOTE),
    "list-notes": ("GET", "/api/v1/street-work/policy-notes", None),
    "figures": ("GET", f"/api/v1/street-work/figures?year={TODAY.year}", None),
    "access-log": ("GET", "/api/v1/street-work/access-log", None),
    "open-mediation": ("POST", "/api/v1/mediation/cases", MEDIATION),
    "list-mediations": ("GET", "/api/v1/mediation/cases", None),
    "get-mediation": ("GET", "/api/v1/mediation/cases/{case}", None),
    "session": ("POST", "/api/v1/mediation/cases/{case}/sessions",
                {"held_on": TODAY.isoformat(), "parties_present": 2}),
    "close-mediation": ("POST", "/api/v1/mediation/cases/{case}/close",
                        {"outcome": "agreement"}),
    "book-visit": ("POST", "/api/v1/technoprevention/visits", VISIT),
    "list-visits": ("GET", "/api/v1/technoprevention/visits", None),
    "get-visit": ("GET", "/api/v1/technoprevention/visits/{visit}", None),
    "report-visit": ("POST", "/api/v1/technoprevention/visits/{visit}/report", REPORT),
    "cancel-visit": ("POST", "/api/v1/technoprevention/visits/{visit}/cancel", {}),
}
STREET = {"streetworker", "addiction"}                       # street workers (two orgs)
MEDIATORS = {"mediator", "ifv"}
PREVENTION = STREET | MEDIATORS | {"techno", "coordinator"}  # concertations, notes, figures
# the concertation's organisations: street_work, social_mediation, prevention_service
PRESENT = {"streetworker", "mediator", "coordinator"}


def expected(endpoint: str, user: str) -> int:
    created = 201
    rules = {
        "assignment": 200 if user in STREET else 403,
        "log-outing": created if user in STREET else 403,
        "list-outings": 200 if user in STREET else 403,
        "open-accompaniment": created if user in STREET else 403,
        "list-accompaniments": 200 if user in STREET else 403,
        # one record: its organisation reads it; everyone else learns nothing (404) ...
        "get-accompaniment": 200 if user == "streetworker" else 404,
        # ... and a role that may never act on one is told so before anything else (403)
        "step": 200 if user == "streetworker" else 404 if user in STREET else 403,
        "close-accompaniment": 200 if user == "streetworker" else 404 if user in STREET
        else 403,
        # concertations: recorded by an organisation present (the others: 422, not present)
        "record-concertation": created if user in PRESENT else 422 if user in PREVENTION
        else 403,
        "list-concertations": 200 if user in PREVENTION else 403,
        "get-concertation": 200 if user in PRESENT else 404,
        "file-note": created if user in PREVENTION else 403,
        "list-notes": 200 if user in PREVENTION else 403,
        "figures": 200 if user in PREVENTION else 403,
        "access-log": 200 if user == "auditor" else 403,
        "open-mediation": created if user in MEDIATORS else 403,
        "list-mediations": 200 if user in MEDIATORS else 403,
        "get-mediation": 200 if user == "mediator" else 404,
        "session": 200 if user == "mediator" else 404 if user in MEDIATORS else 403,
        "close-mediation": 200 if user == "mediator" else 404 if user in MEDIATORS else 403,
        "book-visit": created if user in ("techno", "desk") else 403,
        "list-visits": 200 if user == "techno" else 403,
        "get-visit": 200 if user == "techno" else 404,
        "report-visit": 200 if user == "techno" else 403,
        "cancel-visit": 200 if user == "techno" else 403,
    }
    return rules[endpoint]


OWNER_VIEW = {"accompaniment": ("streetworker", "/api/v1/street-work/accompaniments/{}"),
              "case": ("mediator", "/api/v1/mediation/cases/{}"),
              "visit": ("techno", "/api/v1/technoprevention/visits/{}")}


def owner_views(api, records):
    views = {}
    for kind, (user, path) in OWNER_VIEW.items():
        view = api.call("GET", path.format(records[kind]), user).json()
        view.pop("history", None)
        views[kind] = view
    return views


# endpoints that change a record: each case acts on records of its own
MUTATING = {"step", "close-accompaniment", "session", "close-mediation", "report-visit",
            "cancel-visit"}


@pytest.fixture(scope="module")
def records_to_read(api):
    return fresh(api)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("user", USERS)
def test_access_matrix(api, records_to_read, endpoint, user):
    records = fresh(api) if endpoint in MUTATING else records_to_read
    method, path, body = ENDPOINTS[endpoint]
    path = path.format(**records)
    before = owner_views(api, records)
    response = api.call(method, path, user, json=body) if body is not None else \
        api.call(method, path, user)
    assert response.status_code == expected(endpoint, user), response.text
    answer = response.json()
    if response.status_code >= 400:
        assert answer["error"]["code"]
        if response.status_code in (403, 404):
            assert "fields" not in answer["error"]   # nothing about what a body needs
        assert owner_views(api, records) == before   # a refused call changes nothing
    if endpoint == "list-outings" and response.status_code == 200 and user == "addiction":
        assert all(item["organisation"] == "addiction_service" for item in answer["items"])
    if endpoint == "book-visit" and user == "desk":
        assert "address" not in answer or answer["address"] is None   # the desk books, blind


def test_lists_hold_only_the_callers_organisation(api):
    fresh(api)
    made(api, "addiction", "/api/v1/street-work/accompaniments", ACCOMPANIMENT)
    made(api, "ifv", "/api/v1/mediation/cases", MEDIATION)
    for user, path, organisation in (
            ("streetworker", "/api/v1/street-work/accompaniments", "street_work"),
            ("addiction", "/api/v1/street-work/accompaniments", "addiction_service"),
            ("mediator", "/api/v1/mediation/cases", "social_mediation"),
            ("ifv", "/api/v1/mediation/cases", "intra_family_violence")):
        items = api.call("GET", f"{path}?limit=500", user).json()["items"]
        assert items and {item["organisation"] for item in items} == {organisation}
        assert all("notes" not in item and "summary" not in item for item in items)


def test_every_read_of_a_case_is_in_the_access_log(api):
    records = fresh(api)
    api.call("GET", f"/api/v1/street-work/accompaniments/{records['accompaniment']}",
             "streetworker")
    api.call("GET", f"/api/v1/street-work/accompaniments/{records['accompaniment']}",
             "police")                                                         # refused
    api.call("GET", f"/api/v1/mediation/cases/{records['case']}", "coordinator")  # refused
    api.call("GET", f"/api/v1/technoprevention/visits/{records['visit']}", "techno")
    log = api.call("GET", "/api/v1/street-work/access-log?limit=1000", "auditor").json()
    entries = {(e["record_kind"], e["record_id"], e["user"], e["action"], e["granted"])
               for e in log["items"]}
    assert ("accompaniment", records["accompaniment"], "streetworker", "read", True) in entries
    assert ("accompaniment", records["accompaniment"], "police", "read", False) in entries
    assert ("mediation", records["case"], "coordinator", "read", False) in entries
    assert ("visit", records["visit"], "techno", "read", True) in entries
    assert ("mediation", records["case"], "mediator", "read", True) in entries   # on opening
    only = api.call("GET", f"/api/v1/street-work/access-log?record_kind=visit&record_id="
                           f"{records['visit']}", "auditor").json()["items"]
    assert only and {e["record_id"] for e in only} == {records["visit"]}


def test_an_outing_is_one_small_post(api):
    """What a street worker types on the pavement: a place and a number."""
    response = api.call("POST", "/api/v1/street-work/outings", "streetworker",
                        json={"neighbourhood": "Flagey", "contacts": 3})
    assert response.status_code == 201, response.text
    tally = response.json()
    assert (tally["contacts"], tally["new_people"], tally["themes"]) == (3, 0, [])
    assert tally["day"] == TODAY.isoformat()


def test_orienting_needs_a_referral_the_team_sent_and_the_receiver_followed(api):
    accompaniment = made(api, "streetworker", "/api/v1/street-work/accompaniments",
                         ACCOMPANIMENT)
    path = f"/api/v1/street-work/accompaniments/{accompaniment}/steps"
    referral = api.call("POST", "/api/v1/referrals", "streetworker", json={
        "receiver_service": "addiction_outreach", "subject": "person", "reason": "addiction",
        "message": "Demande un suivi.", "consent": {
            "kind": "verbal", "given_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
    }).json()["id"]
    # sent but not followed up yet: not an orientation
    refused = api.call("POST", path, "streetworker", json={"step": "oriented",
                                                           "referral_id": referral})
    assert refused.status_code == 422 and "referral_id" in refused.json()["error"]["fields"]
    for action in ("accept", "contact-made"):
        assert api.call("POST", f"/api/v1/referrals/{referral}/{action}", "addiction",
                        json={}).status_code == 200
    # another organisation's street worker cannot cite it (it is not theirs to see)
    other = made(api, "addiction", "/api/v1/street-work/accompaniments", ACCOMPANIMENT)
    assert api.call("POST", f"/api/v1/street-work/accompaniments/{other}/steps", "addiction",
                    json={"step": "oriented", "referral_id": referral}).status_code == 422
    done = api.call("POST", path, "streetworker", json={"step": "oriented",
                                                        "referral_id": referral})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "oriented" and done.json()["referral_ids"] == [referral]
    again = made(api, "streetworker", "/api/v1/street-work/accompaniments", ACCOMPANIMENT)
    twice = api.call("POST", f"/api/v1/street-work/accompaniments/{again}/steps",
                     "streetworker", json={"step": "oriented", "referral_id": referral})
    assert twice.status_code == 422   # one referral orients one follow-up


OLD = (TODAY - timedelta(days=200)).isoformat()
FUTURE = (TODAY + timedelta(days=2)).isoformat()
BAD = [  # (name, user, method, path, body, status)
    ("not JSON", "streetworker", "POST", "/api/v1/street-work/outings", "{nope", 400),
    ("assigned nowhere known", "streetworker", "PUT", "/api/v1/street-work/assignment",
     {"neighbourhood": "Molenbeek"}, 422),
    ("an array", "streetworker", "POST", "/api/v1/street-work/outings", [1, 2], 422),
    ("unknown field", "streetworker", "POST", "/api/v1/street-work/outings",
     {**OUTING, "name": "Yanis"}, 422),
    ("no contacts", "streetworker", "POST", "/api/v1/street-work/outings",
     {**OUTING, "contacts": 0}, 422),
    ("more new than contacts", "streetworker", "POST", "/api/v1/street-work/outings",
     {**OUTING, "new_people": 9}, 422),
    ("unknown neighbourhood", "streetworker", "POST", "/api/v1/street-work/outings",
     {**OUTING, "neighbourhood": "Atlantis"}, 422),
    ("future day", "streetworker", "POST", "/api/v1/street-work/outings",
     {**OUTING, "day": FUTURE}, 422),
    ("too old", "streetworker", "POST", "/api/v1/street-work/outings", {**OUTING, "day": OLD},
     422),
    ("unknown theme", "streetworker", "POST", "/api/v1/street-work/outings",
     {**OUTING, "themes": ["gossip"]}, 422),
    ("NUL", "streetworker", "POST", "/api/v1/street-work/outings",
     {**OUTING, "neighbourhood": "Tu\x00lipe"}, 422),
    ("huge number", "streetworker", "POST", "/api/v1/street-work/outings",
     {**OUTING, "contacts": 10**30}, 422),
    ("oriented without referral", "streetworker", "POST",
     "/api/v1/street-work/accompaniments/{accompaniment}/steps", {"step": "oriented"}, 422),
    ("unknown step", "streetworker", "POST",
     "/api/v1/street-work/accompaniments/{accompaniment}/steps", {"step": "cured"}, 422),
    ("unknown outcome", "streetworker", "POST",
     "/api/v1/street-work/accompaniments/{accompaniment}/close", {"outcome": "fine"}, 422),
    ("id not a number", "streetworker", "GET", "/api/v1/street-work/accompaniments/abc", None,
     404),
    ("id too large", "streetworker", "GET",
     "/api/v1/street-work/accompaniments/99999999999999999999", None, 404),
    ("unknown organisation", "streetworker", "POST", "/api/v1/street-work/concertations",
     {**CONCERTATION, "organisations": ["street_work", "mafia"]}, 422),
    ("458ter without legal basis", "streetworker", "POST", "/api/v1/street-work/concertations",
     {**CONCERTATION, "kind": "case_concertation_458ter"}, 422),
    ("network with a legal basis", "streetworker", "POST", "/api/v1/street-work/concertations",
     {**CONCERTATION, "legal_basis": "Art. 458ter Code pénal."}, 422),
    ("meeting in the future", "streetworker", "POST", "/api/v1/street-work/concertations",
     {**CONCERTATION, "held_on": FUTURE}, 422),
    ("note without body", "streetworker", "POST", "/api/v1/street-work/policy-notes",
     {**NOTE, "body": ""}, 422),
    ("one party", "mediator", "POST", "/api/v1/mediation/cases", {**MEDIATION, "parties": 1},
     422),
    ("more present than parties", "mediator", "POST", "/api/v1/mediation/cases/{case}/sessions",
     {"held_on": TODAY.isoformat(), "parties_present": 3}, 422),
    ("bad date", "mediator", "POST", "/api/v1/mediation/cases/{case}/sessions",
     {"held_on": "yesterday", "parties_present": 2}, 422),
    ("visit in the past", "desk", "POST", "/api/v1/technoprevention/visits",
     {**VISIT, "planned_for": OLD}, 422),
    ("burglary without incident", "desk", "POST", "/api/v1/technoprevention/visits",
     {**VISIT, "origin": "burglary_incident"}, 422),
    ("report without recommendation", "techno", "POST",
     "/api/v1/technoprevention/visits/{visit}/report", {**REPORT, "recommendations": []}, 422),
    ("figures without a year", "coordinator", "GET", "/api/v1/street-work/figures", None, 422),
    ("access log of nothing", "auditor", "GET",
     "/api/v1/street-work/access-log?record_kind=diary", None, 422),
]


@pytest.mark.parametrize("name, user, method, path, body, status", BAD,
                         ids=[case[0] for case in BAD])
def test_bad_input_is_a_json_4xx(api, name, user, method, path, body, status):
    path = path.format(**fresh(api))
    if isinstance(body, str):
        response = api.call(method, path, user, data=body,
                            headers={"Content-Type": "application/json"})
    elif body is None:
        response = api.call(method, path, user)
    else:
        response = api.call(method, path, user, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"]


def test_moves_the_lifecycle_does_not_allow_are_409(api):
    records = fresh(api)
    accompaniment = f"/api/v1/street-work/accompaniments/{records['accompaniment']}"
    assert api.call("POST", f"{accompaniment}/steps", "streetworker",
                    json={"step": "joined_structuring_activity"}).status_code == 200
    assert api.call("POST", f"{accompaniment}/steps", "streetworker",
                    json={"step": "trust_established"}).status_code == 409   # backwards
    assert api.call("POST", f"{accompaniment}/close", "streetworker",
                    json={"outcome": "continued_participation"}).status_code == 200
    assert api.call("POST", f"{accompaniment}/close", "streetworker",
                    json={"outcome": "lost_contact"}).status_code == 409
    case = f"/api/v1/mediation/cases/{records['case']}"
    assert api.call("POST", f"{case}/close", "mediator",
                    json={"outcome": "no_agreement"}).status_code == 200
    assert api.call("POST", f"{case}/sessions", "mediator", json={
        "held_on": TODAY.isoformat(), "parties_present": 2}).status_code == 409
    visit = f"/api/v1/technoprevention/visits/{records['visit']}"
    assert api.call("POST", f"{visit}/report", "techno", json=REPORT).status_code == 200
    assert api.call("POST", f"{visit}/report", "techno", json=REPORT).status_code == 409
    assert api.call("POST", f"{visit}/cancel", "techno", json={}).status_code == 409


NEIGHBOUR_CONFLICT = {"category": "neighbour_conflict",
                      "description": "Disputes répétées au sujet d'une haie mitoyenne.",
                      "channel": "desk",
                      "location": {"address": "Rue Keyenveld 40, 1050 Ixelles", "lat": 50.8349,
                                   "lon": 4.3627, "neighbourhood": "Matonge"},
                      "reporter": {"name": "M. Peeters", "phone": "+32 2 512 00 11",
                                   "may_contact": True, "share_with_police": False}}
BURGLARY = {**NEIGHBOUR_CONFLICT, "category": "burglary",
            "description": "Cambriolage par la fenêtre de la cuisine.", "reporter": None}


def report(api, body):
    response = api.call("POST", "/api/v1/incidents", "desk", json=body)
    assert response.status_code == 201, response.text
    return response.json()["incident"]


def test_a_neighbour_conflict_reported_opens_a_mediation_case(api):
    from tests.conftest import eventually

    incident = report(api, NEIGHBOUR_CONFLICT)

    def opened():
        items = api.call("GET", "/api/v1/mediation/cases?limit=500", "mediator").json()["items"]
        return [case for case in items if case["incident_id"] == incident["id"]]

    case = eventually(opened, timeout=20)[0]
    assert (case["organisation"], case["neighbourhood"], case["status"]) == \
        ("social_mediation", "Matonge", "open")
    assert len(case["party_keys"]) == 2 and "Peeters" not in str(case)
    # a mediator opening one for the same incident is told it is followed already
    again = api.call("POST", "/api/v1/mediation/cases", "mediator",
                     json={**MEDIATION, "incident_id": incident["id"]})
    assert again.status_code == 422 and "incident_id" in again.json()["error"]["fields"]


def test_commands_believe_an_incident_only_as_the_incidents_service_shows_it(api):
    burglary = report(api, BURGLARY)
    graffiti_like = report(api, {**NEIGHBOUR_CONFLICT, "category": "noise"})
    for body in ({**MEDIATION, "incident_id": burglary["id"]},       # wrong category
                 {**MEDIATION, "incident_id": 999999}):              # no such incident
        refused = api.call("POST", "/api/v1/mediation/cases", "mediator", json=body)
        assert refused.status_code == 422 and "incident_id" in refused.json()["error"]["fields"]
    visit = {**VISIT, "origin": "burglary_incident"}
    for incident_id in (graffiti_like["id"], 999999):
        refused = api.call("POST", "/api/v1/technoprevention/visits", "desk",
                           json={**visit, "incident_id": incident_id})
        assert refused.status_code == 422
    booked = api.call("POST", "/api/v1/technoprevention/visits", "desk",
                      json={**visit, "incident_id": burglary["id"]})
    assert booked.status_code == 201 and booked.json()["incident_id"] == burglary["id"]
    assert booked.json().get("address") is None      # the desk does not read the file
    full = api.call("GET", f"/api/v1/technoprevention/visits/{booked.json()['id']}", "techno")
    assert full.json()["address"] == VISIT["address"]
