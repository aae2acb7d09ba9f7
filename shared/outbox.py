"""Transactional outbox and its relay.

A service's state change and the events it raises are written in one database transaction
(see `shared.unit_of_work.UnitOfWork.emit`); the relay then publishes the pending rows with
publisher confirms and marks them sent. A crash between publish and mark republishes the row:
consumers are idempotent, so the effect is still exactly once. A rolled-back transaction leaves
no row, so nothing is published for it.

One relay at a time publishes a service's outbox, in id order: on PostgreSQL each batch runs under
a transaction-level advisory lock of the service, so replicas stand by (two relays sharing rows
with SKIP LOCKED published them out of order); on SQLite the database's one-writer lock does the
same. A row whose publication fails records its `attempts` and `last_error`, and stops the batch,
so no later event overtakes it.
"""
import hashlib
import json
import logging
from datetime import UTC, datetime

from kombu import Connection, Exchange
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    text,
    update,
)

from shared import config, events, metrics

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT_SECONDS = 10  # a confirm that does not come in time counts as a failure

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def define_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Add the outbox and processed-events tables to a service's own metadata."""
    outbox = Table(
        "outbox", metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("source", String(50), nullable=False),
        Column("event_type", String(100), nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True, index=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
    )
    processed = Table(
        "processed_events", metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )
    return outbox, processed


def outbox_row(envelope: dict) -> dict:
    return {
        "event_id": envelope["event_id"],
        "source": envelope["source"],
        "event_type": envelope["event_type"],
        "body": json.dumps(envelope),
        "created_at": datetime.now(UTC),
        "attempts": 0,
    }


def relay_lock_key(service: str) -> int:
    """The service's advisory-lock key: a stable signed 64-bit number from its name."""
    digest = hashlib.sha256(f"lisa-outbox-relay:{service}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class OutboxRelay:
    """Publishes pending outbox rows in id order, each confirmed by the broker before it is marked
    sent; one relay per service at a time (see the module docstring)."""

    def __init__(self, database, amqp_uri: str, batch_size: int = 200):
        self.database = database
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self._connection: Connection | None = None

    def _producer_connection(self) -> Connection:
        if self._connection is None:
            self._connection = Connection(
                self.amqp_uri, transport_options={"confirm_publish": True}, connect_timeout=5,
            )
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.release()
            self._connection = None

    def _forget_connection(self) -> None:
        """After a failure the socket may be dead: drop it without a closing handshake, which
        could wait forever on a broker that went away."""
        if self._connection is not None:
            self._connection.collect()
            self._connection = None

    def backlog(self) -> int:
        outbox = self.database.outbox
        with self.database.session() as session:
            count = session.execute(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            ).scalar_one()
        metrics.OUTBOX_BACKLOG.labels(self.database.service).set(count)
        return count

    def relay_once(self) -> int:
        """Publish one batch; returns how many rows were published."""
        outbox = self.database.outbox
        with self.database.session() as session:
            if self.database.engine.dialect.name == "postgresql" and not session.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key)"),
                    {"key": relay_lock_key(self.database.service)}).scalar_one():
                session.rollback()  # another relay of this service is publishing: stand by
                return 0
            rows = session.execute(
                select(outbox.c.id, outbox.c.source, outbox.c.event_type, outbox.c.body)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch_size)
            ).all()
            if not rows:
                session.rollback()
                return 0
            # The broker's user_id property, which it validates: consumers know who published.
            user = config.amqp_user(self.amqp_uri)
            properties = {"user_id": user} if user else {}
            row = rows[0]  # the row a failure is recorded on, if the connection itself fails
            sent: list[int] = []  # marked sent in one statement, once the batch is over
            published = 0
            returned: list[str] = []

            def on_return(exception, exchange, routing_key, message):
                returned.append(f"unroutable: {exception}: {exchange}/{routing_key}")

            try:
                connection = self._producer_connection()
                producer = connection.Producer(on_return=on_return)
                for row in rows:
                    returned.clear()
                    exchange = Exchange(events.exchange_name(row.source), type="topic",
                                        durable=True)
                    producer.publish(
                        json.loads(row.body), exchange=exchange, routing_key=row.event_type,
                        declare=[exchange], serializer="json", delivery_mode=2,
                        mandatory=True,
                        retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2},
                        timeout=CONFIRM_TIMEOUT_SECONDS, confirm_timeout=CONFIRM_TIMEOUT_SECONDS,
                        **properties,
                    )
                    # The broker returns (before its confirm) an event no queue is bound for.
                    # `migrate` declares every consumer's queue, so no service wants it: it is
                    # recorded on the row, counted and logged, and the outbox moves on (holding
                    # it would stop every later event of this service).
                    unroutable = returned[0][:2000] if returned else None
                    if unroutable:
                        log.warning("outbox relay of %s: event %s %s", self.database.service,
                                    row.event_type, unroutable)
                        metrics.OUTBOX_UNROUTABLE.labels(row.source, row.event_type).inc()
                        session.execute(
                            update(outbox).where(outbox.c.id == row.id)
                            .values(published_at=datetime.now(UTC),
                                    attempts=outbox.c.attempts + 1, last_error=unroutable)
                        )
                    else:
                        sent.append(row.id)
                    published += 1
                    metrics.EVENTS_PUBLISHED.labels(row.source, row.event_type).inc()
            except Exception as exc:  # broker down: keep what was confirmed, retry the rest
                log.warning("outbox relay of %s: publish failed: %s", self.database.service, exc)
                metrics.OUTBOX_PUBLISH_ERRORS.labels(self.database.service).inc()
                self._forget_connection()
                session.execute(
                    update(outbox).where(outbox.c.id == row.id)
                    .values(attempts=outbox.c.attempts + 1,
                            last_error=f"{type(exc).__name__}: {exc}"[:2000])
                )
            if sent:
                session.execute(
                    update(outbox).where(outbox.c.id.in_(sent))
                    .values(published_at=datetime.now(UTC), attempts=outbox.c.attempts + 1,
                            last_error=None)
                )
            session.commit()
        return published
