"""Issue 11, done when: a month of outings, accompaniments, meetings, mediations and visits,
driven through the API of the embedded platform; the events on the bus checked, every indicator
of the prevention catalogue computed from them and compared with the figures the month should
give; and no event carries a client key, a party key, an address or free text."""
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from kombu import Connection, Exchange, Queue

from lisa import cli
from services.gateway import auth
from tests.conftest import ANTENNA, eventually, running_platform

CATALOGUE = Path(__file__).parents[2] / "services" / "indicators" / "reference" / \
    "catalogue" / "prevention.yaml"
BRUSSELS = ZoneInfo("Europe/Brussels")
TODAY = datetime.now(UTC).date()
MONTH = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)   # last month, all past
EXTRA_USERS = [("streetworker2", "street_worker", "street_work"),
               ("addiction", "street_worker", "addiction_service")]
SECRET_TEXTS = []   # every confidential text the scenario writes, for the scan


def day(n: int) -> str:
    return MONTH.replace(day=n).isoformat()


def secret(text: str) -> str:
    SECRET_TEXTS.append(text)
    return text


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    """The platform, a spy on the prevention exchange, the month driven through the API; the
    events the bus carried and what the API answered."""
    with running_platform(tmp_path_factory.mktemp("prevention")) as api:
        database = cli.database_for("gateway")
        with database.session() as session:
            for username, role, organisation in EXTRA_USERS:
                auth.create_user(session, username, "demo", role, organisation, [ANTENNA])
            session.commit()
        database.engine.dispose()
        with Connection("lisa-memory://localhost/") as connection:
            spy = Queue("test-prevention-spy", Exchange("prevention.events", type="topic",
                                                        durable=True), routing_key="#")
            spy = spy(connection.default_channel)
            spy.declare()
            answers = drive(api)
            events = []

            def drained():
                message = spy.get(no_ack=True)
                while message is not None:
                    events.append(message.payload)
                    message = spy.get(no_ack=True)
                return len(events) >= EXPECTED_EVENTS

            eventually(drained, timeout=20)
        yield api, events, answers


def post(api, user, path, body, status=(200, 201)):
    response = api.call("POST", path, user, json=body)
    assert response.status_code in status, response.text
    return response.json()


OUTINGS = [  # (user, day, neighbourhood, contacts, new people, themes)
    ("streetworker", 2, "Tulipe", 8, 2, ["housing"]),
    ("streetworker", 5, "Tulipe", 6, 1, ["addiction", "housing"]),
    ("streetworker", 9, "Tulipe", 10, 3, ["school"]),
    ("streetworker", 12, "Tulipe", 4, 0, ["violence"]),
    ("streetworker", 16, "Tulipe", 7, 1, ["employment"]),
    ("streetworker", 20, "Tulipe", 9, 2, ["housing", "school"]),
    ("streetworker", 23, "tulipe", 5, 1, []),           # any spelling of a known name
    ("streetworker2", 3, "Matonge", 12, 4, ["addiction"]),
    ("streetworker2", 10, "Matonge", 3, 0, ["addiction"]),
    ("streetworker2", 17, "Matonge", 6, 2, ["employment"]),
    ("streetworker2", 24, "Matonge", 9, 1, ["housing"]),
    ("streetworker2", 26, "Tulipe", 2, 1, ["violence"]),
    ("addiction", 11, "Flagey", 5, 2, ["addiction"]),   # another organisation's team
]
# accompaniment -> (opened on, neighbourhood, [(step, day)], (outcome, day) or None)
ACCOMPANIMENTS = [
    (4, "Tulipe", [("first_contact", 7), ("trust_established", 14), ("oriented", 18),
                   ("joined_structuring_activity", 22)], ("continued_participation", 27)),
    (6, "Tulipe", [("trust_established", 10), ("joined_structuring_activity", 21)],
     ("continued_participation", 27)),
    (8, "Matonge", [("first_contact", 9), ("trust_established", 19)], ("lost_contact", 25)),
    (11, "Matonge", [("trust_established", 14)], None),
    (13, "Tulipe", [("first_contact", 15)], ("moved_away", 20)),
    (15, "Tulipe", [], None),
]
MEDIATIONS = [  # (subject, neighbourhood, sessions [(day, present)], outcome, closed on)
    ("noise", "Tulipe", [(6, 2), (13, 2)], "agreement", 14),
    ("party_walls", "Flagey", [(8, 1), (15, 2), (22, 2)], "agreement", 23),
    ("insults", "Matonge", [(10, 2)], "no_agreement", 17),
    ("animals", "Tulipe", [], None, None),              # still open: not counted
]
VISITS = [  # (booked by, origin, housing, report or None (cancelled))
    ("desk", "desk_request", "apartment", (["door_lock", "lighting"], False)),
    ("desk", "burglary_incident", "house", (["lighting"], True)),
    ("techno", "own_initiative", "shop", (["alarm", "door_lock"], False)),
    ("techno", "desk_request", "house", None),
]
BURGLARY = {"category": "burglary", "description": "Cambriolage par la porte arrière.",
            "channel": "desk",
            "location": {"address": "Rue du Viaduc 99, 1050 Ixelles", "lat": 50.8335,
                         "lon": 4.3712, "neighbourhood": "Flagey"},
            "reporter": None}
EXPECTED_EVENTS = (len(OUTINGS) + len(ACCOMPANIMENTS)
                   + sum(len(steps) for _, _, steps, _ in ACCOMPANIMENTS)
                   + sum(1 for *_, close in ACCOMPANIMENTS if close)
                   + 2 + 1 + 3 + 3)   # concertations, note, mediations closed, visits done


def drive(api):
    answers = {"client_keys": [], "party_keys": [], "tallies": [], "visits": []}
    for user, place in (("streetworker", "Tulipe"), ("streetworker2", "Matonge")):
        response = api.call("PUT", "/api/v1/street-work/assignment", user,
                            json={"neighbourhood": place})
        assert response.status_code == 200, response.text
    for user, n, place, contacts, new, themes in OUTINGS:
        answers["tallies"].append(post(api, user, "/api/v1/street-work/outings", {
            "neighbourhood": place, "contacts": contacts, "new_people": new,
            "themes": themes, "day": day(n)}))
    referral = send_followed_up_referral(api)
    for opened_on, place, steps, close in ACCOMPANIMENTS:
        opened = post(api, "streetworker", "/api/v1/street-work/accompaniments", {
            "neighbourhood": place, "themes": ["housing"], "day": day(opened_on),
            "notes": secret(f"Jeune rencontré le {opened_on}, dort chez un cousin, "
                            "rue Keyenveld.")})
        answers["client_keys"].append(opened["client_key"])
        path = f"/api/v1/street-work/accompaniments/{opened['id']}"
        for step, n in steps:
            body = {"step": step, "day": day(n)}
            if step == "oriented":
                body["referral_id"] = referral
            post(api, "streetworker", f"{path}/steps", body)
        if close:
            post(api, "streetworker", f"{path}/close",
                 {"outcome": close[0], "day": day(close[1])})
    post(api, "coordinator", "/api/v1/street-work/concertations", {
        "kind": "network", "held_on": day(7), "phenomenon": "social_nuisances",
        "organisations": ["street_work", "cpas", "prevention_service", "neighbourhood_houses"],
        "decisions": secret("Présence renforcée le mercredi, place Fernand Cocq.")})
    cited = post(api, "streetworker", "/api/v1/street-work/concertations", {
        "kind": "case_concertation_458ter", "held_on": day(19),
        "phenomenon": "intra_family_violence",
        "organisations": ["street_work", "intra_family_violence"],
        "decisions": secret("Mme K. sera orientée vers le service VIF avec son accord."),
        "legal_basis": secret("Art. 458ter Code pénal; protocole zonal du 3 mars 2024.")})
    answers["concertation_reference"] = cited["reference"]
    post(api, "streetworker", "/api/v1/street-work/policy-notes", {
        "filed_on": day(28), "title": secret("Logement des jeunes majeurs à Ixelles"),
        "body": secret("Douze jeunes rencontrés ce mois dorment chez des tiers."),
        "themes": ["housing"]})
    for subject, place, sessions, outcome, closed in MEDIATIONS:
        case = post(api, "mediator", "/api/v1/mediation/cases", {
            "subject": subject, "neighbourhood": place, "parties": 2, "day": day(2),
            "summary": secret(f"M. D. et Mme V., {subject}, au 14 de la rue.")})
        answers["party_keys"] += case["party_keys"]
        for n, present in sessions:
            post(api, "mediator", f"/api/v1/mediation/cases/{case['id']}/sessions", {
                "held_on": day(n), "parties_present": present,
                "notes": secret(f"Séance du {n}: M. D. reconnaît le bruit après 22h.")})
        if outcome:
            post(api, "mediator", f"/api/v1/mediation/cases/{case['id']}/close",
                 {"outcome": outcome, "day": day(closed)})
    burglary = post(api, "desk", "/api/v1/incidents", BURGLARY)["incident"]["id"]
    for n, (user, origin, housing, report) in enumerate(VISITS):
        booked = post(api, user, "/api/v1/technoprevention/visits", {
            "origin": origin, "incident_id": burglary if origin == "burglary_incident" else None,
            "neighbourhood": "Flagey", "housing": housing,
            "address": secret(f"Rue du Viaduc {100 + n}, 1050 Ixelles"),
            "contact": secret(f"+32 2 640 {10 + n} 77"), "planned_for": TODAY.isoformat()})
        path = f"/api/v1/technoprevention/visits/{booked['id']}"
        if report is None:
            post(api, "techno", f"{path}/cancel", {})
            continue
        recommendations, victim = report
        answers["visits"].append(post(api, "techno", f"{path}/report", {
            "recommendations": recommendations, "burglary_victim": victim,
            "report": secret(f"Porte arrière sans serrure multipoints ({n}).")}))
    return answers


def send_followed_up_referral(api) -> int:
    """The street workers orient someone to the addiction service, which makes contact."""
    sent = post(api, "streetworker", "/api/v1/referrals", {
        "receiver_service": "addiction_outreach", "subject": "person", "reason": "addiction",
        "message": secret("Jeune de 19 ans, demande un suivi discret."),
        "client_key": None, "consent": {"kind": "verbal",
                                        "given_at": (datetime.now(UTC) - timedelta(hours=1)
                                                     ).isoformat()}})
    for action in ("accept", "contact-made"):
        post(api, "addiction", f"/api/v1/referrals/{sent['id']}/{action}", {})
    return sent["id"]


# -- a small evaluator of the catalogue's measures (the indicators service computes the same;
# this one lets the figures be checked before it lands) ------------------------------------------

def period_of(envelope, period: str) -> str:
    at = datetime.fromisoformat(envelope["occurred_at"]).astimezone(BRUSSELS)
    return {"month": at.strftime("%Y-%m"), "year": at.strftime("%Y"),
            "quarter": f"{at.year}-Q{(at.month - 1) // 3 + 1}"}[period]


def evaluate(measure, events, period: str, label: str, group: str | None = None):
    """The measure over the events of one period; by the values of `group` if given."""
    if measure["kind"] == "ratio":
        top = evaluate(measure["numerator"], events, period, label, group)
        bottom = evaluate(measure["denominator"], events, period, label, group)
        if group is None:
            return round(100 * top / bottom, 2) if bottom else None
        return {k: round(100 * top.get(k, 0) / v, 2) for k, v in bottom.items() if v}
    source, event_type = measure["event"].split(".")
    chosen = [e["payload"] for e in events
              if (e["source"], e["event_type"]) == (source, event_type)
              and period_of(e, period) == label
              and all(e["payload"].get(k) == v and type(e["payload"].get(k)) is type(v)
                      for k, v in (measure.get("where") or {}).items())]
    groups: dict = {}
    for payload in chosen:
        groups.setdefault(payload[group] if group else None, []).append(payload)

    def value(payloads):
        if measure["kind"] == "count":
            return len(payloads)
        if measure["kind"] == "sum":
            return sum(p[measure["field"]] for p in payloads)
        return len({p[measure["field"]] for p in payloads})   # distinct

    if group is None:
        return value(chosen)
    return {key: value(payloads) for key, payloads in groups.items()}


def catalogue():
    return {entry["code"]: entry for entry in yaml.safe_load(CATALOGUE.read_text())["indicators"]}


def label_of(entry, when: date) -> str:
    return {"month": when.strftime("%Y-%m"), "year": when.strftime("%Y"),
            "quarter": f"{when.year}-Q{(when.month - 1) // 3 + 1}"}[entry["period"]]


def figures(events, when: date = MONTH) -> dict:
    return {code: evaluate(entry["measure"], events, entry["period"], label_of(entry, when))
            for code, entry in catalogue().items()}


# -- the tests -------------------------------------------------------------------------------

def test_every_indicator_of_the_month_is_exact(month):
    api, events, answers = month
    expected = {
        "PREV-SW-CONTACTS": 49 + 30 + 2 + 5,      # both teams; per worker below
        "PREV-SW-CONTACTS-ASSIGNED": 49 + 30,     # not streetworker2 in Tulipe, nor the
                                                  # addiction team (assigned nowhere)
        "PREV-SW-WORKERS": 3,                     # two street workers + the addiction team's
        "PREV-SW-NEW-PEOPLE": 10 + 7 + 1 + 2,
        "PREV-SW-TRUST": 4,
        "PREV-SW-REFERRALS-OK": 1,
        "PREV-SW-FOLLOWUPS": 6,
        "PREV-SW-STRUCTURING": 50.0,              # 2 of the 4 closed
        "PREV-POLICY-NOTES": 1,
        "PREV-CONCERTATIONS": 2,
        "PREV-CONCERTATION-MEMBERS": 4 + 2,
        "PREV-MEDIATIONS": 3,
        "PREV-MEDIATION-AGREEMENT": 66.67,        # 2 of the 3 closed
    }
    got = figures(events)
    assert {code: got[code] for code in expected} == expected
    # the visits were made today, so they count in this month (and this year)
    now = figures(events, TODAY)
    assert (now["PREV-TECHNO-VISITS"], now["PREV-TECHNO-PREMIUM"]) == (3, 2)
    if MONTH.year == TODAY.year:
        assert got["PREV-TECHNO-PREMIUM"] == 2
    assert [v["premium_eligible"] for v in answers["visits"]] == [True, True, False]


def test_contacts_per_street_worker_and_neighbourhood(month):
    _, events, _ = month
    entry = catalogue()["PREV-SW-CONTACTS"]
    label = label_of(entry, MONTH)
    by_worker = evaluate(entry["measure"], events, "month", label, group="worker_ref")
    assert sorted(by_worker.values()) == [5, 32, 49]   # addiction team, streetworker2, streetworker
    by_place = evaluate(entry["measure"], events, "month", label, group="neighbourhood")
    assert by_place == {"Tulipe": 51, "Matonge": 30, "Flagey": 5}
    by_org = evaluate(entry["measure"], events, "month", label, group="organisation")
    assert by_org == {"street_work": 81, "addiction_service": 5}
    assigned = catalogue()["PREV-SW-CONTACTS-ASSIGNED"]["measure"]
    in_their_own = evaluate(assigned, events, "month", label, group="worker_ref")
    assert sorted(in_their_own.values()) == [30, 49]
    assert set(in_their_own) < set(by_worker)   # the same pseudonyms


def test_event_payloads_carry_exactly_the_catalogue_fields(month):
    _, events, _ = month
    kinds = {e["event_type"] for e in events}
    assert kinds == {"contacts_logged", "accompaniment_opened", "accompaniment_step_reached",
                     "accompaniment_closed", "concertation_held", "policy_note_filed",
                     "mediation_closed", "technoprevention_visit_done"}
    closed = [e["payload"] for e in events if e["event_type"] == "accompaniment_closed"]
    assert sorted((p["outcome"], p["reached"], p["continued_participation"]) for p in closed) \
        == [("continued_participation", "joined_structuring_activity", True),
            ("continued_participation", "joined_structuring_activity", True),
            ("lost_contact", "trust_established", False),
            ("moved_away", "first_contact", False)]
    oriented = [e["payload"] for e in events if e["event_type"] == "accompaniment_step_reached"
                and e["payload"]["step"] == "oriented"]
    assert oriented == [{"organisation": "street_work", "neighbourhood": "Tulipe",
                         "themes": ["housing"], "step": "oriented",
                         "referral_reason": "addiction"}]
    tally = next(e for e in events if e["event_type"] == "contacts_logged")
    assert set(tally["payload"]) == {"organisation", "neighbourhood", "worker_ref", "contacts",
                                     "new_people", "themes", "in_assigned_neighbourhood"}
    # dated when it happened, not when it was typed in
    assert tally["occurred_at"].startswith(day(2))
    assert all(e["antenna_id"] == ANTENNA and e["source"] == "prevention" for e in events)


def test_no_event_identifies_anyone(month):
    """The scan: no client key, party key, address, contact or free text on the bus."""
    _, events, answers = month
    text = json.dumps(events, ensure_ascii=False)
    keys = answers["client_keys"] + answers["party_keys"]
    assert len(keys) == len(ACCOMPANIMENTS) + 2 * len(MEDIATIONS)
    for needle in keys + SECRET_TEXTS:
        assert needle not in text, needle
    for needle in ("AC-", "MP-", "Rue", "+32", "M. D.", "Mme"):
        assert needle not in text
    users = ("streetworker", "streetworker2", "mediator", "techno", "coordinator", "desk")
    for envelope in events:
        for value in envelope["payload"].values():
            assert value not in users   # no staff name either: the worker is a pseudonym


def test_the_case_concertation_is_citable_and_its_decisions_are_for_participants(month):
    api, _, answers = month
    listed = api.call("GET", "/api/v1/street-work/concertations", "streetworker").json()
    assert {c["reference"] for c in listed["items"]} >= {answers["concertation_reference"]}
    assert all(c["decisions"] is None for c in listed["items"])   # lists: metadata only
    cited = next(c for c in listed["items"] if c["kind"] == "case_concertation_458ter")
    one = api.call("GET", f"/api/v1/street-work/concertations/{cited['id']}", "streetworker")
    assert one.status_code == 200 and one.json()["legal_basis"].startswith("Art. 458ter")
    for outsider in ("mediator", "coordinator", "police"):   # not present at that one
        assert api.call("GET", f"/api/v1/street-work/concertations/{cited['id']}",
                        outsider).status_code == 404


def test_figures_are_aggregated_and_suppressed_for_the_coordinator(month):
    api, _, _ = month
    own = api.call("GET", f"/api/v1/street-work/figures?year={MONTH.year}", "streetworker")
    assert own.status_code == 200
    mine = next(m for m in own.json()["months"] if m["month"] == MONTH.strftime("%Y-%m"))
    assert (mine["outings"], mine["contacts"], mine["new_people"]) == (12, 81, 18)
    assert own.json()["organisations"] == ["street_work"]
    overall = api.call("GET", f"/api/v1/street-work/figures?year={MONTH.year}",
                       "coordinator").json()
    theirs = next(m for m in overall["months"] if m["month"] == MONTH.strftime("%Y-%m"))
    assert theirs["contacts"] == 86 and theirs["accompaniments_closed"] == 0   # 4 < 5
    assert f"{MONTH.strftime('%Y-%m')}:accompaniments_closed" in overall["suppressed"]
    assert api.call("GET", f"/api/v1/street-work/figures?year={MONTH.year}",
                    "police").status_code == 403


def test_the_indicators_service_computes_the_same_figures_and_suppresses_small_counts(month):
    """The catalogue read by the indicators service itself, from the same events on the bus."""
    api, _, _ = month

    def series(code, label):
        grain = catalogue()[code]["period"]
        response = api.call("GET", f"/api/v1/indicators/{code}/series?from={label}&to={label}"
                                   f"&grain={grain}", "coordinator")
        assert response.status_code == 200, response.text
        points = response.json()["points"]
        return points[0] if points else None

    month_label, year_label = MONTH.strftime("%Y-%m"), str(MONTH.year)
    expected = {"PREV-SW-CONTACTS": (month_label, 86), "PREV-SW-CONTACTS-ASSIGNED":
                (month_label, 79), "PREV-SW-NEW-PEOPLE": (month_label, 20),
                "PREV-SW-WORKERS": (month_label, 3), "PREV-SW-FOLLOWUPS": (year_label, 6),
                "PREV-POLICY-NOTES": (year_label, 1), "PREV-CONCERTATIONS": (year_label, 2),
                "PREV-CONCERTATION-MEMBERS": (year_label, 6)}
    # fewer than 5 events behind them: shown as "<5", no value
    suppressed = {"PREV-SW-TRUST": year_label, "PREV-SW-STRUCTURING": year_label,
                  "PREV-MEDIATION-AGREEMENT": year_label, "PREV-MEDIATIONS": year_label}
    eventually(lambda: (series("PREV-CONCERTATION-MEMBERS", year_label) or {}).get("value")
               == 6, timeout=30, interval=0.5)
    for code, (label, value) in expected.items():
        assert series(code, label)["value"] == value, code
    for code, label in suppressed.items():
        point = series(code, label)
        assert point["suppressed"] is True and point["value"] is None, code
