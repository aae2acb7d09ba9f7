"""Transactional outbox and its relay.

A service's state change and the events it raises are written in one database transaction (see
`shared.db.UnitOfWork.emit`); the relay then publishes the pending rows with publisher confirms
and marks them sent. A crash between publish and mark republishes the row: consumers are
idempotent, so the effect is still exactly once. A rolled-back transaction leaves no row, so
nothing is published for it.
"""
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
    update,
)

from shared import events, metrics

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


class OutboxRelay:
    """Publishes pending outbox rows in id order, each confirmed by the broker before it is marked
    sent. Rows are locked with SKIP LOCKED on PostgreSQL so replicas share the work."""

    def __init__(self, database, amqp_uri: str, batch_size: int = 200):
        self.database = database
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self._connection = None

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
        published = 0
        with self.database.session() as session:
            query = (
                select(outbox.c.id, outbox.c.source, outbox.c.event_type, outbox.c.body)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch_size)
            )
            if self.database.supports_skip_locked:
                query = query.with_for_update(skip_locked=True)
            rows = session.execute(query).all()
            if not rows:
                session.rollback()
                return 0
            try:
                connection = self._producer_connection()
                producer = connection.Producer()
                for row in rows:
                    exchange = Exchange(events.exchange_name(row.source), type="topic",
                                        durable=True)
                    producer.publish(
                        json.loads(row.body), exchange=exchange, routing_key=row.event_type,
                        declare=[exchange], serializer="json", delivery_mode=2,
                        retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2},
                        timeout=CONFIRM_TIMEOUT_SECONDS, confirm_timeout=CONFIRM_TIMEOUT_SECONDS,
                    )
                    session.execute(
                        update(outbox).where(outbox.c.id == row.id)
                        .values(published_at=datetime.now(UTC), attempts=outbox.c.attempts + 1)
                    )
                    published += 1
                    metrics.EVENTS_PUBLISHED.labels(row.source, row.event_type).inc()
            except Exception as exc:  # broker down: keep what was confirmed, retry the rest
                log.warning("outbox relay of %s: publish failed: %s", self.database.service, exc)
                metrics.OUTBOX_PUBLISH_ERRORS.labels(self.database.service).inc()
                self._forget_connection()
            session.commit()
        return published
