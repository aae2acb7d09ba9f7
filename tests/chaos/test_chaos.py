"""`make test-chaos` (ADR 33): the platform's promise (DESIGN.md section 3: nothing lost, nothing
applied twice, whatever fails) checked under faults, on a private RabbitMQ node and a private
PostgreSQL cluster that this run may restart (the machine's own are shared).

`lisa.cli run` (every service a process of its own, each restarted when it dies, as `make run`)
serves LISA_CHAOS_REPORTS reports (default 5,000; a share graffiti) sent by clients that retry
503s and broken connections with the same Idempotency-Key, some reports sent twice on purpose.
Meanwhile: RabbitMQ is restarted twice, every service process is SIGKILLed once, PostgreSQL is
restarted once, and poisoned messages are published on the incidents exchange (undecodable,
not an event, forged by another broker user, naming an incident that does not exist).

Then, once the platform has converged, exactly: every accepted report is one incident (by its
key and ticket), every graffiti incident one removal job, no effect twice (history rows,
processed-event claims), every outbox empty, the dead letters only the poisoned messages, and
`lisa.cli dlq-replay` of them changes nothing else. The figures go to bench/chaos_results.md and
.json (the README's Chaos table).
"""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from kombu import Connection, Exchange
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from lisa import demo, platform
from lisa.local import fresh_keys, service_processes, stop_group, wait_ready
from shared import config, events, topology
from shared.db import Database
from tests.chaos import private
from tests.conftest import ANTENNA, ROOT

pytestmark = pytest.mark.chaos

REPORTS = int(os.environ.get("LISA_CHAOS_REPORTS", "5000"))
CLIENTS = int(os.environ.get("LISA_CHAOS_CLIENTS", "8"))
REPEATED_SHARE = 0.05          # reports sent a second time, on purpose, after their 201
CONVERGE_TIMEOUT = float(os.environ.get("LISA_CHAOS_CONVERGE_SECONDS", "300"))
RESULTS = Path(ROOT) / "bench" / "chaos_results"
POISON_MARK = "lisa-chaos-poison"
# Retries of at most 10 s, so those made during the faults settle within the run.
RETRIES = {"LISA_EVENT_RETRY_FIRST_SECONDS": "1", "LISA_EVENT_RETRY_MAX_SECONDS": "10"}


# -- the deployment -------------------------------------------------------------------------------

class ChaosDeployment:
    """`lisa.cli run` on the private broker and database, each service as its own broker user."""

    def __init__(self, base: Path, rabbit: private.PrivateRabbit,
                 postgres: private.PrivatePostgres, name: str = "lisa"):
        """`name`: the vhost and the prefix of the databases of this deployment."""
        from lisa.local import free_port

        self.rabbit, self.postgres, self.base = rabbit, postgres, base / name
        self.base.mkdir()
        base = self.base
        self.ports = {spec.name: free_port() for spec in platform.specs()}
        self.vhost = name
        rabbit.ctl("add_vhost", name)
        rabbit.ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        self.amqp_uri = rabbit.uri.rstrip("/") + f"/{name}"
        env = {**os.environ, **fresh_keys(), "LISA_AMQP_URI": self.amqp_uri,
               "LISA_DATABASE_URL": postgres.database_url(name), "LISA_VAR_DIR": str(base),
               "PYTHONPATH": str(ROOT), "RABBITMQ_NODENAME": rabbit.node,
               "LISA_BROKER_USER_PREFIX": "lisa-", "LISA_LOG_LEVEL": "WARNING",
               **RETRIES,
               "LISA_RPC_TIMEOUT_SECONDS": "10",
               **{platform.port_variable(spec): str(self.ports[spec.name])
                  for spec in platform.specs()}}
        for spec in platform.specs():
            env[config.SERVICE_AMQP_URI.name(spec.name)] = (
                f"pyamqp://{config.BROKER_USER_PREFIX.default}{spec.name}:{uuid.uuid4().hex}"
                f"@127.0.0.1:{rabbit.port}/{name}")
        self.env = env
        self.log_path = base / "platform.log"
        self.process: subprocess.Popen | None = None

    def cli(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "lisa.cli", *args], cwd=ROOT,
                                env=self.env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"lisa.cli {' '.join(args)}: {result.stderr[-3000:]}"
        return result.stdout

    def start(self) -> None:
        self.cli("broker-setup")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([sys.executable, "-m", "lisa.cli", "run"], cwd=ROOT,
                                        env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.wait_ready()
        demo.seed_accounts(self.database, ANTENNA)

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)
            self.log.close()

    def url(self, service: str, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def wait_ready(self, names=None, timeout: float = 180) -> None:
        for name in names or self.ports:
            wait_ready(self.url(name, "/readyz"), self.process, timeout=timeout)

    def database_url(self, service: str) -> str:
        return self.env["LISA_DATABASE_URL"].replace("{service}", service)

    def database(self, service: str) -> Database:
        return Database(platform.spec(service).metadata, service=service).open(
            self.database_url(service))

    def query(self, service: str, sql: str, **params) -> list:
        engine = create_engine(self.database_url(service).replace(
            "postgresql://", "postgresql+psycopg2://"), poolclass=NullPool)
        try:
            with engine.connect() as connection:
                return connection.execute(text(sql), params).all()
        finally:
            engine.dispose()

    def kill(self, service: str) -> None:
        """SIGKILL the process of `service`; return once `lisa.cli run` has started another and
        it is ready."""
        killed = service_processes(self.process.pid)[service]
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while service_processes(self.process.pid).get(service, killed) == killed:
            assert time.monotonic() < deadline, f"{service} was not restarted"
            time.sleep(0.2)
        self.wait_ready([service])

    def restarts(self) -> int:
        return self.log_path.read_text().count("restarting it")


# -- the clients ----------------------------------------------------------------------------------

class Clients:
    """Desk clients reporting through the gateway: each report under its own Idempotency-Key,
    retried with that key on a 503, another 5xx or a broken connection until it is accepted."""

    def __init__(self, deployment: ChaosDeployment, reports: list[dict]):
        self.deployment, self.reports = deployment, reports
        self.keys = [f"chaos-{n:05d}-{uuid.uuid4().hex[:8]}" for n in range(len(reports))]
        self.tickets: dict[str, str] = {}            # key -> ticket answered (first 201)
        self.differing: list[str] = []               # keys answered with another ticket later
        self.statuses: Counter = Counter()           # every answer, by status
        self.connection_errors = 0
        self.repeated = 0
        self.progress = 0
        self.lock = threading.Lock()
        self.token = None

    def login(self) -> None:
        response = requests.post(self.deployment.url(platform.edge().name, "/api/v1/auth/token"),
                                 json={"username": "desk", "password": "demo"}, timeout=30)
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]

    def send(self, session: requests.Session, n: int) -> None:
        key, body = self.keys[n], self.reports[n]
        deadline = time.monotonic() + 240
        delay = 0.2
        while True:
            try:
                response = session.post(
                    self.deployment.url(platform.edge().name, "/api/v1/incidents"), json=body,
                    headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key},
                    timeout=30)
            except requests.RequestException:
                with self.lock:
                    self.connection_errors += 1
                response = None
            if response is not None:
                with self.lock:
                    self.statuses[response.status_code] += 1
                if response.status_code == 201:
                    ticket = response.json()["incident"]["ticket"]
                    with self.lock:
                        earlier = self.tickets.setdefault(key, ticket)
                        if earlier != ticket:
                            self.differing.append(key)
                    return
                assert response.status_code >= 500, (response.status_code, response.text)
            if time.monotonic() > deadline:
                return  # never accepted: counted as such, not as lost
            time.sleep(delay)
            delay = min(delay * 2, 3.0)

    def run(self) -> float:
        """Send every report; returns when the last was answered (monotonic time)."""
        self.login()
        rng = random.Random(14)
        again = set(rng.sample(range(len(self.reports)),
                               int(len(self.reports) * REPEATED_SHARE)))
        local = threading.local()

        def one(n):
            if not hasattr(local, "session"):
                local.session = requests.Session()
            self.send(local.session, n)
            if n in again and self.keys[n] in self.tickets:
                self.send(local.session, n)   # a client that did not see its answer
                with self.lock:
                    self.repeated += 1
            with self.lock:
                self.progress += 1

        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(one, range(len(self.reports))))
        return time.monotonic()


# -- poison ---------------------------------------------------------------------------------------

def graffiti_facts(incident_id: int) -> dict:
    now = datetime.now(UTC)
    return {"incident_id": incident_id, "ticket": f"CHAOS-{incident_id}",
            "category": "graffiti_public", "parent_category": "graffiti", "phenomenon": None,
            "zone": "public_space", "partner": "cellule_tags", "neighbourhood": None,
            "channel": "desk", "reported_at": now, "sla_due_at": now}


def publish_poison(deployment: ChaosDeployment) -> dict:
    """Four poisoned messages on the incidents exchange, routed to every consumer of
    incident_reported; returns their event ids (or marks) by kind."""
    exchange = Exchange(events.exchange_name("incidents"), type="topic", durable=True)
    incidents_uri = deployment.env[config.SERVICE_AMQP_URI.name("incidents")]
    user = config.amqp_user(incidents_uri)

    def envelope(incident_id: int) -> dict:
        return events.build("incidents", "incident_reported", graffiti_facts(incident_id),
                            antenna_id=ANTENNA, correlation_id=POISON_MARK)

    forged, missing = envelope(900_000_001), envelope(900_000_002)
    invalid = {"event_id": str(uuid.uuid4()), "event_type": "incident_reported",
               "source": "incidents", "payload": {"mark": POISON_MARK}}
    with Connection(incidents_uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        producer.publish(f"{POISON_MARK} \x00 not json".encode(), exchange=exchange,
                         routing_key="incident_reported", content_type="application/json",
                         content_encoding="binary", user_id=user, delivery_mode=2)
        producer.publish(invalid, exchange=exchange, routing_key="incident_reported",
                         serializer="json", user_id=user, delivery_mode=2)
        producer.publish(missing, exchange=exchange, routing_key="incident_reported",
                         serializer="json", user_id=user, delivery_mode=2)
    # the operator's user may write anywhere; consumers believe only the owner's
    with Connection(deployment.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(forged, exchange=exchange, routing_key="incident_reported",
                                serializer="json", delivery_mode=2)
    return {"undecodable": POISON_MARK, "invalid": invalid["event_id"],
            "forged": forged["event_id"], "missing_incident": missing["event_id"]}


def consumers_of(source: str, event_type: str) -> list[str]:
    """Every consumer of that event: the handlers that name it, and the services that consume
    every event (the indicators: one batched consumer per publisher)."""
    return [f"{service}.{method}"
            for service, method, handler in topology.handlers_of(platform.service_classes())
            if (handler.source_service, handler.event_type) == (source, event_type)] + \
        [f"{spec.name}.on_{source}_event" for spec in platform.specs()
         if spec.consumes_every_event]


# -- what the broker and the databases hold ------------------------------------------------------

def letters(deployment: ChaosDeployment, parked: bool = False) -> list[dict]:
    from shared.handlers import list_dead_letters

    return list_dead_letters(deployment.amqp_uri, parked=parked)


def queues_idle(deployment: ChaosDeployment) -> bool:
    """No event waiting in any event queue nor in any delay (retry) queue."""
    classes = platform.service_classes()
    names = [queue.name for queue in topology.event_queues(classes)]
    consumers = {service for service, _, _ in topology.handlers_of(classes)}
    names += [topology.delay_queue(service, seconds).name for service in consumers
              for seconds in set(config.event_retry_delays())]
    with Connection(deployment.amqp_uri, connect_timeout=5) as connection:
        channel = connection.default_channel
        for name in names:
            try:
                _, waiting, _ = channel.queue_declare(queue=name, passive=True)
            except Exception:
                channel = connection.channel()   # a delay queue never used: not declared
                continue
            if waiting:
                return False
    return True


def outbox_backlog(deployment: ChaosDeployment) -> dict[str, int]:
    return {spec.name: deployment.query(
        spec.name, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]
        for spec in platform.specs() if "outbox" in spec.metadata.tables}


def figures_of_state(deployment: ChaosDeployment) -> dict:
    """What the services hold that a replay of the dead letters must not change."""
    state = {
        "incidents": deployment.query("incidents", "SELECT count(*) FROM incidents")[0][0],
        "incident_history": deployment.query(
            "incidents", "SELECT count(*) FROM incident_history")[0][0],
        "jobs": deployment.query("tags", "SELECT count(*) FROM jobs")[0][0],
        "job_history": deployment.query("tags", "SELECT count(*) FROM job_history")[0][0],
    }
    for spec in platform.specs():
        if "processed_events" in spec.metadata.tables:
            state[f"{spec.name}.processed_events"] = deployment.query(
                spec.name, "SELECT count(*) FROM processed_events")[0][0]
        if "outbox" in spec.metadata.tables:
            state[f"{spec.name}.outbox"] = deployment.query(
                spec.name, "SELECT count(*) FROM outbox")[0][0]
    return state


def check_indicators(deployment: ChaosDeployment, poison_ids: set) -> str:
    """Indicator counts equal the owning services' counts (issue 14): the indicators' event
    store holds each owner's event exactly once, and the INC-REPORTED projection counts every
    incident. The poison published with the incidents' own credentials (an incident that does
    not exist) is counted there, as ADR 22 says a stolen owner's credential can skew a count:
    it is added to the owner's side, never more."""
    if "indicators" not in platform.names():
        return "skipped: no indicators service registered (lisa/platform.py)"
    counted_poison = sum(deployment.query(
        "indicators", "SELECT count(*) FROM event_store WHERE event_id = :id", id=str(event_id)
    )[0][0] for event_id in poison_ids if event_id)

    def stored(source: str, event_type: str) -> int:
        return deployment.query("indicators", (
            "SELECT count(*) FROM event_store WHERE source = :source AND event_type = :type"),
            source=source, type=event_type)[0][0]

    incidents = deployment.query("incidents", "SELECT count(*) FROM incidents")[0][0]
    jobs = deployment.query("tags", "SELECT count(*) FROM jobs")[0][0]
    assert counted_poison <= 1, f"{counted_poison} poisoned events counted by the indicators"
    projected = deployment.query(
        "indicators", "SELECT coalesce(sum(count), 0) FROM cells WHERE leaf = 'INC-REPORTED'"
    )[0][0]
    figures = {"incident_reported stored": (stored("incidents", "incident_reported"),
                                            incidents + counted_poison),
               "job_created stored": (stored("tags", "job_created"), jobs),
               "INC-REPORTED projected": (int(projected), incidents + counted_poison)}
    mismatches = {name: pair for name, pair in figures.items() if pair[0] != pair[1]}
    assert not mismatches, f"indicators (theirs, the owner's): {mismatches}"
    return f"equal ({incidents} incidents, {jobs} jobs)"


# -- the run --------------------------------------------------------------------------------------

def reports_to_send(count: int) -> list[dict]:
    from bench.pipeline import varied_reports

    return varied_reports(count, seed=2014)


def test_nothing_lost_nothing_doubled_under_faults(private_infrastructure, monkeypatch):
    base, rabbit, postgres = private_infrastructure
    for name, value in RETRIES.items():   # so this process names the same delay queues
        monkeypatch.setenv(name, value)
    deployment = ChaosDeployment(base, rabbit, postgres)
    started = time.monotonic()
    deployment.start()
    print(f"\nchaos: platform ready in {time.monotonic() - started:.0f}s; sending {REPORTS} "
          f"reports with {CLIENTS} clients", flush=True)
    try:
        run_and_check(deployment)
    finally:
        deployment.stop()
        print(deployment.log_path.read_text()[-3000:])


def run_and_check(deployment: ChaosDeployment) -> None:
    clients = Clients(deployment, reports_to_send(REPORTS))
    faults_done, poison = [], {}
    services = platform.names()
    # What happens when, by the share of reports answered.
    plan = [(0.08, "broker", None)]
    plan += [(0.14 + 0.1 * i, "kill", name) for i, name in enumerate(services)]
    plan += [(0.18, "poison", None), (0.35, "postgres", None), (0.55, "broker", None)]
    plan.sort(key=lambda step: step[0])
    errors = []

    def faults():
        for share, kind, name in plan:
            while clients.progress < share * REPORTS and not stop_faults.is_set():
                time.sleep(0.2)
            if stop_faults.is_set():
                return
            at = time.monotonic()
            try:
                if kind == "broker":
                    rabbit_restart(deployment)
                elif kind == "postgres":
                    deployment.postgres.restart()
                elif kind == "kill":
                    deployment.kill(name)
                elif kind == "poison":
                    poison.update(publish_poison(deployment))
            except Exception as exc:  # reported after the run, which must go on
                errors.append(f"{kind} {name or ''}: {exc!r}")
            faults_done.append(f"{kind}{' ' + name if name else ''} at {clients.progress} "
                               f"({time.monotonic() - at:.0f}s)")
            print(f"chaos: {faults_done[-1]}", flush=True)

    stop_faults = threading.Event()
    injector = threading.Thread(target=faults, daemon=True)
    sending = time.monotonic()
    injector.start()
    finished = clients.run()
    injector.join(timeout=600)   # a fault planned late still happens before convergence
    stop_faults.set()
    assert not errors, errors
    assert len(faults_done) == len(plan), faults_done
    deployment.wait_ready()

    # -- convergence
    graffiti_sql = ("SELECT i.id FROM incidents i JOIN categories c ON c.code = i.category_code "
                    "WHERE c.parent_code = 'graffiti'")
    expected_letters = sum(len(consumers_of("incidents", "incident_reported"))
                           for _ in ("undecodable", "invalid", "forged"))

    def converged():
        backlog = outbox_backlog(deployment)
        graffiti = len(deployment.query("incidents", graffiti_sql))
        jobs = deployment.query("tags", "SELECT count(*) FROM jobs "
                                "WHERE incident_id IS NOT NULL")[0][0]
        held = len(letters(deployment))
        return (not any(backlog.values()) and graffiti == jobs and queues_idle(deployment)
                and held >= expected_letters + 1), (backlog, graffiti, jobs, held)

    deadline = time.monotonic() + CONVERGE_TIMEOUT
    while True:
        done, seen = converged()
        if done or time.monotonic() > deadline:
            break
        time.sleep(1)
    converge_seconds = time.monotonic() - finished
    assert done, f"not converged after {CONVERGE_TIMEOUT}s: backlog, graffiti, jobs, letters " \
        f"{seen}"

    # -- exactly
    rows = deployment.query("incidents", "SELECT request_key, ticket, id FROM incidents")
    by_key: dict[str, list] = {}
    for key, ticket, incident_id in rows:
        by_key.setdefault((key or "").split(":", 1)[-1], []).append((ticket, incident_id))
    accepted = clients.tickets
    lost = [key for key in accepted if key not in by_key]
    doubled = [key for key, found in by_key.items() if len(found) > 1]
    wrong_ticket = [key for key, ticket in accepted.items()
                    if key in by_key and by_key[key][0][0] != ticket]
    strangers = [key for key in by_key if key not in set(clients.keys)]
    stored_unanswered = [key for key in by_key if key not in accepted]

    graffiti = {row[0] for row in deployment.query("incidents", graffiti_sql)}
    jobs = Counter(row[0] for row in deployment.query(
        "tags", "SELECT incident_id FROM jobs WHERE incident_id IS NOT NULL"))
    jobs_doubled = [i for i, n in jobs.items() if n > 1]
    jobs_missing = sorted(graffiti - set(jobs))
    jobs_strange = sorted(set(jobs) - graffiti)
    history_twice = deployment.query(
        "incidents", "SELECT incident_id, from_status, to_status, count(*) FROM incident_history "
        "GROUP BY incident_id, from_status, to_status HAVING count(*) > 1")
    job_history_twice = deployment.query(
        "tags", "SELECT job_id, from_status, to_status, count(*) FROM job_history "
        "GROUP BY job_id, from_status, to_status HAVING count(*) > 1")
    jobs_without_creation = deployment.query(
        "tags", "SELECT j.id FROM jobs j WHERE (SELECT count(*) FROM job_history h "
        "WHERE h.job_id = j.id AND h.from_status IS NULL) <> 1")

    held = letters(deployment)
    poison_ids = {poison.get(kind) for kind in ("invalid", "forged", "missing_incident")}
    foreign_letters = [letter for letter in held if letter.get("event_id") not in poison_ids
                       and POISON_MARK not in (letter.get("raw_body") or "")]
    by_kind = Counter(next((kind for kind, mark in poison.items()
                            if mark == letter.get("event_id")
                            or mark in (letter.get("raw_body") or "")), "other")
                      for letter in held)
    indicators = check_indicators(deployment, poison_ids)

    # -- the replay of the dead letters changes nothing else
    before = figures_of_state(deployment)
    replay = deployment.cli("dlq-replay")
    deadline = time.monotonic() + 120
    while (letters(deployment) or len(letters(deployment, parked=True)) < len(held)) \
            and time.monotonic() < deadline:
        time.sleep(1)
    after_held, parked = letters(deployment), letters(deployment, parked=True)
    while not queues_idle(deployment) and time.monotonic() < deadline:
        time.sleep(1)
    after = figures_of_state(deployment)

    figures = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reports": REPORTS, "clients": CLIENTS,
        "sent": REPORTS + clients.repeated,
        "requests": sum(clients.statuses.values()) + clients.connection_errors,
        "accepted": len(accepted),
        "refused_503": clients.statuses.get(503, 0),
        "other_5xx": sum(n for s, n in clients.statuses.items() if s >= 500 and s != 503),
        "statuses": {str(s): n for s, n in sorted(clients.statuses.items())},
        "connection_errors": clients.connection_errors,
        "repeated_on_purpose": clients.repeated,
        "stored": len(rows),
        "stored_unanswered": len(stored_unanswered),
        "duplicates": len(doubled) + len(wrong_ticket) + len(clients.differing),
        "lost": len(lost),
        "graffiti_incidents": len(graffiti), "removal_jobs": sum(jobs.values()),
        "jobs_doubled": len(jobs_doubled), "jobs_missing": len(jobs_missing),
        "effects_twice": len(history_twice) + len(job_history_twice),
        "dead_letters": len(held), "dead_letters_by_kind": dict(by_kind),
        "dead_letters_expected": f">= {expected_letters + 1}",
        "foreign_dead_letters": len(foreign_letters),
        "replay": replay.strip(), "parked_after_replay": len(parked),
        "state_changed_by_replay": {k: (before[k], after[k]) for k in before
                                    if before[k] != after[k]},
        "seconds_sending": round(finished - sending, 1),
        "seconds_to_converge": round(converge_seconds, 1),
        "throughput_per_s": round(len(accepted) / (finished - sending), 1),
        "process_restarts": deployment.restarts(),
        "faults": faults_done, "indicators": indicators,
    }
    write_results(figures)
    print(json.dumps(figures, indent=2))

    assert not lost and not doubled and not wrong_ticket and not clients.differing
    assert not strangers, strangers[:5]
    assert len(accepted) == REPORTS, f"{REPORTS - len(accepted)} reports never accepted"
    assert not jobs_doubled and not jobs_missing and not jobs_strange, \
        (jobs_doubled[:5], jobs_missing[:5], jobs_strange[:5])
    assert not history_twice and not job_history_twice, (history_twice[:5],
                                                         job_history_twice[:5])
    assert not jobs_without_creation, jobs_without_creation[:5]
    assert not any(outbox_backlog(deployment).values())
    assert not foreign_letters, foreign_letters[:3]
    assert by_kind["undecodable"] == by_kind["invalid"] == by_kind["forged"] == \
        len(consumers_of("incidents", "incident_reported")), by_kind
    assert by_kind["missing_incident"] >= 1, by_kind
    assert not after_held and len(parked) == len(held), (after_held, parked)
    assert before == after, figures["state_changed_by_replay"]


def rabbit_restart(deployment: ChaosDeployment) -> None:
    deployment.rabbit.restart()


def write_results(figures: dict) -> None:
    RESULTS.with_suffix(".json").write_text(json.dumps(figures, indent=2) + "\n")
    rows = [("reports sent (incl. repeated on purpose)", figures["sent"]),
            ("HTTP requests (with retries)", figures["requests"]),
            ("accepted (201)", figures["accepted"]),
            ("refused with 503 (then retried)", figures["refused_503"]),
            ("other 5xx (then retried)", f"{figures['other_5xx']} (answers by status: "
             f"{', '.join(f'{k}: {v}' for k, v in figures['statuses'].items())})"),
            ("connection errors (then retried)", figures["connection_errors"]),
            ("stored incidents", figures["stored"]),
            ("duplicates", figures["duplicates"]),
            ("lost", figures["lost"]),
            ("graffiti incidents / removal jobs",
             f"{figures['graffiti_incidents']} / {figures['removal_jobs']}"),
            ("effects applied twice", figures["effects_twice"]),
            ("dead letters (all poisoned)", f"{figures['dead_letters']} "
             f"({', '.join(f'{k} {v}' for k, v in figures['dead_letters_by_kind'].items())})"),
            ("after dlq-replay", f"{figures['parked_after_replay']} parked, state unchanged: "
             f"{not figures['state_changed_by_replay']}"),
            ("seconds sending / to converge",
             f"{figures['seconds_sending']} / {figures['seconds_to_converge']}"),
            ("accepted reports per second under faults", figures["throughput_per_s"]),
            ("service processes restarted", figures["process_restarts"]),
            ("indicators", figures["indicators"])]
    text_rows = "\n".join(f"| {name} | {value} |" for name, value in rows)
    table = (f"Measured {figures['measured_at']} by `make test-chaos` ({figures['reports']} "
             f"reports, {figures['clients']} clients; faults: {'; '.join(figures['faults'])})."
             f"\n\n| figure | value |\n|---|---|\n{text_rows}\n")
    RESULTS.with_suffix(".md").write_text(table)
    show_in_readme(table)


def show_in_readme(table: str) -> None:
    """The README's Chaos section shows bench/chaos_results.md between its markers."""
    readme_path = Path(ROOT) / "README.md"
    readme = readme_path.read_text()
    start, end = "<!-- chaos:start -->", "<!-- chaos:end -->"
    if start in readme and end in readme:
        head, rest = readme.split(start, 1)
        readme_path.write_text(f"{head}{start}\n{table}{end}{rest.split(end, 1)[1]}")
