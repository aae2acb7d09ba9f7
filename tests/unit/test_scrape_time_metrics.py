"""Numbers read when Prometheus scrapes (shared/metrics.py): the service label, families
exported before their first row, a failed read reported rather than raised, one collector per
service and source, and routes in OpenAPI form."""
from prometheus_client import generate_latest

from shared import metrics
from shared.http import openapi_path

OPEN = metrics.Family("lisa_test_open", "Open things.", ("antenna", "status"))
DONE = metrics.Family("lisa_test_done_total", "Things done.", ("antenna",), kind="counter")


def page() -> str:
    return generate_latest().decode()


def test_readings_carry_the_service_label_and_empty_families_are_declared():
    collector = metrics.register_scrape_time("testsvc", "database", lambda: [
        OPEN.rows([("tulipe", "new", 3), ("tulipe", "triaged", None)]), DONE.rows([])])
    try:
        text = page()
        assert 'lisa_test_open{antenna="tulipe",service="testsvc",status="new"} 3.0' in text
        assert 'lisa_test_open{antenna="tulipe",service="testsvc",status="triaged"} 0.0' in text
        assert "# TYPE lisa_test_done_total counter" in text   # no rows yet, still declared
        assert 'lisa_scrape_read_ok{service="testsvc",source="database"} 1.0' in text
    finally:
        metrics.unregister_scrape_time(collector)
    assert "lisa_test_open" not in page()


def test_a_failed_read_is_reported_not_raised():
    def broken():
        raise ConnectionError("database away")

    collector = metrics.register_scrape_time("testsvc", "broker", broken)
    try:
        text = page()   # the scrape itself succeeds
        assert 'lisa_scrape_read_ok{service="testsvc",source="broker"} 0.0' in text
        assert "lisa_entrypoint_calls_total" in text or "lisa_outbox_backlog" in text
    finally:
        metrics.unregister_scrape_time(collector)


def test_a_service_started_again_replaces_its_collector():
    first = metrics.register_scrape_time("testsvc", "database", lambda: [OPEN.value(1, "a", "x")])
    second = metrics.register_scrape_time("testsvc", "database", lambda: [OPEN.value(2, "a", "x")])
    try:
        assert 'lisa_test_open{antenna="a",service="testsvc",status="x"} 2.0' in page()
        metrics.unregister_scrape_time(first)   # the old one's stop must not remove the new
        assert 'lisa_test_open{antenna="a",service="testsvc",status="x"} 2.0' in page()
    finally:
        metrics.unregister_scrape_time(second)
    assert "lisa_test_open" not in page()


def test_routes_are_labelled_in_openapi_form():
    assert openapi_path("/api/v1/incidents/<key>") == "/api/v1/incidents/{key}"
    assert openapi_path("/api/v1/tag-jobs/<int:job_id>/complete") == \
        "/api/v1/tag-jobs/{job_id}/complete"
    assert openapi_path("/api/v1/incidents") == "/api/v1/incidents"
    assert openapi_path("/open311/v2/requests/<service_request_id>.<any(json, xml):fmt>") == \
        "/open311/v2/requests/{service_request_id}.{fmt}"
