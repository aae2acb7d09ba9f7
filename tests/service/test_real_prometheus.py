"""A real Prometheus server (Debian's `prometheus` package) scrapes a running embedded platform:
a platform metric reads back through Prometheus' HTTP API, and one of the committed alert rules
(its `for:` shortened to a second) fires when the condition it watches is created: a message
no consumer can decode lands in the dead-letter queue. Outside CI a missing prometheus binary
skips this test; in CI it fails it."""
import shutil
import subprocess

import pytest
import requests
import yaml
from kombu import Connection, Exchange

from lisa.local import free_port, stop_group
from tests.conftest import IN_CI, eventually, running_platform
from tests.unit.test_prometheus_rules import RULES

NOISE = {"category": "noise", "description": "Musique la nuit.", "channel": "desk",
         "location": {"address": "Rue de la Tulipe 12, 1050 Ixelles", "lat": 50.8338,
                      "lon": 4.3703}}


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found:
        return found
    message = "prometheus is not installed (apt-get install prometheus)"
    if IN_CI:
        pytest.fail(message + "; CI must run the real-Prometheus test")
    pytest.skip(message)


def rules_firing_after_a_second(folder) -> list[str]:
    """The committed rule files, each alert's `for:` cut to 1s (a test cannot wait minutes)."""
    written = []
    for path in RULES:
        rules = yaml.safe_load(path.read_text())
        for group in rules["groups"]:
            group["interval"] = "1s"
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "1s"
        copy = folder / path.name
        copy.write_text(yaml.safe_dump(rules))
        written.append(str(copy))
    return written


@pytest.fixture
def prometheus(tmp_path):
    """Start Prometheus against `targets` (host:port) in a temporary folder, on a free port of
    127.0.0.1; yield its base URL."""
    binary = prometheus_binary()
    started = []

    def start(targets: list[str]) -> str:
        port = free_port()
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "rule_files": rules_firing_after_a_second(tmp_path),
                  "scrape_configs": [{"job_name": "lisa-embedded",
                                      "static_configs": [{"targets": targets}]}]}
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        log = open(tmp_path / "prometheus.log", "w")  # noqa: SIM115  (closed below)
        process = subprocess.Popen(
            [binary, f"--config.file={tmp_path / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        started.append((process, log))
        url = f"http://127.0.0.1:{port}"
        eventually(lambda: _ready(url, process), timeout=60, interval=0.2)
        return url

    yield start
    for process, log in started:
        stop_group(process)
        log.close()


def _ready(url: str, process: subprocess.Popen) -> bool:
    assert process.poll() is None, f"prometheus exited with {process.returncode}"
    try:
        return requests.get(f"{url}/-/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def query(url: str, promql: str) -> list[dict]:
    answer = requests.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def firing(url: str) -> dict[str, dict]:
    alerts = requests.get(f"{url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return {alert["labels"]["alertname"]: alert for alert in alerts
            if alert["state"] == "firing"}


def test_prometheus_reads_the_platform_and_an_alert_fires(tmp_path, prometheus):
    with running_platform(tmp_path / "platform") as api:
        for _ in range(2):
            assert api.call("POST", "/api/v1/incidents", "desk", json=NOISE).status_code == 201
        url = prometheus([api.base_url.removeprefix("http://").rstrip("/")])

        # a platform metric, read back through Prometheus' HTTP API
        reported = eventually(lambda: query(
            url, 'lisa_incidents_reported_total{service="incidents", category="noise"}'))
        assert [float(r["value"][1]) for r in reported] == [2.0]
        answered = query(url, 'lisa_http_requests_total{route="/api/v1/incidents", '
                              'method="POST", status="201"}')
        assert [r["metric"]["service"] for r in answered] == ["gateway"]
        assert query(url, 'up{job="lisa-embedded"}')[0]["value"][1] == "1"
        assert "LisaDeadLettersWaiting" not in firing(url)

        # the condition: an event no consumer can decode is dead-lettered, not lost
        with Connection("lisa-memory://localhost/") as connection:
            connection.Producer().publish(
                b"{not json", exchange=Exchange("incidents.events", type="topic",
                                                durable=True),
                routing_key="incident_reported", content_type="application/json",
                content_encoding="utf-8")
        alert = eventually(lambda: firing(url).get("LisaDeadLettersWaiting"), timeout=60,
                           interval=0.5)
        assert alert["labels"]["queue"] == "lisa.dead-letter"
        assert alert["labels"]["service"] == "gateway"
        assert alert["labels"]["severity"] == "warning"
        assert "lisa.cli dlq-list" in alert["annotations"]["description"]
        assert "LisaServiceDown" not in firing(url)
