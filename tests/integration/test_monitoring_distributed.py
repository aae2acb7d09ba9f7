"""The numbers operations watch, as `make run` serves them on RabbitMQ and PostgreSQL with every
service connecting as its own broker user: each service's /metrics (its ops port) carries its
business gauges read from its own PostgreSQL database, its queues' depths read with its own
broker user (a passive declare needs no permission), and the gateway the dead letters'."""
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lisa.local import fresh_keys
from tests.conftest import ANTENNA, eventually
from tests.integration.conftest import cli
from tests.integration.test_distributed import GRAFFITI

pytestmark = pytest.mark.integration


@pytest.fixture
def platform_env(broker_users):
    """Every service connecting as its own broker user, set up by `broker-setup` first."""
    result = cli(broker_users, "broker-setup")
    assert result.returncode == 0, result.stderr
    return {**fresh_keys(), **broker_users}


def samples(page: str) -> list[tuple[str, dict, float]]:
    return [(sample.name, sample.labels, sample.value)
            for family in text_string_to_metric_families(page) for sample in family.samples]


def value(page: str, name: str, **labels) -> float | None:
    found = [v for n, found_labels, v in samples(page)
             if n == name and labels.items() <= found_labels.items()]
    return found[0] if len(found) == 1 else None


def test_each_service_reports_its_numbers_from_its_own_database_and_broker_user(
        distributed_platform):
    platform = distributed_platform
    created = platform.api.call("POST", "/api/v1/incidents", "desk", json=GRAFFITI)
    assert created.status_code == 201, created.text
    category = GRAFFITI["category"]

    incidents = eventually(lambda: (page := platform.metrics("incidents")) and value(
        page, "lisa_incidents_open", service="incidents", antenna=ANTENNA, category=category,
        status="new") == 1 and page)
    assert value(incidents, "lisa_incidents_reported_total", service="incidents",
                 category=category) == 1
    for source in ("database", "broker"):
        assert value(incidents, "lisa_scrape_read_ok", service="incidents", source=source) == 1
    # each process exports only its own service's numbers
    assert {labels["service"] for name, labels, _ in samples(incidents)
            if name.startswith("lisa_") and "service" in labels} == {"incidents"}

    tags = eventually(lambda: (page := platform.metrics("tags")) and value(
        page, "lisa_tags_open_jobs", service="tags", antenna=ANTENNA) == 1 and page)
    assert value(tags, "lisa_scrape_read_ok", service="tags", source="broker") == 1
    queues = {labels["queue"]: v for name, labels, v in samples(tags)
              if name == "lisa_event_queue_consumers"}
    assert queues and all(consumers >= 1 for consumers in queues.values()), queues

    gateway = platform.metrics("gateway")
    assert value(gateway, "lisa_scrape_read_ok", service="gateway", source="broker") == 1
    assert value(gateway, "lisa_dead_letters_waiting", service="gateway",
                 queue="lisa.dead-letter") == 0
    assert value(gateway, "lisa_http_requests_total", service="gateway", method="POST",
                 route="/api/v1/incidents", status="201") == 1
