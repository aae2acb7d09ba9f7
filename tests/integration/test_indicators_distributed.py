"""Indicators under `make run` on the real RabbitMQ and PostgreSQL: incidents, a graffiti job and
referrals driven through their own services' APIs reach the indicators service over the bus, and
its figures are exactly what was done; `lisa.cli indicators-rebuild` then gives the same
figures."""
from datetime import UTC, datetime

import pytest

from shared.calendar import BRUSSELS
from tests.conftest import eventually

pytestmark = pytest.mark.integration

MONTH = datetime.now(BRUSSELS).strftime("%Y-%m")
YEAR = MONTH[:4]
GRAFFITI = {"category": "graffiti_public", "description": "Tags sur l'abribus.",
            "channel": "desk",
            "location": {"address": "Rue de la Tulipe 12, 1050 Ixelles", "lat": 50.8338,
                         "lon": 4.3703, "neighbourhood": "Tulipe"}}
NOISE = {"category": "noise", "description": "Musique forte la nuit.", "channel": "phone",
         "location": {"address": "Rue Malibran 40, 1050 Ixelles", "lat": 50.8300,
                      "lon": 4.3735, "neighbourhood": "Flagey"}}
REFERRAL = {"receiver_service": "addiction_outreach", "subject": "person", "reason": "addiction",
            "urgency": "normal", "message": "Accompagnement.", "client_key": "SW-IT",
            "identity": {"name": "Anonyme"}}


def series(api, code, start=MONTH, **query):
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    response = api.call("GET", f"/api/v1/indicators/{code}/series?from={start}{extra}",
                        "coordinator")
    assert response.status_code == 200, response.text
    return response.json()["points"]


def figures(api):
    return {code: series(api, code, start) for code, start in (
        ("INC-REPORTED", MONTH), ("INC-DESK-REQUESTS", MONTH), ("TAG-M2-REMOVED", MONTH),
        ("TAG-REMOVAL-MEDIAN", MONTH), ("INC-RESOLUTION-MEDIAN", MONTH), ("REF-SENT", MONTH),
        ("REF-SUCCESS-RATE", YEAR))}


def test_indicators_count_what_the_services_did(distributed_platform):
    api = distributed_platform.api
    incidents = [api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI).json()["incident"]
                 for _ in range(5)]
    assert api.call("POST", "/api/v1/incidents", "desk", json=NOISE).status_code == 201

    # one graffiti job scheduled and done: its incident resolves; the coordinator closes it
    first = incidents[0]["id"]
    [job] = eventually(lambda: api.call("GET", f"/api/v1/tag-jobs?incident_id={first}",
                                        "tags").json()["items"])
    today = datetime.now(BRUSSELS).date().isoformat()
    assert api.call("POST", "/api/v1/tag-crew", "coordinator",        # a deployment starts
                    json={"name": "Karim"}).status_code == 201         # with no crew
    path = f"/api/v1/tag-jobs/{job['id']}"
    assert api.call("POST", f"{path}/schedule", "coordinator",
                    json={"date": today, "crew": ["Karim"]}).status_code == 200
    done = api.call("POST", f"{path}/complete", "tags", json={
        "removed_m2": 3.5, "method": "chemical", "minutes_spent": 40, "crew": ["Karim"]})
    assert done.status_code == 200, done.text
    eventually(lambda: api.call("GET", f"/api/v1/incidents/{first}",
                                "coordinator").json()["status"] == "resolved")
    closed = api.call("POST", f"/api/v1/incidents/{first}/status", "coordinator",
                      json={"status": "closed"})
    assert closed.status_code == 200, closed.text

    # five referrals, three closed as successful and two not
    for n in range(5):
        sent = api.call("POST", "/api/v1/referrals", "streetworker", json={
            **REFERRAL, "consent": {"kind": "written",
                                    "given_at": datetime.now(UTC).isoformat()}})
        assert sent.status_code == 201, sent.text
        for action, payload in (("accept", {}), ("contact-made", {}),
                                ("close", {"outcome": "successful" if n < 3 else
                                           "unsuccessful"})):
            response = api.call("POST", f"/api/v1/referrals/{sent.json()['id']}/{action}",
                                "addiction", json=payload)
            assert response.status_code == 200, response.text

    def point(value, n=None):
        return {"period": MONTH, "n": value if n is None else n, "value": float(value),
                "suppressed": False}

    suppressed = {"period": MONTH, "n": "<5", "value": None, "suppressed": True}
    expected = {
        "INC-REPORTED": [point(6)],
        "INC-DESK-REQUESTS": [point(5)],
        "TAG-M2-REMOVED": [point(3.5, n=1)],             # m2 identify no one: not suppressed
        "TAG-REMOVAL-MEDIAN": [suppressed],              # one job: its duration is withheld
        "INC-RESOLUTION-MEDIAN": [suppressed],
        "REF-SENT": [point(5)],
        "REF-SUCCESS-RATE": [{"period": YEAR, "n": 5, "value": 60.0, "suppressed": False}],
    }
    eventually(lambda: figures(api) == expected, timeout=60)
    assert {p["neighbourhood"]: p["n"] for p in series(api, "INC-REPORTED",
                                                        group_by="neighbourhood")} == \
        {"Tulipe": 5, "Flagey": "<5"}

    rebuilt = distributed_platform.cli("indicators-rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "indicators: projections rebuilt" in rebuilt.stdout
    assert figures(api) == expected
    metrics = distributed_platform.metrics("indicators")
    assert 'outcome="processed",service="indicators"' in metrics
