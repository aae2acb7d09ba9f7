"""`make bench-indicators`: the indicators service on PostgreSQL (its production store).

1. Query cost as history grows: an event store holding the latest 10,000 events of a generated
   history, projections rebuilt, then the same queries (last complete month: a count series by
   neighbourhood, a median, the dashboard) timed; then the store grown to 1,000,000 events (ten
   years at the same rate) and the same queries timed again in the same run. Target: at most
   1.5 times slower.
2. Rebuild of every projection from the 1,000,000-event store, in SQL (target <= 10 s).
3. Live projection rate from the broker: events published to the services' exchanges on a
   throwaway RabbitMQ vhost, consumed by the indicators service's own consumers (nameko, in
   this process), until all are in the store (target >= 2,000 events/s). The events are
   published first and wait in the queues; the consumers then start and the time is theirs
   (from their start to the last row), in batches of LISA_INDICATORS_BATCH_SIZE.

Writes bench/indicators_results.md (the README shows it) and bench/indicators_results.json.
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import csv  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform as host_platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

import shared.memory_transport  # noqa: E402,F401
from lisa import platform  # noqa: E402
from services.indicators import catalogue, domain, history, use_cases, views  # noqa: E402
from services.indicators.models import StoredEvent, metadata  # noqa: E402
from shared import migrations  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.identity import Identity  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = os.environ.get("LISA_BENCH_POSTGRES", "postgresql+psycopg2://127.0.0.1:5432")
AMQP_URI = os.environ.get("LISA_BENCH_AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/")
EVENTS = int(os.environ.get("LISA_BENCH_INDICATOR_EVENTS", "1000000"))
SMALL = 10_000
LIVE_EVENTS = int(os.environ.get("LISA_BENCH_LIVE_EVENTS", "20000"))
REPEATS = 15
ANTENNA = "ixelles-tulipe"
END = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 3650
ME = Identity("bench", "coordinator", "prevention_service", (ANTENNA,))


def generate(count: int) -> list[history.Generated]:
    """About `count` events over ten years before END, in time order of their first event."""
    per_day = count / DAYS / 2.57          # events per generated report, measured
    events = [g for g in history.generate(END - timedelta(days=DAYS), DAYS, per_day, seed=2026)
              if g.occurred_at < END]
    return events[-count:] if len(events) > count else events


def copy_events(engine, rows: list[history.Generated]) -> None:
    """COPY into the event store (a bulk load, as a restore would be)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    now = datetime.now(UTC).isoformat()
    for g in rows:
        writer.writerow([str(uuid.uuid4()), g.source, g.event_type, 1, g.occurred_at.isoformat(),
                         domain.month_of(g.occurred_at), ANTENNA, json.dumps(g.payload), now])
    buffer.seek(0)
    import psycopg2.extensions

    # COPY needs a blocking connection: psycogreen's wait callback is set aside meanwhile.
    callback = psycopg2.extensions.get_wait_callback()
    psycopg2.extensions.set_wait_callback(None)
    raw = engine.raw_connection()
    raw.invalidate()              # a fresh, blocking connection, not one the pool reuses
    raw = create_engine(engine.url, poolclass=NullPool).raw_connection()
    try:
        with raw.cursor() as cursor:
            cursor.copy_expert(
                "COPY event_store (event_id, source, event_type, schema_version, occurred_at, "
                "month, antenna_id, payload, recorded_at) FROM STDIN WITH (FORMAT csv)", buffer)
        raw.commit()
    finally:
        raw.close()
        psycopg2.extensions.set_wait_callback(callback)


def rebuild(database: Database, known) -> tuple[float, dict]:
    with database.session() as session:
        started = time.perf_counter()
        made = use_cases.rebuild(session, known)
        session.commit()
        elapsed = time.perf_counter() - started
    # VACUUM ANALYZE, as autovacuum would soon after a bulk load: the queries are then timed
    # on a settled database, not beside autovacuum working through a million new rows.
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
        raw.execute(text("VACUUM ANALYZE"))
    return elapsed, made


def time_queries(database: Database, known) -> dict[str, float]:
    month = (END - timedelta(days=1)).strftime("%Y-%m")
    queries = {
        "count series by neighbourhood (INC-REPORTED, one month)":
            lambda s: views.series(s, known, ME, "INC-REPORTED",
                                   {"from": month, "group_by": ["neighbourhood"],
                                    "filters": {}}),
        "median resolution time (one month)":
            lambda s: views.series(s, known, ME, "INC-RESOLUTION-MEDIAN",
                                   {"from": month, "group_by": [], "filters": {}}),
        "dashboard, every indicator (one month, by neighbourhood)":
            lambda s: views.dashboard(s, known, ME, {"from": month,
                                                     "group_by": "neighbourhood"}),
    }
    timings = {}
    with database.session() as session:
        for name, query in queries.items():
            query(session)                               # warm
            samples = []
            for _ in range(REPEATS):
                started = time.perf_counter()
                query(session)
                samples.append(time.perf_counter() - started)
            timings[name] = statistics.median(samples)
    return timings


def live_rate(database_url: str) -> dict:
    """Publish LIVE_EVENTS events to the services' exchanges on a throwaway vhost; the indicators
    consumers (this process) record them; events/s from the first publish to the last row."""
    from kombu import Connection, Exchange
    from nameko.runners import ServiceRunner

    from services.indicators.service import batch_settings
    from shared import config, events

    vhost = f"lisa-bench-{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(["rabbitmqctl", "add_vhost", vhost], check=True, capture_output=True)
        subprocess.run(["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*",
                        ".*"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        return {"error": f"no throwaway vhost: {exc}"}
    uri = AMQP_URI.rstrip("/") + "/" + vhost
    os.environ.update({"LISA_AMQP_URI": uri, "LISA_INDICATORS_DATABASE_URL": database_url,
                       "LISA_ANTENNA_ID": ANTENNA})
    from lisa.local import fresh_keys
    os.environ.update(fresh_keys())
    generated = generate(LIVE_EVENTS)
    bodies = [events.build(g.source, g.event_type, g.payload, antenna_id=ANTENNA,
                           correlation_id="bench", occurred_at=g.occurred_at)
              for g in generated]
    import nameko

    from shared.topology import declare_event_queues

    classes = [platform.service_class("indicators")]
    declare_event_queues(uri, classes, config.event_retry_delays())
    database = Database(metadata, service="indicators").open(database_url)
    with database.session() as session:
        before = session.scalar(select(func.count()).select_from(StoredEvent)) or 0
    result = {}
    exchanges = {source: Exchange(events.exchange_name(source), type="topic", durable=True)
                 for source in {body["source"] for body in bodies}}
    # The events wait in the consumers' queues first, so the rate is the consumers' own (a
    # publisher in this process could not publish 2,000 events/s on a loaded machine: it is
    # timed and reported beside).
    started = time.perf_counter()
    with Connection(uri) as connection:
        producer = connection.Producer()
        for body in bodies:
            producer.publish(body, exchange=exchanges[body["source"]],
                             routing_key=body["event_type"], serializer="json", delivery_mode=2)
    published = time.perf_counter() - started
    with nameko.config.patch(config.nameko_config()):
        runner = ServiceRunner()
        runner.add_service(classes[0])
        try:
            cpu = time.process_time()
            started = time.perf_counter()
            runner.start()
            deadline = time.monotonic() + 600
            done = 0
            while time.monotonic() < deadline:
                with database.session() as session:
                    done = (session.scalar(select(func.count()).select_from(StoredEvent))
                            or 0) - before
                if done >= len(bodies):
                    break
                eventlet.sleep(0.05)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            result = {"events": len(bodies), "recorded": done, "seconds": elapsed,
                      "cpu_seconds": cpu, "rate_per_cpu_second": done / cpu,
                      "publish_seconds": published, "publish_rate": len(bodies) / published,
                      "rate": done / elapsed, "event_workers": config.event_workers(),
                      "batch": list(batch_settings())}
        finally:
            runner.kill()
            database.engine.dispose()
            subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True)
    return result


def main() -> None:
    platform.specs()
    known = catalogue.load()
    name = f"lisa_bench_{uuid.uuid4().hex[:8]}_indicators"
    admin = create_engine(f"{PG_BASE}/postgres", isolation_level="AUTOCOMMIT",
                          poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG_BASE}/{name}"
    results: dict = {"events": EVENTS, "small": SMALL, "host": host_platform.node(),
                     "cpus": os.cpu_count(), "at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        migrations.upgrade(platform.spec("indicators"), url)
        database = Database(metadata, service="indicators").open(url)
        print(f"generating {EVENTS} events ...", flush=True)
        started = time.perf_counter()
        everything = generate(EVENTS)
        results["generated"] = len(everything)
        print(f"  {len(everything)} in {time.perf_counter() - started:.1f}s", flush=True)

        copy_events(database.engine, everything[-SMALL:])
        results["rebuild_small_seconds"], _ = rebuild(database, known)
        results["query_small"] = time_queries(database, known)
        print("  at 10k:", results["query_small"], flush=True)

        started = time.perf_counter()
        copy_events(database.engine, everything[:-SMALL])
        results["load_seconds"] = time.perf_counter() - started
        del everything
        results["rebuild_seconds"], made = rebuild(database, known)
        results["rebuild_rows"] = made
        print(f"  rebuild of {EVENTS}: {results['rebuild_seconds']:.2f}s {made}", flush=True)
        results["query_large"] = time_queries(database, known)
        print("  at 1M:", results["query_large"], flush=True)
        database.engine.dispose()
        if os.environ.get("LISA_BENCH_SKIP_LIVE") != "1":
            results["live"] = live_rate(url)
            print("  live:", results["live"], flush=True)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    (ROOT / "bench" / "indicators_results.json").write_text(json.dumps(results, indent=2))
    (ROOT / "bench" / "indicators_results.md").write_text(report(results))
    print(report(results))


def report(r: dict) -> str:
    lines = [f"Indicators benchmark, {r['at']} on {r['host']} ({r['cpus']} CPUs, shared), "
             "PostgreSQL; `make bench-indicators`.", "",
             "| measure | result | target |", "|---|---|---|",
             f"| rebuild of every projection from {r['generated']:,} events (SQL) | "
             f"{r['rebuild_seconds']:.2f} s | <= 10 s |"]
    for name, small in r["query_small"].items():
        large = r["query_large"][name]
        lines.append(f"| {name}: {r['small']:,} -> {r['generated']:,} events of history | "
                     f"{small * 1000:.1f} ms -> {large * 1000:.1f} ms "
                     f"(x{large / small:.2f}) | <= x1.5 |")
    live = r.get("live")
    if live and "rate" in live:
        batch = live.get("batch") or ["?", "?"]
        lines.append(f"| live projection from RabbitMQ ({live['events']:,} events waiting, "
                     f"{live['event_workers']} workers, batches of up to {batch[0]}) | "
                     f"{live['rate']:,.0f} events/s | >= 2,000 events/s |")
        if "rate_per_cpu_second" in live:
            lines.append(f"| the same, per second of CPU the consumer process used "
                         f"({live['cpu_seconds']:.1f} s of CPU in {live['seconds']:.1f} s) | "
                         f"{live['rate_per_cpu_second']:,.0f} events/s | (load-independent) |")
    elif live:
        lines.append(f"| live projection from RabbitMQ | not measured: {live.get('error')} | "
                     ">= 2,000 events/s |")
    else:
        lines.append("| live projection from RabbitMQ | not run (LISA_BENCH_SKIP_LIVE=1) | "
                     ">= 2,000 events/s |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
