"""`make bench`: the report pipeline under `make run` on the real RabbitMQ and PostgreSQL, side by
side in the same run with the reference pipeline (a bare three-process nameko pipeline of the
same shape, kept outside the repository: LISA_BENCH_REFERENCE, by default
../shared/bench-reference relative to the project), plus raw kombu on the same broker and the
resident memory of each process and of the embedded demo. Writes bench/results.md (the README
shows it) and bench/results.json.

What is timed, for both pipelines alike: from the moment a report is sent to the gateway (open
loop: the moment it was due) to the row its consumer writes: the removal job in the tags service
for the platform (every benchmark report is graffiti), the pb_tags row for the reference.

    platform:  HTTP POST /api/v1/incidents -> gateway -> RPC -> incidents (incident + outbox, one
               transaction) -> relay (confirms) -> incident_reported -> tags (reads the incident
               back, job + its outbox, one transaction)
    reference: HTTP POST /incidents -> gateway -> RPC -> insert + outbox -> relay (confirms)
               -> event -> consumer insert

Absolute figures on a shared machine move from hour to hour, so the targets are ratios to the
reference measured minutes apart; each closed-loop measure is repeated (LISA_BENCH_ROUNDS) with
the two pipelines alternating, and the median is reported.
"""
import http.client
import json
import os
import platform as host_platform
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from kombu import Connection, Exchange, Queue
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from lisa import platform
from lisa.local import (
    drop_databases,
    free_port,
    fresh_keys,
    rabbitmqctl,
    service_processes,
    stop_group,
    wait_ready,
)

ROOT = Path(__file__).resolve().parent.parent
AMQP_URI = os.environ.get("LISA_BENCH_AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672//")
PG_BASE = os.environ.get("LISA_BENCH_POSTGRES", "postgresql+psycopg2://127.0.0.1:5432")
REFERENCE = Path(os.environ.get("LISA_BENCH_REFERENCE", str(ROOT / ".." / "shared" /
                                                            "bench-reference"))).resolve()
REPORTS = int(os.environ.get("LISA_BENCH_REPORTS", "1000"))
CLIENTS = int(os.environ.get("LISA_BENCH_CLIENTS", "8"))
ROUNDS = int(os.environ.get("LISA_BENCH_ROUNDS", "3"))
RATES = [int(r) for r in os.environ.get("LISA_BENCH_RATES", "25,50,100,200").split(",") if r]
OPEN_SECONDS = float(os.environ.get("LISA_BENCH_OPEN_SECONDS", "8"))
RAW_MESSAGES = int(os.environ.get("LISA_BENCH_RAW_MESSAGES", "20000"))
BASELINE = os.environ.get("LISA_BENCH_BASELINE")  # another checkout, measured beside this one
DRAIN_SECONDS = 180  # a pipeline that has not written every row by then has lost some

REPORT = {"category": "graffiti_public", "description": "Tags sur l'abribus (benchmark).",
          "channel": "desk", "location": {"address": "Rue de la Tulipe 12, 1050 Ixelles",
                                          "lat": 50.8338, "lon": 4.3703}}
TARGETS = {"throughput_ratio": 1.0, "cpu_ratio": 1.5, "p99_ratio": 2.0, "p99_at_50_ms": 250,
           "service_rss_mib": 120, "embedded_rss_mib": 250}


def varied_reports(count: int, seed: int = 1050) -> list[dict]:
    """Graffiti reports (each makes a removal job) spread over the demo's streets, as a real
    week's would be."""
    import random

    from services.incidents.demo import DESCRIPTIONS, STREETS, WEIGHTS

    rng = random.Random(seed)
    graffiti = {code: weight for code, weight in WEIGHTS.items() if code.startswith("graffiti")}
    codes, weights = zip(*graffiti.items(), strict=True)
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


# -- the two pipelines under test --------------------------------------------------------------

class Pipeline:
    """One pipeline under load: where to POST, what to send, and when each report's consumer
    row was written."""
    name = ""
    port = 0
    path = ""
    pids: dict[str, int] = {}

    def headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json"}

    def body(self, index: int) -> bytes:
        raise NotImplementedError

    def key(self, answer: dict) -> str:
        raise NotImplementedError

    def rows_written(self, keys: list[str]) -> dict[str, float]:
        """{key: wall time its consumer row was written} for those written so far."""
        raise NotImplementedError


class Reference(Pipeline):
    """The reference's own three nameko processes, run from its folder with its config."""
    name = "reference"
    port = 8765
    path = "/incidents"

    def __init__(self, tmp: Path):
        if not (REFERENCE / "pipeline_svc.py").is_file():
            raise SystemExit(f"no reference pipeline at {REFERENCE} (LISA_BENCH_REFERENCE)")
        admin = create_engine(f"{PG_BASE}/postgres", poolclass=NullPool,
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:   # its README's one-time setup
            if not connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = 'pb'")).first():
                connection.execute(text("CREATE ROLE pb LOGIN PASSWORD 'pb'"))
            if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = 'pb'")
                                      ).first():
                connection.execute(text("CREATE DATABASE pb OWNER pb"))
        admin.dispose()
        env = {**os.environ, "PSYCOPG_WAIT_FUNC": "wait_select"}
        bin_dir = Path(sys.executable).parent
        subprocess.run([sys.executable, "pipeline_svc.py"], cwd=REFERENCE, env=env, check=True)
        self.processes = {}
        for service, cls in (("gateway", "Gateway"), ("incidents", "Incidents"),
                             ("tags", "Tags")):
            log = open(tmp / f"reference_{service}.log", "w")
            self.processes[service] = subprocess.Popen(
                [str(bin_dir / "nameko"), "run", "--config", "config.yaml",
                 f"pipeline_svc:{cls}"], cwd=REFERENCE, env=env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.pids = {service: p.pid for service, p in self.processes.items()}
        # the reference's own database and role (its pipeline_svc.py)
        self.db = create_engine("postgresql+psycopg2://pb:pb@127.0.0.1:5432/pb",
                                poolclass=NullPool)
        self.payload = json.dumps({"incident_id": 123456, "severity": "high",
                                   "pad": "x" * 200}).encode()
        deadline = time.monotonic() + 60
        while True:   # ready when a report goes through
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("POST", self.path, self.payload, self.headers())
                if connection.getresponse().status == 201:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the reference pipeline did not start (see its logs)")
            time.sleep(0.5)

    def body(self, index):
        return self.payload

    def key(self, answer):
        return str(answer["id"])

    def rows_written(self, keys):
        with self.db.connect() as connection:
            rows = connection.execute(
                text("SELECT incident_id::text, created FROM pb_tags "
                     "WHERE incident_id = ANY(CAST(:ids AS uuid[]))"), {"ids": keys}).all()
        return {key: created.timestamp() for key, created in rows}

    def stop(self):
        for process in self.processes.values():
            stop_group(process)


class Platform(Pipeline):
    """`make run` of every registered service, each at a free port; `root`: another checkout of
    the platform, to measure a change against the code before it (LISA_BENCH_BASELINE)."""
    name = "platform"
    path = "/api/v1/incidents"

    def __init__(self, tmp: Path, prefix: str, root: Path = ROOT, name: str = "platform"):
        self.prefix, self.name = prefix, name
        tmp = tmp / name
        tmp.mkdir(exist_ok=True)
        # A vhost of its own: on a shared broker, another `make run` on the same vhost consumes
        # from the same RPC and event queues (and answers with keys this one does not trust).
        self.vhost = f"lisa-bench-{uuid.uuid4().hex[:8]}"
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        amqp_uri = urlunsplit(urlsplit(AMQP_URI)._replace(path=f"/{self.vhost}"))
        ports = {spec.name: free_port() for spec in platform.specs()}
        env = {**os.environ, "LISA_AMQP_URI": amqp_uri,
               "LISA_DATABASE_URL": f"{PG_BASE}/{prefix}_{{service}}",
               **{platform.port_variable(spec): str(ports[spec.name])
                  for spec in platform.specs()},
               "LISA_VAR_DIR": str(tmp), "LISA_LOG_LEVEL": "WARNING", "PYTHONPATH": str(root),
               **fresh_keys()}
        log = open(tmp / "run.log", "w")
        self.process = subprocess.Popen([sys.executable, "-m", "lisa.cli", "run"], cwd=root,
                                        env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        try:
            for port in ports.values():
                wait_ready(f"http://127.0.0.1:{port}/readyz", self.process)
            subprocess.run([sys.executable, "-m", "lisa.cli", "create-user", "--username",
                            "bench", "--password", "bench", "--role", "desk", "--organisation",
                            "antenna_desk"], cwd=root, env=env, check=True, capture_output=True)
        except BaseException:
            self.stop()
            raise
        self.port = ports[platform.edge().name]
        self.pids = service_processes(self.process.pid)
        token = requests.post(f"http://127.0.0.1:{self.port}/api/v1/auth/token",
                              json={"username": "bench", "password": "bench"},
                              timeout=30).json()["access_token"]
        self._headers = {"Content-Type": "application/json",
                         "Authorization": f"Bearer {token}"}
        self.reports = [json.dumps(r).encode() for r in varied_reports(997)]
        self.db = create_engine(f"{PG_BASE}/{prefix}_tags", poolclass=NullPool)

    def headers(self):
        return self._headers

    def body(self, index):
        return self.reports[index % len(self.reports)]

    def key(self, answer):
        return str(answer["incident"]["id"])

    def rows_written(self, keys):
        with self.db.connect() as connection:
            rows = connection.execute(
                text("SELECT incident_id, created_at FROM jobs WHERE incident_id = ANY(:ids)"),
                {"ids": [int(k) for k in keys]}).all()
        return {str(incident): created.timestamp() for incident, created in rows}

    def stop(self):
        stop_group(self.process)
        if hasattr(self, "db"):
            self.db.dispose()
        drop_databases(f"{PG_BASE}/postgres", self.prefix)
        rabbitmqctl("delete_vhost", self.vhost)


# -- load ----------------------------------------------------------------------------------------

def _post(connection: http.client.HTTPConnection, pipeline: Pipeline, index: int) -> str:
    connection.request("POST", pipeline.path, pipeline.body(index), pipeline.headers())
    response = connection.getresponse()
    answer = response.read()
    if response.status != 201:
        raise RuntimeError(f"{pipeline.name}: {response.status} {answer[:300]!r}")
    return pipeline.key(json.loads(answer))


def _drain(pipeline: Pipeline, keys: list[str]) -> dict[str, float]:
    deadline = time.monotonic() + DRAIN_SECONDS
    written: dict[str, float] = {}
    while True:
        written.update(pipeline.rows_written([k for k in keys if k not in written]))
        if len(written) >= len(keys) or time.monotonic() > deadline:
            return written
        time.sleep(0.05)


def _measure(pipeline: Pipeline, sent: list[tuple[str, float, float]], started: float,
             cpu_before: dict[str, float]) -> dict:
    """`sent`: (key, due or sent at, answered at), wall times."""
    keys = [key for key, _, _ in sent]
    written = _drain(pipeline, keys)
    cpu_ms = sum(cpu_seconds(pid) - cpu_before[name]
                 for name, pid in pipeline.pids.items()) * 1000 / len(sent)
    last = max(written.values()) if written else time.time()
    e2e = [(written[key] - due) * 1000 for key, due, _ in sent if key in written]
    http_ms = [(answered - due) * 1000 for _, due, answered in sent]
    return {"reports": len(sent), "lost": len(keys) - len(written),
            "reports_per_s": len(written) / (last - started),
            "http_p50_ms": percentile(http_ms, 50), "http_p99_ms": percentile(http_ms, 99),
            "e2e_p50_ms": percentile(e2e, 50), "e2e_p95_ms": percentile(e2e, 95),
            "e2e_p99_ms": percentile(e2e, 99), "cpu_ms_per_report": cpu_ms}


def closed_loop(pipeline: Pipeline, reports: int, clients: int) -> dict:
    """`clients` clients, each sending its next report when the last is answered."""
    warm = [_post(http.client.HTTPConnection("127.0.0.1", pipeline.port, timeout=60),
                  pipeline, i) for i in range(clients * 2)]
    _drain(pipeline, warm)
    sent: list[tuple[str, float, float]] = []
    per_client = reports // clients

    def client(number):
        connection = http.client.HTTPConnection("127.0.0.1", pipeline.port, timeout=60)
        for i in range(per_client):
            at = time.time()
            key = _post(connection, pipeline, number * per_client + i)
            sent.append((key, at, time.time()))

    cpu_before = {name: cpu_seconds(pid) for name, pid in pipeline.pids.items()}
    started = time.time()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _measure(pipeline, sent, started, cpu_before)


def open_loop(pipeline: Pipeline, rate: float, seconds: float) -> dict:
    """Reports due at a fixed rate whatever the answers; each timed from when it was due, so
    a stall counts against every report it delays (no coordinated omission)."""
    count = max(1, int(rate * seconds))
    due: queue.Queue = queue.Queue()
    sent: list[tuple[str, float, float]] = []
    errors: list[str] = []

    def sender():
        connection = http.client.HTTPConnection("127.0.0.1", pipeline.port, timeout=60)
        while (item := due.get()) is not None:
            index, at = item
            time.sleep(max(0.0, at - time.time()))
            try:
                sent.append((_post(connection, pipeline, index), at, time.time()))
            except Exception as exc:  # counted, not hidden
                errors.append(str(exc))
                connection = http.client.HTTPConnection("127.0.0.1", pipeline.port, timeout=60)

    senders = [threading.Thread(target=sender) for _ in range(min(64, count))]
    cpu_before = {name: cpu_seconds(pid) for name, pid in pipeline.pids.items()}
    started = time.time() + 0.2
    for index in range(count):
        due.put((index, started + index / rate))
    for thread in senders:
        due.put(None)
        thread.start()
    for thread in senders:
        thread.join()
    result = _measure(pipeline, sent, started, cpu_before)
    result.update(rate=rate, refused=len(errors), refusals=errors[:3])
    return result


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




# -- the run and its report ------------------------------------------------------------------------

def median_run(runs: list[dict]) -> dict:
    """Each figure's median over the rounds (lost: the sum)."""
    out = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    out["lost"] = sum(run["lost"] for run in runs)
    return out


def ratios(platform_run: dict, reference_run: dict) -> dict:
    return {
        "throughput_ratio": platform_run["reports_per_s"] / reference_run["reports_per_s"],
        "cpu_ratio": platform_run["cpu_ms_per_report"] / reference_run["cpu_ms_per_report"],
        "p99_ratio": platform_run["e2e_p99_ms"] / reference_run["e2e_p99_ms"],
    }


def verdicts(r: dict) -> list[tuple[str, str, bool]]:
    closed = r["closed_loop"]["ratios"]
    at_50 = next((run for run in r["open_loop"] if run["rate"] == 50), None)
    services = {k: v for k, v in r["rss_mib"].items()
                if k.endswith("process") and not k.startswith("reference")}
    found = [
        ("throughput, platform / reference (8 clients)", f"{closed['throughput_ratio']:.2f}",
         closed["throughput_ratio"] >= TARGETS["throughput_ratio"]),
        ("CPU per report, platform / reference", f"{closed['cpu_ratio']:.2f}",
         closed["cpu_ratio"] <= TARGETS["cpu_ratio"]),
        ("p99 report -> job, platform / reference (8 clients)", f"{closed['p99_ratio']:.2f}",
         closed["p99_ratio"] <= TARGETS["p99_ratio"]),
    ]
    if at_50 is not None:
        found.append(("p99 report -> job at 50/s open loop, ms",
                      f"{at_50['platform']['e2e_p99_ms']:.0f}",
                      at_50["platform"]["e2e_p99_ms"] < TARGETS["p99_at_50_ms"]))
    found.append(("largest service process, MiB", f"{max(services.values()):.0f}",
                  max(services.values()) < TARGETS["service_rss_mib"]))
    if "embedded demo (one process)" in r["rss_mib"]:
        embedded = r["rss_mib"]["embedded demo (one process)"]
        found.append(("embedded demo, MiB", f"{embedded:.0f}",
                      embedded < TARGETS["embedded_rss_mib"]))
    return found


OPEN_HEADER = ("| open loop, reports/s due | done /s (platform / reference) "
               "| p50 report -> row, ms | p99 report -> row, ms | CPU per report, ms "
               "| lost or refused |")


def write(results: dict) -> str:
    r = results
    closed = r["closed_loop"]
    p, ref = closed["platform"], closed["reference"]
    rows = [
        ("reports through to the consumer's row, /s", f"{p['reports_per_s']:,.0f}",
         f"{ref['reports_per_s']:,.0f}", f"{closed['ratios']['throughput_ratio']:.2f}"),
        ("CPU per report, summed over the pipeline's processes, ms",
         f"{p['cpu_ms_per_report']:.1f}", f"{ref['cpu_ms_per_report']:.1f}",
         f"{closed['ratios']['cpu_ratio']:.2f}"),
        ("report -> consumer's row p50 / p95 / p99, ms",
         f"{p['e2e_p50_ms']:.0f} / {p['e2e_p95_ms']:.0f} / {p['e2e_p99_ms']:.0f}",
         f"{ref['e2e_p50_ms']:.0f} / {ref['e2e_p95_ms']:.0f} / {ref['e2e_p99_ms']:.0f}",
         f"{closed['ratios']['p99_ratio']:.2f} (p99)"),
        ("HTTP answer p50 / p99, ms", f"{p['http_p50_ms']:.0f} / {p['http_p99_ms']:.0f}",
         f"{ref['http_p50_ms']:.0f} / {ref['http_p99_ms']:.0f}", ""),
        ("reports lost", f"{p['lost']}", f"{ref['lost']}", ""),
    ]
    closed_table = "\n".join(f"| {' | '.join(row)} |" for row in rows)
    open_rows = []
    for run in r["open_loop"]:
        pr, rr = run["platform"], run["reference"]
        open_rows.append(
            f"| {run['rate']:g} | {pr['reports_per_s']:,.0f} / {rr['reports_per_s']:,.0f} | "
            f"{pr['e2e_p50_ms']:.0f} / {rr['e2e_p50_ms']:.0f} | "
            f"{pr['e2e_p99_ms']:.0f} / {rr['e2e_p99_ms']:.0f} | "
            f"{pr['cpu_ms_per_report']:.1f} / {rr['cpu_ms_per_report']:.1f} | "
            f"{pr['lost'] + pr['refused']} / {rr['lost'] + rr['refused']} |")
    cpu_rows = "\n".join(f"| {name} | {ms:.1f} |" for name, ms in r["cpu_ms_by_process"].items())
    rss_rows = "\n".join(f"| {name} | {mib:.0f} |" for name, mib in r["rss_mib"].items())
    targets = "\n".join(f"| {name} | {value} | {'met' if ok else 'NOT met'} |"
                        for name, value, ok in verdicts(r))
    raw = (f" Raw kombu on the same broker: {r['raw_publish_per_s']:,.0f} msg/s published, "
           f"{r['raw_confirmed_publish_per_s']:,.0f} with confirms, "
           f"{r['raw_consume_per_s']:,.0f} consumed." if "raw_publish_per_s" in r else "")
    text_out = f"""Measured {r['measured_at']} on {r['machine']}: the platform under `make run` on
RabbitMQ and PostgreSQL and the reference pipeline ({r['reference']}) in the same run; closed loop
{closed['reports']} reports from {closed['clients']} clients, median of {closed['rounds']} rounds
alternating the two; open loop {r['open_seconds']:g} s at each rate.{raw}

| closed loop, {closed['clients']} clients | platform | reference | ratio |
|---|---|---|---|
{closed_table}

{OPEN_HEADER}
|---|---|---|---|---|---|
{chr(10).join(open_rows)}

| CPU per report by process (closed loop), ms | |
|---|---|
{cpu_rows}

| resident memory | MiB |
|---|---|
{rss_rows}

| target | today | |
|---|---|---|
{targets}
"""
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
               "machine": f"{os.cpu_count()} cores, Python {host_platform.python_version()}",
               "reference": os.path.relpath(REFERENCE, ROOT), "open_seconds": OPEN_SECONDS}
    if os.environ.get("LISA_BENCH_RAW", "1") != "0":
        print("raw kombu ...", flush=True)
        results.update(raw_kombu())
    prefix = f"lisa_bench_{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("reference pipeline and platform (make run) ...", flush=True)
        reference = Reference(tmp)
        try:
            lisa = Platform(tmp, prefix)
            baseline = (Platform(tmp, f"{prefix}_base", Path(BASELINE).resolve(), "baseline")
                        if BASELINE else None)
            try:
                pipelines = (reference, lisa)
                rounds: dict[str, list[dict]] = {"reference": [], "platform": []}
                if baseline is not None:
                    rounds["baseline"] = []
                by_process: dict[str, list[float]] = {name: [] for name in lisa.pids}
                for n in range(ROUNDS):
                    for pipeline in pipelines + ((baseline,) if baseline else ()):
                        before = {name: cpu_seconds(pid) for name, pid in lisa.pids.items()}
                        run = closed_loop(pipeline, REPORTS, CLIENTS)
                        if pipeline is lisa:
                            for name, pid in lisa.pids.items():
                                by_process[name].append(
                                    (cpu_seconds(pid) - before[name]) * 1000 / run["reports"])
                        rounds[pipeline.name].append(run)
                        print(f"closed loop round {n + 1} {pipeline.name}: "
                              f"{json.dumps(run)}", flush=True)
                if baseline is not None:
                    baseline.stop()
                    baseline = None
                closed = {name: median_run(runs) for name, runs in rounds.items()}
                results["closed_loop"] = {
                    "reports": REPORTS, "clients": CLIENTS, "rounds": ROUNDS, **closed,
                    "ratios": ratios(closed["platform"], closed["reference"]),
                    "all_rounds": rounds}
                if "baseline" in closed:
                    results["closed_loop"]["baseline_ratios"] = ratios(closed["baseline"],
                                                                       closed["reference"])
                results["cpu_ms_by_process"] = {name: statistics.median(values)
                                                for name, values in by_process.items()}
                results["open_loop"] = []
                for rate in RATES:
                    run = {"rate": rate}
                    for pipeline in pipelines:
                        run[pipeline.name] = open_loop(pipeline, rate, OPEN_SECONDS)
                        print(f"open loop {rate}/s {pipeline.name}: "
                              f"{json.dumps(run[pipeline.name])}", flush=True)
                    results["open_loop"].append(run)
                results["rss_mib"] = {
                    **{f"{name} process": rss_mib(pid) for name, pid in lisa.pids.items()},
                    **{f"reference {name} process": rss_mib(pid)
                       for name, pid in reference.pids.items()}}
            finally:
                lisa.stop()
                if baseline is not None:
                    baseline.stop()
        finally:
            reference.stop()
        print("embedded demo ...", flush=True)
        results["rss_mib"]["embedded demo (one process)"] = embedded_rss(tmp)
    print(write(results))


if __name__ == "__main__":
    main()
