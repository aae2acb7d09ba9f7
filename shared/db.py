"""The database dependency: a unit of work per use, the outbox written in its transaction, and the
relay that drains the outbox.

    with self.db.unit_of_work() as uow:
        incident = ...                         # change state through uow.session
        uow.emit("incident_reported", {...})   # validated, written to the outbox
        uow.commit()                           # both or neither; rolls back unless committed

PostgreSQL in production (psycopg2 made cooperative with psycogreen, so a slow query does not
stall the eventlet hub), SQLite files in embedded mode.
"""
import logging
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import eventlet
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, create_engine, delete, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from shared import clock, config, metrics, outbox
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

_green_psycopg = False


def normalise_url(url: str) -> str:
    """SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; we use psycopg2 + psycogreen
    (docs/adr/0002-database-driver-and-sqlite.md)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


def make_engine(url: str):
    global _green_psycopg
    url = normalise_url(url)
    if url.startswith("postgresql"):
        if not _green_psycopg:
            from psycogreen.eventlet import patch_psycopg

            patch_psycopg()
            _green_psycopg = True
        # overflow up to LISA_MAX_WORKERS (30) at a burst; beyond 10, connections close on return
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


class Database(DependencyProvider):
    """Per-service storage. `relay=True` also runs the outbox relay in a managed thread.
    `gauges(session, now) -> [metrics.Reading]`: the service's business numbers, read from this
    database whenever Prometheus scrapes the process (shared/metrics.py)."""

    RELAY_IDLE_SECONDS = 1.0

    def __init__(self, metadata, service: str | None = None, relay: bool = False,
                 gauges: Callable[[Session, datetime], Iterable[metrics.Reading]] | None = None):
        self.metadata = metadata
        self.service_override = service
        self.relay_enabled = relay
        self.gauges = gauges
        self.engine: Engine | None = None
        self._collector: metrics.ScrapeTimeCollector | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def setup(self):
        self.service = self.service_override or self.container.service_name
        self.open(config.database_url(self.service))

    def open(self, url: str) -> "Database":
        """Build engine and sessions; also used outside a container (migrations, seeding)."""
        self.service = getattr(self, "service", None) or self.service_override
        engine = self.engine = make_engine(url)
        self.Session = sessionmaker(bind=engine, expire_on_commit=False)
        self.outbox = self.metadata.tables.get("outbox")
        self.processed = self.metadata.tables.get("processed_events")
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer; sqlite3 waits for locks inside C, which would freeze the eventlet
        # hub. A green lock per database serialises its units of work instead.
        self.lock = Semaphore(1) if self.is_sqlite else _NoLock()
        self._wake = threading.Event()
        self._running = False
        self.relay = outbox.OutboxRelay(self, config.amqp_uri(self.service))
        return self

    def start(self):
        self._running = True
        if self.gauges is not None:
            self._collector = metrics.register_scrape_time(self.service, "database",
                                                           self.read_gauges)
        if self.relay_enabled:
            self._relay_stopped = threading.Event()
            self.container.spawn_managed_thread(self._relay_loop, identifier="outbox_relay")
        if self.outbox is not None or self.processed is not None:
            self.container.spawn_managed_thread(self._housekeeping_loop,
                                                identifier="outbox_housekeeping")

    def stop(self):
        """Let the relay finish the batch it is publishing, rather than be killed mid-way."""
        self._running = False
        self._wake.set()
        if self._collector is not None:
            metrics.unregister_scrape_time(self._collector)
            self._collector = None
        if self.relay_enabled and hasattr(self, "_relay_stopped"):
            self._relay_stopped.wait(5)

    def kill(self):
        self.stop()

    # -- worker API ------------------------------------------------------------------------
    def get_dependency(self, worker_ctx):
        return _WorkerDatabase(self, worker_ctx)

    @contextmanager
    def session(self):
        """A plain session, for reads and infrastructure work."""
        with self.lock:
            session = self.Session()
            try:
                yield session
            finally:
                session.close()

    def unit_of_work(self, correlation_id: str = "internal") -> UnitOfWork:
        return UnitOfWork(self, correlation_id)

    def ping(self) -> None:
        with self.session() as session:
            session.execute(text("SELECT 1"))

    def read_gauges(self) -> list[metrics.Reading]:
        assert self.gauges is not None
        with self.session() as session:
            return list(self.gauges(session, clock.utc_now()))

    def is_processed(self, consumer: str, event_id: str) -> bool:
        """A cheap look before a handler's reads and calls; the claim in its unit of work is
        what makes the effect happen once."""
        processed = self.processed
        with self.session() as session:
            return session.execute(select(processed.c.event_id).where(
                processed.c.consumer == consumer, processed.c.event_id == event_id)
            ).first() is not None

    def prune(self, now: datetime | None = None) -> dict:
        """Forget published outbox rows and processed-event claims older than their retention
        (`LISA_OUTBOX_RETENTION_DAYS`, `LISA_PROCESSED_EVENTS_RETENTION_DAYS`). Unpublished rows
        are never pruned."""
        now = now or datetime.now(UTC)
        pruned = {"outbox": 0, "processed_events": 0}
        with self.session() as session:
            if self.outbox is not None:
                cutoff = now - timedelta(days=config.outbox_retention_days())
                pruned["outbox"] = session.execute(delete(self.outbox).where(
                    self.outbox.c.published_at.is_not(None),
                    self.outbox.c.published_at < cutoff)).rowcount
            if self.processed is not None:
                cutoff = now - timedelta(days=config.processed_events_retention_days())
                pruned["processed_events"] = session.execute(delete(self.processed).where(
                    self.processed.c.processed_at < cutoff)).rowcount
            session.commit()
        return pruned

    def wake_relay(self) -> None:
        self._wake.set()

    # -- relay -----------------------------------------------------------------------------
    def _relay_loop(self):
        # Each commit with events wakes the relay, so under load it runs once per report or so;
        # counting the backlog (a query and a checkout) each time was a fifth of its work. The
        # gauge is counted at most once per idle period instead (ADR 0034).
        counted = 0.0
        while self._running:
            self._wake.wait(self.RELAY_IDLE_SECONDS)
            self._wake.clear()
            try:
                while self._running and self.relay.relay_once() == self.relay.batch_size:
                    eventlet.sleep(0)
                if time.monotonic() - counted >= self.RELAY_IDLE_SECONDS:
                    self.relay.backlog()
                    counted = time.monotonic()
            except Exception:  # the database may be restarting: try again on the next tick
                log.exception("outbox relay of %s failed", self.service)
                eventlet.sleep(self.RELAY_IDLE_SECONDS)
        self.relay.close()
        self._relay_stopped.set()

    def _housekeeping_loop(self):
        interval = config.housekeeping_interval_seconds()
        while self._running:
            try:
                pruned = self.prune()
                if any(pruned.values()):
                    log.info("%s: pruned %s", self.service, pruned)
            except Exception:  # the database may be restarting: try again next time
                log.exception("housekeeping of %s failed", self.service)
            eventlet.sleep(interval)


class _WorkerDatabase:
    """What a worker sees as `self.db`: units of work tagged with the call's correlation id."""

    def __init__(self, database: Database, worker_ctx):
        self._database = database
        self._worker_ctx = worker_ctx

    def unit_of_work(self, correlation_id: str | None = None) -> UnitOfWork:
        """`correlation_id`: an event handler's follow-up events keep the event's."""
        stack = self._worker_ctx.call_id_stack or ["internal"]
        correlation = (correlation_id or self._worker_ctx.context_data.get("correlation_id")
                       or stack[0])
        return UnitOfWork(self._database, correlation)

    def session(self):
        return self._database.session()

    def is_processed(self, consumer: str, event_id: str) -> bool:
        return self._database.is_processed(consumer, event_id)

    def ping(self) -> None:
        self._database.ping()


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def acquire(self):
        return True

    def release(self):
        pass
