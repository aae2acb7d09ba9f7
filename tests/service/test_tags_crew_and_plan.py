"""The crew is data the coordinator manages (members, absences), and the day's plan says what a
new user needs to know: who is present, that a day is not a working day, that two visits are at
one site. One platform for the module; each test uses its own names and days."""
from datetime import date, timedelta

import pytest

from shared.calendar import add_working_days, day_off
from tests.service.test_tags_embedded import DIRECT, TODAY


def add(api, name, user="coordinator", **extra):
    response = api.call("POST", "/api/v1/tag-crew", user, json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def plan(api, day, user="tags", **params):
    response = api.call("GET", "/api/v1/tag-plan", user,
                        params={"date": day.isoformat(), **params})
    assert response.status_code == 200, response.text
    return response.json()


def working_day(after: int) -> date:
    return add_working_days(TODAY, after)


def next_day_off(kind) -> date:
    day = TODAY + timedelta(days=1)
    while not (day_off(day) and kind(day)):
        day += timedelta(days=1)
    return day


def test_the_coordinator_adds_a_member_any_name_and_the_plan_takes_them(shared_platform):
    api = shared_platform
    member = add(api, "Yasmina", hours_per_day=6)
    assert (member["name"], member["hours_per_day"], member["active"]) == ("Yasmina", 6, True)
    assert any(m["name"] == "Yasmina" for m in api.call("GET", "/api/v1/tag-crew",
                                                        "tags").json())
    named = plan(api, working_day(1), crew="Yasmina")
    assert named["crew"] == ["Yasmina"] and named["minutes_available"] == 360
    assert "Yasmina" in plan(api, working_day(1))["crew"]


def test_an_absent_member_is_left_out_of_that_days_plan_only(shared_platform):
    api = shared_platform
    member = add(api, "Bram")
    away = working_day(2)
    recorded = api.call("POST", f"/api/v1/tag-crew/{member['id']}/absences", "coordinator",
                        json={"first_day": away.isoformat(), "last_day": away.isoformat()})
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["absences"][0]["first_day"] == away.isoformat()
    assert "Bram" not in plan(api, away)["crew"]
    assert "Bram" in plan(api, working_day(3))["crew"]
    refused = api.call("GET", "/api/v1/tag-plan", "tags",
                       params={"date": away.isoformat(), "crew": "Bram"})
    assert refused.status_code == 422 and "absent" in str(refused.json()["error"]["fields"])


def test_a_deactivated_member_is_never_planned(shared_platform):
    api = shared_platform
    member = add(api, "Jonas")
    gone = api.call("POST", f"/api/v1/tag-crew/{member['id']}/deactivate", "coordinator",
                    json={})
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert "Jonas" not in plan(api, working_day(1))["crew"]
    assert api.call("GET", "/api/v1/tag-plan", "tags", params={
        "date": working_day(1).isoformat(), "crew": "Jonas"}).status_code == 422
    again = api.call("POST", f"/api/v1/tag-crew/{member['id']}/deactivate", "coordinator",
                     json={})
    assert again.status_code == 409
    back = add(api, "jonas")                      # the same person, back in the crew
    assert back["id"] == member["id"] and back["active"] is True


@pytest.mark.parametrize("method, path, body, user, status", [
    ("POST", "/api/v1/tag-crew", {"name": "Eve"}, "tags", 403),      # the crew reads, no more
    ("POST", "/api/v1/tag-crew", {"name": "Eve"}, "desk", 403),
    ("GET", "/api/v1/tag-crew", None, "desk", 403),
    ("GET", "/api/v1/tag-crew", None, "police", 403),
    ("POST", "/api/v1/tag-crew", {"name": ""}, "coordinator", 422),
    ("POST", "/api/v1/tag-crew/999999/absences", {"first_day": "2026-01-01",
                                                  "last_day": "2026-01-02"}, "coordinator", 404),
])
def test_who_manages_the_crew(shared_platform, method, path, body, user, status):
    kwargs = {} if body is None else {"json": body}
    assert shared_platform.call(method, path, user, **kwargs).status_code == status


def test_an_absence_ends_after_it_starts_and_a_name_is_taken_once(shared_platform):
    api = shared_platform
    member = add(api, "Noor")
    backwards = api.call("POST", f"/api/v1/tag-crew/{member['id']}/absences", "coordinator",
                         json={"first_day": "2026-12-02", "last_day": "2026-12-01"})
    assert backwards.status_code == 422
    assert api.call("POST", "/api/v1/tag-crew", "coordinator",
                    json={"name": " NOOR "}).status_code == 422


@pytest.mark.parametrize("kind", [lambda day: day.weekday() == 6,          # a Sunday
                                  lambda day: day.weekday() < 5])          # a public holiday
def test_a_day_off_says_so_and_has_an_empty_plan_unless_asked(shared_platform, kind):
    api = shared_platform
    add(api, f"Crew {kind.__code__.co_firstlineno}")
    api.call("POST", "/api/v1/tag-jobs", "tags", json=DIRECT)
    day = next_day_off(kind)
    empty = plan(api, day)
    assert empty["working_day"] is False and day_off(day) in empty["message"]
    assert (empty["visits"], empty["left_out"], empty["crew"]) == ([], [], [])
    asked = plan(api, day, anyway="true")
    assert asked["working_day"] is False and asked["message"]
    assert asked["crew"] and asked["visits"]
    assert plan(api, working_day(1))["working_day"] is True
    assert plan(api, working_day(1))["message"] is None


def test_christmas_is_not_a_working_day():
    assert day_off(date(2026, 12, 25)) == "Christmas Day"


def test_two_jobs_at_one_site_are_flagged_in_the_plan(shared_platform):
    api = shared_platform
    add(api, "Lotte")
    site = {"address": "Rue Scarron 77, 1050 Ixelles", "lat": 50.8321, "lon": 4.3691}
    urgent = {**DIRECT, "content": "hate", "area_m2": 1}     # planned first, whatever else waits
    first = api.call("POST", "/api/v1/tag-jobs", "tags", json={**urgent, "site": site}).json()
    second = api.call("POST", "/api/v1/tag-jobs", "tags", json={
        **urgent, "site": {**site, "address": "rue scarron 77"}}).json()
    assert first["site"]["id"] == second["site"]["id"]
    visits = {v["job_id"]: v for v in plan(api, working_day(1), crew="Lotte")["visits"]}
    assert visits[first["id"]]["same_site_as"] == [second["id"]]
    assert visits[second["id"]]["same_site_as"] == [first["id"]]
    order = [v["order"] for v in (visits[first["id"]], visits[second["id"]])]
    assert abs(order[0] - order[1]) == 1                       # back to back


def test_only_members_present_that_day_are_scheduled_or_credited_with_the_work(shared_platform):
    """The crew is data: a job is scheduled with members present on its day, and completed by
    members of the crew, whatever the case they are typed in; anyone else is named in a 422."""
    api = shared_platform
    nadia = add(api, "Nadia")
    away, back = working_day(6), working_day(7)
    assert api.call("POST", f"/api/v1/tag-crew/{nadia['id']}/absences", "coordinator",
                    json={"first_day": away.isoformat(),
                          "last_day": away.isoformat()}).status_code == 201
    job = api.call("POST", "/api/v1/tag-jobs", "tags", json={
        **DIRECT, "site": {**DIRECT["site"], "address": "Rue Vilain XIIII 9, 1050 Ixelles"}})
    assert job.status_code == 201, job.text
    path = f"/api/v1/tag-jobs/{job.json()['id']}"

    def schedule(day, crew):
        return api.call("POST", f"{path}/schedule", "coordinator",
                        json={"date": day.isoformat(), "crew": crew})

    unknown = schedule(back, ["Nadia", "Somebody Else"])
    assert unknown.status_code == 422 and "Somebody Else" in str(unknown.json()["error"])
    absent = schedule(away, ["Nadia"])
    assert absent.status_code == 422 and "absent" in str(absent.json()["error"]["fields"])
    assert api.call("GET", path, "coordinator").json()["status"] == "ready"   # nothing moved
    scheduled = schedule(back, ["nadia "])
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["scheduled_crew"] == ["Nadia"]

    completion = {"removed_m2": 2, "method": "chemical", "minutes_spent": 40}
    stranger = api.call("POST", f"{path}/complete", "tags",
                        json={**completion, "crew": ["Nadia", "Mallory"]})
    assert stranger.status_code == 422 and "Mallory" in str(stranger.json()["error"])
    done = api.call("POST", f"{path}/complete", "tags", json={**completion, "crew": ["NADIA"]})
    assert done.status_code == 200, done.text
    assert done.json()["completion"]["crew"] == ["Nadia"]
