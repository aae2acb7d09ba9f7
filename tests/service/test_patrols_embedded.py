"""Patrols end to end through the embedded platform's REST API: the warden coordinator sets up
posts, demand and the team, solves and publishes a roster whose gaps are explained; wardens read
their schedule (also as an iCalendar feed, parsed back), swap shifts through the coordinator
with the rules checked, and log patrols whose observations become incidents of channel
`warden`; incidents make hotspots. Bad input gets a JSON 4xx naming the problem. One platform
for the module; tests build on one another's setup through module fixtures."""
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest

from shared.calendar import BRUSSELS
from tests.conftest import eventually

TODAY = datetime.now(BRUSSELS).date()
MONDAY = TODAY + timedelta(days=7 - TODAY.weekday())
PLANNER = "wardencoord"


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def refused(response, status, needle):
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert needle in str(body), body
    return body


@pytest.fixture(scope="module")
def team(shared_platform):
    """Two posts (a gate, a market needing sanctions), four wardens, the demand of a week."""
    api = shared_platform
    gate = ok(api.call("POST", "/api/v1/patrols/posts", PLANNER, json={
        "name": "École de la Tulipe", "kind": "school_gate", "neighbourhood": "Tulipe",
        "address": "Rue de la Tulipe 12, 1050 Ixelles"}), 201)
    market = ok(api.call("POST", "/api/v1/patrols/posts", PLANNER, json={
        "name": "Marché Flagey", "kind": "market", "neighbourhood": "Flagey",
        "address": "Place Flagey, 1050 Ixelles", "skills": ["sanctions"]}), 201)
    wardens = [ok(api.call("POST", "/api/v1/patrols/wardens", PLANNER, json=body), 201)
               for body in (
                   {"name": "Nadia", "username": "warden", "contract_hours": 38,
                    "skills": ["fr", "sanctions"]},
                   {"name": "Youssef", "username": "warden2", "contract_hours": 38,
                    "skills": ["fr"]},
                   {"name": "Els", "contract_hours": 38, "skills": ["nl"]},
                   {"name": "Mehdi", "contract_hours": 19, "skills": ["fr"]})]
    for weekday in range(5):
        ok(api.call("POST", "/api/v1/patrols/demand", PLANNER, json={
            "post_id": gate["id"], "weekday": weekday, "start": "07:45", "end": "08:30"}), 201)
    ok(api.call("POST", "/api/v1/patrols/demand", PLANNER, json={
        "post_id": market["id"], "weekday": 5, "start": "08:00", "end": "13:00",
        "required": 2}), 201)
    return {"gate": gate, "market": market, "wardens": wardens}


@pytest.fixture(scope="module")
def published(shared_platform, team):
    api = shared_platform
    draft = ok(api.call("POST", "/api/v1/patrols/solve", PLANNER, json={
        "first_day": MONDAY.isoformat(), "last_day": (MONDAY + timedelta(days=6)).isoformat(),
        "time_limit": 2}), 201)
    return ok(api.call("POST", f"/api/v1/patrols/rosters/{draft['id']}/publish", PLANNER))


def test_the_roster_covers_the_gate_and_explains_the_market_gap(shared_platform, published):
    roster = published
    assert roster["status"] == "published"
    gate_slots = {a["slot_id"] for a in roster["assignments"] if a["post"] == "École de la "
                                                                          "Tulipe"}
    assert len(gate_slots) == 5   # every morning of the week, in pairs
    [gap] = roster["gaps"]        # the market: one warden certified for sanctions
    assert gap["main_reason"] == "skill"
    assert "not enough wardens with the skill" in gap["why"][0]
    assert roster["bound"] >= roster["objective"] and roster["gap"] is not None
    assert set(roster["breakdown"]) >= {"cover", "continuity", "fair_hours", "total"}
    assert roster["breakdown"]["total"] == roster["objective"]


def test_a_warden_reads_their_schedule_and_subscribes_to_it(shared_platform, published):
    api = shared_platform
    mine = ok(api.call("GET", "/api/v1/patrols/my-schedule", "warden"))
    assert mine["name"] == "Nadia" and mine["shifts"]
    feed = ok(api.call("POST", "/api/v1/patrols/calendar-feeds", "warden", json={}), 201)
    response = api.call("GET", feed["path"])   # no token header: the URL is the secret
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(
        "text/calendar")
    calendar = icalendar.Calendar.from_ical(response.text)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == len(mine["shifts"])
    first = min(events, key=lambda e: e.decoded("dtstart"))
    assert first.decoded("dtstart").astimezone(BRUSSELS).replace(tzinfo=None) == \
        datetime.fromisoformat(mine["shifts"][0]["start"])
    ok(api.call("POST", f"/api/v1/patrols/calendar-feeds/{feed['id']}/revoke", "warden"))
    assert api.call("GET", feed["path"]).status_code == 404
    assert api.call("GET", "/api/v1/patrols/calendar.ics?token=not-a-real-token-at-all-x"
                    ).status_code == 404
    assert api.call("GET", "/api/v1/patrols/calendar.ics?token=short").status_code == 422


def test_the_coordinator_has_a_team_feed_and_wardens_do_not(shared_platform, published):
    api = shared_platform
    refused(api.call("POST", "/api/v1/patrols/calendar-feeds", "warden", json={"team": True}),
            403, "may not plan")
    feed = ok(api.call("POST", "/api/v1/patrols/calendar-feeds", PLANNER, json={"team": True}),
              201)
    calendar = icalendar.Calendar.from_ical(api.call("GET", feed["path"]).text)
    assert len(list(calendar.walk("VEVENT"))) == len(published["assignments"])


def test_access_follows_the_roles(shared_platform, team):
    api = shared_platform
    refused(api.call("POST", "/api/v1/patrols/posts", "warden", json={}), 403, "forbidden")
    refused(api.call("GET", "/api/v1/patrols/rosters", "desk"), 403, "forbidden")
    refused(api.call("GET", "/api/v1/patrols/my-schedule", PLANNER), 403, "forbidden")
    wardens = ok(api.call("GET", "/api/v1/patrols/wardens", "coordinator"))
    assert all("leave" not in w for w in wardens)      # leave: the planner only
    assert all("leave" in w for w in ok(api.call("GET", "/api/v1/patrols/wardens", PLANNER)))
    assert api.call("GET", "/api/v1/patrols/posts").status_code == 401


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"post_id": 999999, "weekday": 1, "start": "09:00", "end": "10:00"}, 422, "unknown post"),
    ({"post_id": "GATE", "weekday": 1, "start": "10:00", "end": "09:00"}, 422, "end"),
    ({"post_id": "GATE", "weekday": 1, "start": "06:00", "end": "17:00"}, 422, "9 hours"),
    ({"post_id": "GATE", "weekday": 1, "start": "09:00", "end": "10:00", "required": 40},
     422, "team has"),
    ({"post_id": "GATE", "weekday": 0, "start": "08:00", "end": "09:00"}, 409, "overlaps"),
    ({"post_id": "GATE", "start": "09:00", "end": "10:00"}, 422, "weekday"),
    ({"post_id": "GATE", "weekday": 9, "start": "25:00", "end": "x"}, 422, "fields"),
])
def test_bad_demand_is_named(shared_platform, team, body, status, needle):
    if body["post_id"] == "GATE":
        body = {**body, "post_id": team["gate"]["id"]}
    refused(shared_platform.call("POST", "/api/v1/patrols/demand", PLANNER, json=body), status,
            needle)


def test_bad_wardens_leave_and_periods_are_named(shared_platform, team):
    api = shared_platform
    nadia = team["wardens"][0]["id"]
    refused(api.call("POST", "/api/v1/patrols/wardens", PLANNER, json={
        "name": "X", "contract_hours": 80}), 422, "contract_hours")
    refused(api.call("POST", f"/api/v1/patrols/wardens/{nadia}/availability", PLANNER, json={
        "first_day": (TODAY - timedelta(days=3)).isoformat(),
        "last_day": TODAY.isoformat()}), 422, "in the past")
    refused(api.call("POST", "/api/v1/patrols/wardens/999999/availability", PLANNER, json={
        "first_day": TODAY.isoformat(), "last_day": TODAY.isoformat()}), 404, "warden")
    refused(api.call("POST", "/api/v1/patrols/solve", PLANNER, json={
        "first_day": MONDAY.isoformat(), "last_day": (MONDAY + timedelta(days=60)).isoformat()}),
        422, "at most")
    refused(api.call("POST", "/api/v1/patrols/solve", PLANNER, json={
        "first_day": MONDAY.isoformat(), "last_day": MONDAY.isoformat(), "time_limit": 900}),
        422, "time_limit")
    refused(api.call("POST", "/api/v1/patrols/rosters/999999/publish", PLANNER), 404, "roster")


def test_a_swap_is_offered_accepted_and_approved_with_the_rules_checked(shared_platform,
                                                                      published):
    api = shared_platform
    nadia, youssef = published["assignments"][0]["warden_id"], None
    mine = [a for a in published["assignments"] if a["warden"] == "Nadia"]
    theirs = {a["slot_id"] for a in published["assignments"] if a["warden"] == "Youssef"}
    free = [a for a in mine if a["slot_id"] not in theirs]
    busy = [a for a in mine if a["slot_id"] in theirs]
    assert free or busy
    if busy:   # Youssef is already in that slot: taking it would put him there twice
        offer = ok(api.call("POST", "/api/v1/patrols/swaps", "warden", json={
            "roster_id": published["id"], "slot_id": busy[0]["slot_id"]}), 201)
        refused(api.call("POST", f"/api/v1/patrols/swaps/{offer['id']}/accept", "warden2"),
                409, "rule")
    if free:
        offer = ok(api.call("POST", "/api/v1/patrols/swaps", "warden", json={
            "roster_id": published["id"], "slot_id": free[0]["slot_id"]}), 201)
        refused(api.call("POST", f"/api/v1/patrols/swaps/{offer['id']}/accept", "warden"),
                422, "you offered")
        accepted = ok(api.call("POST", f"/api/v1/patrols/swaps/{offer['id']}/accept",
                               "warden2"))
        assert accepted["status"] == "accepted"
        refused(api.call("POST", f"/api/v1/patrols/swaps/{offer['id']}/decision", "warden2",
                         json={"approve": True}), 403, "forbidden")
        approved = ok(api.call("POST", f"/api/v1/patrols/swaps/{offer['id']}/decision",
                               PLANNER, json={"approve": True}))
        assert approved["status"] == "approved"
        roster = ok(api.call("GET", f"/api/v1/patrols/rosters/{published['id']}", PLANNER))
        youssef = {a["warden"] for a in roster["assignments"]
                   if a["slot_id"] == free[0]["slot_id"]}
        assert "Youssef" in youssef and "Nadia" not in youssef
    assert nadia


def test_a_swap_that_breaks_the_rest_rule_is_refused(shared_platform, team):
    """A weekend with two wardens in: one has Saturday evening at the park, the other Sunday
    morning; the Sunday one may not take the Saturday evening (8.5 hours of rest)."""
    api = shared_platform
    saturday = MONDAY + timedelta(days=19)
    park = ok(api.call("POST", "/api/v1/patrols/posts", PLANNER, json={
        "name": "Parc Tenbosch", "kind": "park", "neighbourhood": "Tulipe"}), 201)
    for day, start, end in ((saturday, "18:00", "22:30"),
                            (saturday + timedelta(days=1), "07:00", "09:00")):
        ok(api.call("POST", "/api/v1/patrols/demand", PLANNER, json={
            "post_id": park["id"], "on_date": day.isoformat(), "start": start, "end": end,
            "required": 1}), 201)
    for warden in team["wardens"][2:]:
        ok(api.call("POST", f"/api/v1/patrols/wardens/{warden['id']}/availability", PLANNER,
                    json={"first_day": saturday.isoformat(),
                          "last_day": (saturday + timedelta(days=1)).isoformat()}), 201)
    draft = ok(api.call("POST", "/api/v1/patrols/solve", PLANNER, json={
        "first_day": saturday.isoformat(), "last_day": (saturday + timedelta(days=1)).isoformat(),
        "time_limit": 2}), 201)
    roster = ok(api.call("POST", f"/api/v1/patrols/rosters/{draft['id']}/publish", PLANNER))
    at_park = {a["start"][11:16]: a["warden"] for a in roster["assignments"]
               if a["post"] == "Parc Tenbosch"}
    assert set(at_park) == {"18:00", "07:00"} and at_park["18:00"] != at_park["07:00"]
    accounts = {"Nadia": "warden", "Youssef": "warden2"}
    evening = next(a for a in roster["assignments"] if a["start"][11:16] == "18:00")
    offer = ok(api.call("POST", "/api/v1/patrols/swaps", accounts[at_park["18:00"]], json={
        "roster_id": roster["id"], "slot_id": evening["slot_id"]}), 201)
    body = refused(api.call("POST", f"/api/v1/patrols/swaps/{offer['id']}/accept",
                            accounts[at_park["07:00"]]), 409, "rest")
    assert body["fields"]["rules"] == ["rest"]


def test_the_shift_ranking_puts_free_wardens_first(shared_platform, published):
    api = shared_platform
    slot = published["assignments"][0]["slot_id"]
    ranked = ok(api.call("GET", f"/api/v1/patrols/rosters/{published['id']}/candidates",
                         PLANNER, params={"slot_id": slot}))
    taking = [c["can_take"] for c in ranked]
    assert taking == sorted(taking, reverse=True)
    assert all(c["blocked_by"] for c in ranked if not c["can_take"])
    refused(api.call("GET", f"/api/v1/patrols/rosters/{published['id']}/candidates", PLANNER,
                     params={"slot_id": "nope@2020-01-01"}), 404, "slot")


def test_an_observation_becomes_an_incident_of_channel_warden(shared_platform, team):
    api = shared_platform
    ended = datetime.now(UTC) - timedelta(minutes=5)
    log = ok(api.call("POST", "/api/v1/patrols/logs", "warden", json={
        "post_id": team["gate"]["id"], "started_at": (ended - timedelta(hours=1)).isoformat(),
        "ended_at": ended.isoformat(),
        "observations": [{"category": "illegal_dumping"}, {"category": "street_lighting"}]}),
        201)
    assert [o["kind"] for o in log["observations"]] == ["cleanliness", "road"]

    def warden_incidents():
        items = ok(api.call("GET", "/api/v1/incidents", "coordinator",
                            params={"limit": 100}))["items"]
        found = [i for i in items if i["channel"] == "warden"]
        return found if len(found) >= 2 else None

    found = eventually(warden_incidents)
    assert {i["category"] for i in found} == {"illegal_dumping", "street_lighting"}
    assert ok(api.call("GET", "/api/v1/patrols/logs", "warden"))["total"] == 1
    assert ok(api.call("GET", "/api/v1/patrols/logs", "warden2"))["total"] == 0
    refused(api.call("POST", "/api/v1/patrols/logs", "warden", json={
        "post_id": team["gate"]["id"], "started_at": ended.isoformat(),
        "ended_at": ended.isoformat(), "observations": [{"category": "burglary"}]}), 422,
        "ended_at")
    refused(api.call("POST", "/api/v1/patrols/logs", "warden", json={
        "post_id": team["gate"]["id"], "started_at": (ended - timedelta(hours=1)).isoformat(),
        "ended_at": ended.isoformat(), "observations": [{"category": "neighbour_conflict"}]}),
        422, "observations.0.category")


def test_incidents_make_hotspots(shared_platform):
    api = shared_platform
    for _ in range(2):
        ok(api.call("POST", "/api/v1/incidents", "desk", json={
            "category": "litter", "description": "Déchets place Flagey.", "channel": "desk",
            "location": {"address": "Place Flagey 1, 1050 Ixelles", "lat": 50.8275,
                         "lon": 4.3722, "neighbourhood": "Flagey"}, "reporter": None}), 201)

    def flagey():
        hoods = ok(api.call("GET", "/api/v1/patrols/hotspots", PLANNER))["neighbourhoods"]
        return next((h for h in hoods if h["neighbourhood"] == "Flagey"
                     and h["incidents"] >= 2), None)

    assert eventually(flagey)["bonus"] >= 100


def test_the_published_period_is_pinned_and_a_replan_counts_its_changes(shared_platform,
                                                                        team, published):
    api = shared_platform
    period = {"first_day": MONDAY.isoformat(),
              "last_day": (MONDAY + timedelta(days=6)).isoformat(), "time_limit": 2}
    again = ok(api.call("POST", "/api/v1/patrols/solve", PLANNER, json=period), 201)
    current = ok(api.call("GET", f"/api/v1/patrols/rosters/{published['id']}", PLANNER))
    assert {(a["slot_id"], a["warden_id"]) for a in current["assignments"]} <= \
        {(a["slot_id"], a["warden_id"]) for a in again["assignments"]}
    els = next(w for w in team["wardens"] if w["name"] == "Els")
    ok(api.call("POST", f"/api/v1/patrols/wardens/{els['id']}/availability", PLANNER, json={
        "first_day": MONDAY.isoformat(), "last_day": (MONDAY + timedelta(days=6)).isoformat()}),
       201)
    replan = ok(api.call("POST", "/api/v1/patrols/solve", PLANNER,
                         json={**period, "replan": True}), 201)
    lost = sum(1 for a in current["assignments"] if a["warden"] == "Els")
    assert all(a["warden"] != "Els" for a in replan["assignments"])
    assert replan["changes"] is not None and replan["changes"] <= 2 * lost
    assert date.fromisoformat(replan["first_day"]) == MONDAY
