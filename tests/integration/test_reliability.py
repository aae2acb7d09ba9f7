"""A SIGKILLed incidents process, or a RabbitMQ restart, during a stream of reports loses and
duplicates nothing, on the real RabbitMQ and PostgreSQL under `make run` (which starts a service
that died again, as an orchestrator would)."""
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from lisa.local import fresh_keys, rabbitmqctl
from services.incidents.models import Incident
from tests.conftest import eventually
from tests.integration.test_distributed import GRAFFITI

pytestmark = pytest.mark.integration

REPORTS = 120


@pytest.fixture
def platform_env():
    return {**fresh_keys(), "LISA_RPC_TIMEOUT_SECONDS": "15"}


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
        """Until every ticket's event was seen, or `timeout`; the caller says what is missing."""
        try:
            eventually(lambda: tickets <= set(self.seen), timeout=timeout, interval=0.2)
        except AssertionError:
            pass
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


def test_killing_the_incidents_process_mid_stream_loses_and_duplicates_nothing(
        distributed_platform):
    platform = distributed_platform
    recorder = EventRecorder(platform.amqp_uri)

    outcomes = stream_reports(platform.api, lambda: platform.kill("incidents"))
    check_nothing_lost_or_duplicated(outcomes, recorder, platform.database_url("incidents"),
                                     REPORTS * 0.8)


def test_a_broker_restart_mid_stream_loses_and_duplicates_nothing(distributed_platform):
    platform = distributed_platform
    recorder = EventRecorder(platform.amqp_uri)

    def restart_broker():
        try:
            rabbitmqctl("stop_app", timeout=120)
            time.sleep(2)
        finally:
            rabbitmqctl("start_app", timeout=120)
            rabbitmqctl("await_startup", timeout=120)

    outcomes = stream_reports(platform.api, restart_broker)
    check_nothing_lost_or_duplicated(outcomes, recorder, platform.database_url("incidents"),
                                     REPORTS * 0.5)
    print(f"processes restarted after dying: {platform.restarts()}")
