"""/api/v1/indicators on the embedded platform: incidents reported at the desk reach the
indicators through the bus and show in the series, the dashboard, target vs actual, the CSV and
the XLSX evaluation (opened with openpyxl); who may read and set what; every bad input a JSON
4xx. One platform for the module."""
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from tests.conftest import ANTENNA, eventually
from tests.service.test_gateway_embedded import GRAFFITI

YEAR = str(datetime.now(UTC).year)
MONTH = datetime.now(UTC).strftime("%Y-%m")
REPORTS = 6


@pytest.fixture(scope="module")
def api(shared_platform):
    for _ in range(REPORTS):
        response = shared_platform.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI)
        assert response.status_code == 201, response.text

    def counted():
        answer = shared_platform.call("GET", f"/api/v1/indicators/INC-REPORTED/series?from="
                                             f"{YEAR}&grain=year", "coordinator").json()
        return answer["points"] and answer["points"][0]["n"] == REPORTS

    eventually(counted)
    return shared_platform


def test_series_of_reports_made_through_the_incidents_service(api):
    answer = api.call("GET", f"/api/v1/indicators/INC-DESK-REQUESTS/series?from={MONTH}"
                             "&group_by=category", "coordinator").json()
    assert answer["points"] == [{"period": MONTH, "category": GRAFFITI["category"],
                                 "n": REPORTS, "value": float(REPORTS), "suppressed": False}]
    # filtered to nothing that exists: no points; another neighbourhood: nothing either
    answer = api.call("GET", f"/api/v1/indicators/INC-REPORTED/series?from={MONTH}"
                             "&channel=phone", "auditor").json()
    assert answer["points"] == []


def test_dashboard_filters_and_groups(api):
    answer = api.call("GET", f"/api/v1/indicators/dashboard?from={YEAR}&category="
                             f"{GRAFFITI['category']}&group_by=neighbourhood", "admin").json()
    items = {item["code"]: item for item in answer["items"]}
    assert items["INC-REPORTED"]["total"]["n"] == REPORTS
    assert sum(g["n"] for g in items["INC-REPORTED"]["groups"]) == REPORTS
    assert items["REF-SENT"]["applicable"] is False        # referrals have no category


def test_targets_are_the_coordinators_with_history_and_show_in_the_evaluation(api):
    assert api.call("PUT", "/api/v1/indicators/INC-REPORTED/target", "auditor",
                    json={"target": 5}).status_code == 403
    response = api.call("PUT", "/api/v1/indicators/INC-REPORTED/target", "coordinator",
                        json={"target": 5})
    assert response.status_code == 200, response.text
    assert response.json()["previous"] is None
    target = api.call("GET", "/api/v1/indicators/INC-REPORTED/target", "auditor").json()
    assert target["target"] == 5 and [h["value"] for h in target["history"]] == [5]

    evaluation = api.call("GET", f"/api/v1/indicators/evaluation?year={YEAR}",
                          "coordinator").json()
    row = next(i for i in evaluation["items"] if i["code"] == "INC-REPORTED")
    assert (row["target"], row["actual"]["n"], row["status"]) == (5, REPORTS, "met")

    response = api.call("GET", f"/api/v1/indicators/evaluation.xlsx?year={YEAR}", "coordinator")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book["Évaluation PSSP"].iter_rows(values_only=True))
    by_code = {r[2]: r for r in rows[2:]}
    assert by_code["INC-REPORTED"][5:9] == (5, REPORTS, REPORTS, "met")
    assert by_code["INC-DESK-REQUESTS"][6] == REPORTS
    assert by_code["REF-SENT"][6] == 0                         # nothing sent this year
    assert "OS6" in book.sheetnames and "OS2" in book.sheetnames
    os6 = [r[2] for r in book["OS6"].iter_rows(values_only=True)]
    assert "INC-REPORTED" in os6 and "TAG-M2-REMOVED" not in os6


def test_small_counts_are_suppressed_in_csv(api):
    response = api.call("GET", f"/api/v1/indicators/INC-REPORTED/series.csv?from={YEAR}"
                               "&grain=year&group_by=antenna", "coordinator")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert response.text.splitlines() == ["indicator,unit,period,antenna,n,value",
                                          f"INC-REPORTED,count,{YEAR},{ANTENNA},{REPORTS},"
                                          f"{float(REPORTS)}"]
    one = api.call("GET", f"/api/v1/indicators/INC-REPORTED/series.csv?from={YEAR}"
                          "&grain=year&phenomenon=nothing", "coordinator")
    assert one.text.splitlines() == ["indicator,unit,period,n,value"]


@pytest.mark.parametrize("user", ["desk", "warden", "streetworker", "police", "tags"])
def test_other_roles_may_not_read_indicators(api, user):
    response = api.call("GET", "/api/v1/indicators", user)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    # refused before the malformed query is even looked at
    assert api.call("GET", "/api/v1/indicators/NOPE/series?from=bad", user).status_code == 403


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), [
    ("GET", "/api/v1/indicators/NOPE/series?from=2026", None, 404, None),
    ("GET", "/api/v1/indicators/INC-REPORTED/series?from=2026-13", None, 422, "from"),
    ("GET", "/api/v1/indicators/INC-REPORTED/series?from=26", None, 422, "from"),
    ("GET", "/api/v1/indicators/INC-REPORTED/series?from=2010&to=2026", None, 422, "from"),
    ("GET", "/api/v1/indicators/INC-REPORTED/series?from=2026&to=2025", None, 422, "from"),
    ("GET", "/api/v1/indicators/INC-REPORTED/series", None, 422, "from"),
    ("GET", "/api/v1/indicators/INC-REPORTED/series?from=2026&group_by=colour", None, 422,
     "group_by"),
    ("GET", "/api/v1/indicators/INC-REPORTED/series?from=2026&colour=red", None, 422, "colour"),
    ("GET", "/api/v1/indicators/INC-REPORTED/series?from=2026&antenna=elsewhere", None, 403,
     None),
    ("GET", "/api/v1/indicators/evaluation?year=20x6", None, 422, "year"),
    ("GET", "/api/v1/indicators/dashboard?from=2000&to=2026", None, 422, "from"),
    ("GET", "/api/v1/indicators/INC-REPORTED/compare?commune=ixelles&from=Q3", None, 422,
     "from"),
    ("PUT", "/api/v1/indicators/INC-REPORTED/target", {"target": "lots"}, 422, "target"),
    ("PUT", "/api/v1/indicators/INC-REPORTED/target", {"target": [1]}, 422, "target"),
    ("PUT", "/api/v1/indicators/INC-REPORTED/target", {}, 422, "target"),
    ("PUT", "/api/v1/indicators/NOPE/target", {"target": 3}, 404, None),
])
def test_bad_input_is_a_json_4xx(api, method, path, body, status, field):
    response = api.call(method, path, "coordinator", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if field:
        assert field in error["fields"], error


def test_antennas_of_one_commune_and_the_set_aside_list(api):
    answer = api.call("GET", f"/api/v1/indicators/INC-REPORTED/compare?commune=ixelles"
                             f"&from={YEAR}", "coordinator").json()
    assert answer["items"] == [{"antenna": ANTENNA, "n": REPORTS, "value": float(REPORTS),
                                "suppressed": False}]
    assert api.call("GET", "/api/v1/indicators/INC-REPORTED/compare?commune=uccle&from=2026",
                    "coordinator").status_code == 404
    assert api.call("GET", "/api/v1/indicators/set-aside", "coordinator").status_code == 403
    listed = api.call("GET", "/api/v1/indicators/set-aside", "admin").json()
    assert listed["total"] == 0 and listed["events"] >= REPORTS
