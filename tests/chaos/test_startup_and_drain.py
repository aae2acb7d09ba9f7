"""A service started while the broker or its database is down waits, says so on /readyz, and
connects when they return; SIGTERM lets a service finish its in-flight work before it exits.
On the private broker and database (tests/chaos/private.py), which these tests stop and start."""
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from lisa import demo
from lisa.local import stop_group
from tests.chaos.test_chaos import ChaosDeployment, reports_to_send
from tests.conftest import ANTENNA, ROOT, eventually

pytestmark = pytest.mark.chaos


def readiness(url: str) -> tuple[int, dict] | None:
    try:
        response = requests.get(url, timeout=5)
    except requests.RequestException:
        return None    # not listening yet
    return response.status_code, response.json()


def start_service(deployment: ChaosDeployment, name: str) -> subprocess.Popen:
    """`lisa.cli service NAME`, as `make run` starts each service."""
    return subprocess.Popen([sys.executable, "-m", "lisa.cli", "service", name], cwd=ROOT,
                            env=deployment.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.fixture
def migrated(private_infrastructure):
    base, rabbit, postgres = private_infrastructure
    deployment = ChaosDeployment(base, rabbit, postgres, name=f"s{uuid.uuid4().hex[:6]}")
    deployment.cli("migrate")
    deployment.cli("broker-setup")
    return deployment


@pytest.mark.parametrize("down", ["broker", "database"])
def test_a_service_started_while_a_dependency_is_down_waits_and_says_so(migrated, down):
    deployment = migrated
    stop, start = ((deployment.rabbit.stop_app, deployment.rabbit.start_app) if down == "broker"
                   else (deployment.postgres.stop_only, deployment.postgres.start_again))
    stop()
    process = None
    try:
        process = start_service(deployment, "tags")
        url = deployment.url("tags", "/readyz")
        status, body = eventually(lambda: readiness(url), timeout=120, interval=0.5)
        assert status == 503 and body["ready"] is False
        assert body["checks"][down].startswith("unreachable"), body
        time.sleep(3)   # it keeps waiting: neither exits nor claims to be ready
        assert process.poll() is None
        assert readiness(url)[0] == 503
    finally:
        start()
    status, body = eventually(lambda: (readiness(url) or (0, {}))[0] == 200 and readiness(url),
                              timeout=120, interval=0.5)
    assert body == {"ready": True, "checks": {"database": "ok", "broker": "ok"}}
    assert process.poll() is None
    stop_group(process)


def test_sigterm_lets_in_flight_reports_finish(migrated):
    """Reports stream in while the incidents process gets SIGTERM: it stops taking new work,
    finishes what it holds (answers and outbox), and exits 0; the clients' retries with the same
    key reach the process started after it; nothing is lost or doubled."""
    deployment = migrated
    gateway, incidents = start_service(deployment, "gateway"), start_service(deployment,
                                                                             "incidents")
    processes = [gateway, incidents]
    try:
        deployment.process = gateway   # what wait_ready watches
        deployment.wait_ready(["gateway"])
        deployment.process = incidents
        deployment.wait_ready(["incidents"])
        demo.seed_accounts(deployment.database, ANTENNA)
        token = requests.post(deployment.url("gateway", "/api/v1/auth/token"),
                              json={"username": "desk", "password": "demo"},
                              timeout=30).json()["access_token"]
        reports = reports_to_send(60)
        answers: dict[int, list] = {}
        stopped: list[subprocess.Popen] = []

        def send(n):
            key = f"drain-{n}"
            for _ in range(120):
                try:
                    response = requests.post(
                        deployment.url("gateway", "/api/v1/incidents"), json=reports[n],
                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                        timeout=30)
                except requests.RequestException:
                    time.sleep(0.5)
                    continue
                answers.setdefault(n, []).append(response.status_code)
                if response.status_code == 201:
                    return response.json()["incident"]["ticket"]
                time.sleep(0.5)
            return None

        def terminate_when_busy():
            eventually(lambda: len(answers) >= 15, timeout=120, interval=0.05)
            os.kill(incidents.pid, signal.SIGTERM)
            stopped.append(incidents)

        with ThreadPoolExecutor(8) as pool:
            terminator = pool.submit(terminate_when_busy)
            futures = [pool.submit(send, n) for n in range(len(reports))]
            terminator.result(timeout=180)
            assert incidents.wait(timeout=60) == 0     # drained and stopped, not killed
            restarted = start_service(deployment, "incidents")
            processes.append(restarted)
            tickets = [future.result(timeout=600) for future in futures]
        assert None not in tickets
        assert all(set(statuses) <= {201, 503} for statuses in answers.values()), answers
        rows = deployment.query("incidents", "SELECT request_key, ticket FROM incidents")
        assert len(rows) == len(reports)
        assert {ticket for _, ticket in rows} == set(tickets)
        eventually(lambda: deployment.query(
            "incidents", "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0] == 0,
            timeout=120)
        assert deployment.query("incidents", "SELECT count(*) FROM outbox")[0][0] == len(rows)
    finally:
        for process in processes:
            stop_group(process)
