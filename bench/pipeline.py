"""`make bench`: the report pipeline under `make run` on the real RabbitMQ and PostgreSQL,
next to raw kombu publish/consume on the same broker, plus resident memory of each process and
of the embedded demo. Writes bench/results.md (the README shows it) and bench/results.json.

HTTP POST /api/v1/incidents -> gateway -> RPC -> incidents (insert + outbox, one transaction)
-> relay (publisher confirms) -> RabbitMQ -> a consumer in this process.
"""
import json
import os
import platform as host_platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests
from kombu import Connection, Exchange, Queue

from lisa import platform
from lisa.local import (
    drop_databases,
    free_port,
    fresh_keys,
    service_processes,
    stop_group,
    wait_ready,
)

ROOT = Path(__file__).resolve().parent.parent
AMQP_URI = os.environ.get("LISA_BENCH_AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672//")
PG_BASE = os.environ.get("LISA_BENCH_POSTGRES", "postgresql+psycopg2://127.0.0.1:5432")
REPORTS = int(os.environ.get("LISA_BENCH_REPORTS", "1500"))
CLIENTS = int(os.environ.get("LISA_BENCH_CLIENTS", "8"))
RAW_MESSAGES = int(os.environ.get("LISA_BENCH_RAW_MESSAGES", "20000"))

REPORT = {"category": "graffiti_public", "description": "Tags sur l'abribus (benchmark).",
          "channel": "desk", "location": {"address": "Rue de la Tulipe 12, 1050 Ixelles",
                                          "lat": 50.8338, "lon": 4.3703}}


def varied_reports(count: int, seed: int = 1050) -> list[dict]:
    """Reports spread over the demo's streets and categories, as a real week would be."""
    import random

    from services.incidents.demo import DESCRIPTIONS, STREETS, WEIGHTS

    rng = random.Random(seed)
    codes, weights = zip(*WEIGHTS.items(), strict=True)
    reports = []
    for _ in range(count):
        code = rng.choices(codes, weights)[0]
        street, neighbourhood, lat, lon = rng.choice(STREETS)
        reports.append({
            "category": code, "description": rng.choice(DESCRIPTIONS[code]), "channel": "desk",
            "location": {"address": f"{street} {rng.randint(1, 120)}, 1050 Ixelles",
                         "lat": round(lat + rng.uniform(-0.002, 0.002), 6),
                         "lon": round(lon + rng.uniform(-0.002, 0.002), 6),
                         "neighbourhood": neighbourhood}})
    return reports


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- raw kombu on the same broker ------------------------------------------------------------

def raw_kombu() -> dict:
    exchange = Exchange("lisa.bench.raw", type="topic", durable=False, auto_delete=True)
    queue = Queue(f"lisa.bench.raw.{uuid.uuid4().hex[:6]}", exchange, routing_key="#",
                  durable=False, auto_delete=False)
    body = {"event_id": str(uuid.uuid4()), "payload": {"incident_id": 1, "ticket": "x" * 16}}
    results = {}
    with Connection(AMQP_URI) as connection:
        bound = queue(connection.default_channel)
        bound.declare()
        producer = connection.Producer(serializer="json")
        started = time.perf_counter()
        for _ in range(RAW_MESSAGES):
            producer.publish(body, exchange=exchange, routing_key="bench")
        results["raw_publish_per_s"] = RAW_MESSAGES / (time.perf_counter() - started)
        received = 0

        def on_message(body, message):
            nonlocal received
            received += 1
            message.ack()

        started = time.perf_counter()
        with connection.Consumer(bound, callbacks=[on_message], prefetch_count=200):
            while received < RAW_MESSAGES:
                connection.drain_events(timeout=10)
        results["raw_consume_per_s"] = RAW_MESSAGES / (time.perf_counter() - started)
        bound.delete()
    confirmed = 2000
    with Connection(AMQP_URI, transport_options={"confirm_publish": True}) as connection:
        bound = queue(connection.default_channel)
        bound.declare()
        producer = connection.Producer(serializer="json")
        started = time.perf_counter()
        for _ in range(confirmed):
            producer.publish(body, exchange=exchange, routing_key="bench")
        results["raw_confirmed_publish_per_s"] = confirmed / (time.perf_counter() - started)
        bound.delete()
    return results


# -- the platform under `make run` ---------------------------------------------------------

class EventClock:
    """Consumes incident_reported events and notes when each ticket arrived."""

    def __init__(self):
        self.arrived: dict[str, float] = {}
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        exchange = Exchange("incidents.events", type="topic", durable=True)
        queue = Queue(f"lisa.bench.events.{uuid.uuid4().hex[:6]}", exchange,
                      routing_key="incident_reported", durable=False, auto_delete=True)
        with Connection(AMQP_URI) as connection:
            def on_message(body, message):
                self.arrived[body["payload"]["ticket"]] = time.perf_counter()
                message.ack()

            with connection.Consumer(queue, callbacks=[on_message], prefetch_count=500):
                self.ready.set()
                while not self.stop.is_set():
                    try:
                        connection.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass


def start_distributed(tmp: Path, prefix: str):
    """`make run` of every registered service, each at a free port."""
    ports = {spec.name: free_port() for spec in platform.specs()}
    env = {**os.environ, "LISA_AMQP_URI": AMQP_URI,
           "LISA_DATABASE_URL": f"{PG_BASE}/{prefix}_{{service}}",
           **{platform.port_variable(spec): str(ports[spec.name]) for spec in platform.specs()},
           "LISA_VAR_DIR": str(tmp), "LISA_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT),
           **fresh_keys()}
    log = open(tmp / "run.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "lisa.cli", "run"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    for port in ports.values():
        wait_ready(f"http://127.0.0.1:{port}/readyz", process)
    subprocess.run([sys.executable, "-m", "lisa.cli", "create-user", "--username", "bench",
                    "--password", "bench", "--role", "desk", "--organisation", "antenna_desk"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    return process, f"http://127.0.0.1:{ports[platform.edge().name]}"


def pipeline(base: str, pids: dict[str, int]) -> dict:
    session = requests.Session()
    token = session.post(f"{base}/api/v1/auth/token",
                         json={"username": "bench", "password": "bench"}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    clock = EventClock()
    clock.thread.start()
    clock.ready.wait(10)
    local = threading.local()
    reports = varied_reports(REPORTS + 20)

    def one(index):
        client = getattr(local, "session", None) or requests.Session()
        local.session = client
        sent = time.perf_counter()
        response = client.post(f"{base}/api/v1/incidents", json=reports[index],
                               headers=headers, timeout=60)
        answered = time.perf_counter()
        assert response.status_code == 201, response.text
        return response.json()["incident"]["ticket"], sent, answered

    for warm_up in range(REPORTS, REPORTS + 20):
        one(warm_up)
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        calls = list(pool.map(one, range(REPORTS)))
    answered_all = time.perf_counter()
    deadline = time.monotonic() + 60
    tickets = {ticket for ticket, _, _ in calls}
    while not tickets <= set(clock.arrived) and time.monotonic() < deadline:
        time.sleep(0.05)
    clock.stop.set()
    cpu_ms = {name: (cpu_seconds(pid) - cpu_before[name]) * 1000 / REPORTS
              for name, pid in pids.items()}
    missing = len(tickets - set(clock.arrived))
    last_event = max(clock.arrived[t] for t in tickets if t in clock.arrived)
    http_ms = [(answered - sent) * 1000 for _, sent, answered in calls]
    e2e_ms = [(clock.arrived[t] - sent) * 1000 for t, sent, _ in calls if t in clock.arrived]
    return {
        "reports": REPORTS, "clients": CLIENTS, "events_missing": missing,
        "http_reports_per_s": REPORTS / (answered_all - started),
        "pipeline_reports_per_s": REPORTS / (last_event - started),
        "http_p50_ms": percentile(http_ms, 50), "http_p95_ms": percentile(http_ms, 95),
        "http_p99_ms": percentile(http_ms, 99),
        "e2e_p50_ms": percentile(e2e_ms, 50), "e2e_p95_ms": percentile(e2e_ms, 95),
        "e2e_p99_ms": percentile(e2e_ms, 99), "e2e_mean_ms": statistics.fmean(e2e_ms),
        "cpu_ms_per_report": cpu_ms,
    }


def embedded_rss(tmp: Path) -> float:
    port = free_port()
    env = {**os.environ, "LISA_VAR_DIR": str(tmp / "embedded"), "LISA_HTTP_PORT": str(port),
           "LISA_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    env.pop("LISA_AMQP_URI", None)
    env.pop("LISA_DATABASE_URL", None)
    log = open(tmp / "demo.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "lisa.cli", "demo"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        token = requests.post(f"http://127.0.0.1:{port}/api/v1/auth/token",
                              json={"username": "desk", "password": "demo"}
                              ).json()["access_token"]
        for _ in range(200):
            requests.post(f"http://127.0.0.1:{port}/api/v1/incidents", json=REPORT,
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
        return rss_mib(process.pid)
    finally:
        stop_group(process)


def write(results: dict) -> str:
    r = results
    rows = [
        ("raw kombu publish (no confirm), msg/s", f"{r['raw_publish_per_s']:,.0f}"),
        ("raw kombu publish with confirm, msg/s", f"{r['raw_confirmed_publish_per_s']:,.0f}"),
        ("raw kombu consume, msg/s", f"{r['raw_consume_per_s']:,.0f}"),
        (f"HTTP reports answered, req/s ({r['clients']} clients)",
         f"{r['http_reports_per_s']:,.0f}"),
        ("reports through to the event on the broker, /s", f"{r['pipeline_reports_per_s']:,.0f}"),
        ("HTTP latency p50 / p95 / p99, ms",
         f"{r['http_p50_ms']:.1f} / {r['http_p95_ms']:.1f} / {r['http_p99_ms']:.1f}"),
        ("report -> event on broker p50 / p95 / p99, ms",
         f"{r['e2e_p50_ms']:.1f} / {r['e2e_p95_ms']:.1f} / {r['e2e_p99_ms']:.1f}"),
        ("events missing", f"{r['events_missing']} of {r['reports']}"),
    ] + [(f"CPU per report in the {name} process, ms", f"{ms:.1f}")
         for name, ms in r["cpu_ms_per_report"].items()] + \
        [(f"RSS {name}, MiB", f"{mib:.0f}") for name, mib in r["rss_mib"].items()]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    text_out = (f"Measured {r['measured_at']} on {r['machine']}, `make run` on RabbitMQ and "
                f"PostgreSQL ({r['reports']} reports, {r['clients']} concurrent clients).\n\n"
                f"| measure | value |\n|---|---|\n{table}\n")
    (ROOT / "bench" / "results.md").write_text(text_out)
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start in readme and end in readme:
        head, rest = readme.split(start, 1)
        (ROOT / "README.md").write_text(f"{head}{start}\n{text_out}{end}{rest.split(end, 1)[1]}")
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return text_out


def main():
    results = {"measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
               "machine": f"{os.cpu_count()} cores, Python {host_platform.python_version()}"}
    print("raw kombu ...", flush=True)
    results.update(raw_kombu())
    prefix = f"lisa_bench_{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("platform (make run) ...", flush=True)
        process, base = start_distributed(tmp, prefix)
        try:
            pids = service_processes(process.pid)
            results.update(pipeline(base, pids))
            results["rss_mib"] = {f"{name} process": rss_mib(pid) for name, pid in pids.items()}
        finally:
            stop_group(process)
            drop_databases(f"{PG_BASE}/postgres", prefix)
        print("embedded demo ...", flush=True)
        results["rss_mib"]["embedded demo (one process)"] = embedded_rss(tmp)
    print(write(results))


if __name__ == "__main__":
    main()
