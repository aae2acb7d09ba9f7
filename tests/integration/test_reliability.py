"""A killed incidents process during a stream of reports loses and duplicates nothing.

Processes are started one by one (as `make run` does) so the test can SIGKILL the incidents
service in the middle of the stream and start a new one, on the real RabbitMQ and PostgreSQL."""
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from lisa.local import drop_databases, free_port, wait_ready
from services.incidents.models import Incident
from tests.conftest import POSTGRES_ADMIN_URL, ROOT, Api
from tests.integration.test_distributed import GRAFFITI

pytestmark = pytest.mark.integration

REPORTS = 120


class Cluster:
    """One process per service, restarted when it dies, as `make run` (or an orchestrator)
    does."""

    def __init__(self, env, tmp_path):
        self.env, self.tmp_path, self.processes = env, tmp_path, {}
        self.restarts = defaultdict(int)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.supervisor = threading.Thread(target=self.supervise, daemon=True)
        self.supervisor.start()

    def supervise(self):
        while not self.stopping.wait(0.5):
            with self.lock:
                dead = [name for name, p in self.processes.items() if p.poll() is not None]
            for name in dead:
                self.restarts[name] += 1
                self.start(name)

    def cli(self, *args):
        subprocess.run([sys.executable, "-m", "lisa.cli", *args], cwd=ROOT, env=self.env,
                       check=True, capture_output=True)

    def start(self, name):
        log = open(self.tmp_path / f"{name}.log", "a")
        with self.lock:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "lisa.cli", "service", name], cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT)
        port = self.env["LISA_HTTP_PORT"] if name == "gateway" else \
            self.env[f"LISA_{name.upper()}_OPS_PORT"]
        wait_ready(f"http://127.0.0.1:{port}/readyz", self.processes[name])

    def kill(self, name):
        """SIGKILL; the supervisor starts a new one."""
        with self.lock:
            process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait()
        port = self.env["LISA_HTTP_PORT"] if name == "gateway" else \
            self.env[f"LISA_{name.upper()}_OPS_PORT"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self.lock:
                current = self.processes[name]
            if current is not process:
                wait_ready(f"http://127.0.0.1:{port}/readyz", current)
                return
            time.sleep(0.1)
        raise TimeoutError(f"{name} was not restarted")

    def stop_all(self):
        self.stopping.set()
        self.supervisor.join(5)
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def cluster(brokers_available, rabbit_uri, platform_env, tmp_path):
    prefix = f"lisa_rel_{uuid.uuid4().hex[:8]}"
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    env = {**os.environ, "LISA_AMQP_URI": rabbit_uri,
           "LISA_DATABASE_URL": f"{base}/{prefix}_{{service}}",
           "LISA_HTTP_PORT": str(free_port()), "LISA_INCIDENTS_OPS_PORT": str(free_port()),
           "LISA_TAGS_OPS_PORT": str(free_port()), "LISA_REFERRALS_OPS_PORT": str(free_port()),
           "LISA_VAR_DIR": str(tmp_path), "LISA_RPC_TIMEOUT_SECONDS": "15",
           "PYTHONPATH": str(ROOT), **platform_env}
    cluster = Cluster(env, tmp_path)
    cluster.cli("migrate")
    cluster.cli("create-user", "--username", "desk", "--password", "demo", "--role", "desk",
                "--organisation", "antenna_desk")
    try:
        cluster.start("incidents")
        cluster.start("tags")
        cluster.start("gateway")
        yield cluster, Api(f"http://127.0.0.1:{env['LISA_HTTP_PORT']}/"), rabbit_uri, \
            f"{base}/{prefix}_incidents"
    finally:
        cluster.stop_all()
        drop_databases(POSTGRES_ADMIN_URL, prefix)


class EventRecorder:
    """Records every incident_reported event: ticket -> event ids. Reconnects across a broker
    restart; its queue is durable, so nothing published meanwhile is missed."""

    def __init__(self, amqp_uri):
        self.amqp_uri = amqp_uri
        self.seen = defaultdict(set)
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def run(self):
        exchange = Exchange("incidents.events", type="topic", durable=True)
        queue = Queue("reliability-consumer", exchange, routing_key="incident_reported")

        def on_message(body, message):
            self.seen[body["payload"]["ticket"]].add(body["event_id"])
            message.ack()

        while not self.stop.is_set():
            try:
                with Connection(self.amqp_uri) as connection:
                    with connection.Consumer(queue, callbacks=[on_message]):
                        self.ready.set()
                        while not self.stop.is_set():
                            try:
                                connection.drain_events(timeout=0.3)
                            except TimeoutError:
                                pass
            except Exception:  # the broker is restarting
                time.sleep(0.5)

    def wait_for(self, tickets, timeout=60):
        deadline = time.monotonic() + timeout
        while not tickets <= set(self.seen) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.stop.set()
        self.thread.join(5)


def stored_incidents(url):
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        stored = set(connection.scalars(select(Incident.ticket)))
        count = connection.scalar(select(func.count()).select_from(Incident))
    engine.dispose()
    return stored, count


def outbox_rows(url, tickets) -> list:
    """What the outbox says about events a consumer never saw (for the failure message)."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT id, event_type, published_at, attempts, body FROM outbox")).all()
    engine.dispose()
    return [(r.id, r.event_type, r.published_at, r.attempts) for r in rows
            if any(t in r.body for t in tickets)]


def stream_reports(api, during, at=REPORTS // 3):
    outcomes = []
    api.token("desk")

    def report(n):
        response = api.call("POST", "/api/v1/incidents", "desk",
                            json={**GRAFFITI, "description": f"Report {n}"})
        outcomes.append((response.status_code, response.json()))
        if n == at:
            during()

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(report, range(REPORTS)))
    return outcomes


def check_nothing_lost_or_duplicated(outcomes, recorder, incidents_url, minimum_accepted):
    accepted = {body["incident"]["ticket"] for status, body in outcomes if status == 201}
    statuses = sorted(status for status, _ in outcomes)
    assert set(statuses) <= {201, 503}, statuses
    assert len(accepted) >= minimum_accepted, statuses
    stored, count = stored_incidents(incidents_url)
    recorder.wait_for(stored)
    print(f"accepted {len(accepted)} of {REPORTS}, stored {count}, events {len(recorder.seen)}, "
          f"statuses {sorted(set(statuses))}")
    assert accepted <= stored                  # every accepted report was stored
    assert count <= REPORTS                    # no request stored twice
    missing = stored - set(recorder.seen)
    assert not missing, outbox_rows(incidents_url, missing)  # every stored incident was published
    assert all(len(ids) == 1 for ids in recorder.seen.values())  # republished = same event id


def test_killing_the_incidents_process_mid_stream_loses_and_duplicates_nothing(cluster):
    cluster, api, amqp_uri, incidents_url = cluster
    recorder = EventRecorder(amqp_uri)

    outcomes = stream_reports(api, lambda: cluster.kill("incidents"))
    check_nothing_lost_or_duplicated(outcomes, recorder, incidents_url, REPORTS * 0.8)


def rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


def test_a_broker_restart_mid_stream_loses_and_duplicates_nothing(cluster):
    cluster, api, amqp_uri, incidents_url = cluster
    recorder = EventRecorder(amqp_uri)

    def restart_broker():
        try:
            rabbitmqctl("stop_app")
            time.sleep(2)
        finally:
            rabbitmqctl("start_app")
            rabbitmqctl("await_startup")

    outcomes = stream_reports(api, restart_broker)
    check_nothing_lost_or_duplicated(outcomes, recorder, incidents_url, REPORTS * 0.5)
    print(f"processes restarted after dying: {dict(cluster.restarts)}")
