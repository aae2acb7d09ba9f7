"""The metrics of a running embedded platform follow the conventions of shared/metrics.py
(docs/adr/0024): a `service` label on every platform metric, routes in OpenAPI form, an HTTP
latency histogram, business numbers read from each service's database at scrape time (so a
restart does not reset them), and the broker's queues (consumer lag, dead letters)."""
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ANTENNA, eventually, running_platform

GRAFFITI = {
    "category": "graffiti_public", "description": "Tags sur la facade.", "channel": "desk",
    "location": {"address": "Rue de la Tulipe 12, 1050 Ixelles", "lat": 50.8338, "lon": 4.3703},
}
NOISE = {**GRAFFITI, "category": "noise", "description": "Musique la nuit."}


def scrape(api) -> dict[str, list]:
    """The /metrics page as {sample name: [(labels, value), ...]}."""
    page = api.call("GET", "/metrics")
    assert page.status_code == 200
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(page.text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(samples: dict, name: str, **labels) -> float | None:
    matching = [v for found, v in samples.get(name, []) if labels.items() <= found.items()]
    assert len(matching) <= 1, f"{name} {labels}: {matching}"
    return matching[0] if matching else None


def test_every_platform_metric_follows_the_conventions(tmp_path):
    with running_platform(tmp_path) as api:
        # process-wide counters: earlier tests in this process may have counted these routes
        before = scrape(api)
        created = api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI)
        assert created.status_code == 201, created.text
        incident_id = created.json()["incident"]["id"]
        assert api.call("GET", f"/api/v1/incidents/{incident_id}", "coordinator"
                        ).status_code == 200
        assert api.call("GET", "/api/v1/incidents/999999", "coordinator").status_code == 404
        assert api.call("GET", "/open311/v2/services.json").status_code == 200
        # the tags service makes the removal job from the event
        eventually(lambda: value(scrape(api), "lisa_tags_open_jobs", antenna=ANTENNA))
        samples = scrape(api)

    lisa = {name: found for name, found in samples.items() if name.startswith("lisa_")}
    assert lisa
    for name, found in lisa.items():
        for labels, _ in found:
            assert labels.get("service"), f"{name} {labels} has no service label"
    for name, found in samples.items():
        for labels, _ in found:
            assert "<" not in labels.get("route", ""), f"{name}: route {labels['route']}"

    # the HTTP edge: one series per OpenAPI route, a latency histogram beside the counter
    def counted(name, **labels):
        return (value(samples, name, **labels) or 0) - (value(before, name, **labels) or 0)

    route = "/api/v1/incidents/{key}"
    assert counted("lisa_http_requests_total", service="gateway", method="GET",
                   route=route, status="200") == 1
    assert counted("lisa_http_requests_total", service="gateway", method="GET",
                   route=route, status="404") == 1
    assert counted("lisa_http_request_duration_seconds_count", service="gateway",
                   method="GET", route=route) == 2
    assert counted("lisa_http_request_duration_seconds_bucket", service="gateway",
                   method="GET", route=route, le="+Inf") == 2

    assert counted("lisa_http_requests_total", service="gateway", method="GET",
                   route="/open311/v2/services.{fmt}", status="200") == 1
    assert counted("lisa_http_request_duration_seconds_count", service="gateway",
                   method="GET", route="/open311/v2/services.{fmt}") == 1

    # business numbers, each from its own service's database
    assert value(samples, "lisa_incidents_open", service="incidents", antenna=ANTENNA,
                 category="graffiti_public", status="new") == 1
    assert value(samples, "lisa_incidents_reported_total", service="incidents",
                 antenna=ANTENNA, category="graffiti_public") == 1
    assert value(samples, "lisa_tags_open_jobs", service="tags", antenna=ANTENNA) == 1
    assert value(samples, "lisa_tags_backlog_m2", service="tags", antenna=ANTENNA) > 0
    for source in (("incidents", "database"), ("tags", "database"), ("referrals", "database"),
                   ("incidents", "broker"), ("tags", "broker"), ("gateway", "broker")):
        assert value(samples, "lisa_scrape_read_ok", service=source[0], source=source[1]) == 1

    # the broker: every consumer's queue, and the letters waiting for an operator
    queues = {labels["queue"] for labels, _ in samples["lisa_event_queue_messages"]
              if labels["service"] == "tags"}
    assert any("incident_reported" in queue for queue in queues), queues
    assert value(samples, "lisa_dead_letters_waiting", service="gateway",
                 queue="lisa.dead-letter") == 0
    assert value(samples, "lisa_dead_letters_waiting", service="gateway",
                 queue="lisa.parked") == 0


def test_business_counters_survive_a_restart(tmp_path):
    with running_platform(tmp_path) as api:
        for report in (GRAFFITI, NOISE, NOISE):
            assert api.call("POST", "/api/v1/incidents", "desk", json=report).status_code == 201
        before = scrape(api)
    assert value(before, "lisa_incidents_reported_total", category="noise") == 2

    with running_platform(tmp_path) as api:   # the same database, a new process's registry
        after = scrape(api)
    assert value(after, "lisa_incidents_reported_total", category="noise") == 2
    assert value(after, "lisa_incidents_reported_total", category="graffiti_public") == 1
    assert value(after, "lisa_incidents_open", category="noise", status="new") == 2
