"""Tables of the indicators service only: the append-only event store, the events set aside, the
projections (cells, distinct values, spans) and the coordinator's targets with their history.

Projections are derived data: `rebuild` empties and recomputes them from the event store in SQL
and must give what the live projection gave (docs/adr/0023-indicators-projections-and-rebuild.md).
"""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared import outbox

PAYLOAD = JSON().with_variant(JSONB(), "postgresql")
POSITION = BigInteger().with_variant(Integer(), "sqlite")
DIM = String(100)


class Base(DeclarativeBase):
    pass


metadata = Base.metadata
outbox.define_tables(metadata)


class StoredEvent(Base):
    """Every event the service accepted, as it came (payload validated and upcast); never
    updated, never deleted."""

    __tablename__ = "event_store"
    __table_args__ = (Index("ix_event_store_type_month", "source", "event_type", "month"),)
    position: Mapped[int] = mapped_column(POSITION, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    source: Mapped[str] = mapped_column(String(50))
    event_type: Mapped[str] = mapped_column(String(100))
    schema_version: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    month: Mapped[str] = mapped_column(String(7))       # YYYY-MM in Brussels time
    antenna_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(PAYLOAD)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SetAside(Base):
    """An event of a type or schema version this service does not know (or whose payload does
    not validate): kept whole, counted, shown to operations; never dropped."""

    __tablename__ = "set_aside"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(50), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    schema_version: Mapped[int] = mapped_column(Integer)
    antenna_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Cell(Base):
    """count and sum leaves: events and their total per leaf, month, antenna and dimensions
    (d1..d6 in the order of the indicator's `dimensions`)."""

    __tablename__ = "cells"
    leaf: Mapped[str] = mapped_column(String(50), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    d1: Mapped[str] = mapped_column(DIM, primary_key=True, default="")
    d2: Mapped[str] = mapped_column(DIM, primary_key=True, default="")
    d3: Mapped[str] = mapped_column(DIM, primary_key=True, default="")
    d4: Mapped[str] = mapped_column(DIM, primary_key=True, default="")
    d5: Mapped[str] = mapped_column(DIM, primary_key=True, default="")
    d6: Mapped[str] = mapped_column(DIM, primary_key=True, default="")
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[float] = mapped_column(Float, default=0.0)


class DistinctValue(Base):
    """distinct leaves: each value seen per leaf, month, antenna and dimensions."""

    __tablename__ = "distinct_values"
    leaf: Mapped[str] = mapped_column(String(50), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    d1: Mapped[str] = mapped_column(DIM, primary_key=True, default="")
    d2: Mapped[str] = mapped_column(DIM, primary_key=True, default="")
    d3: Mapped[str] = mapped_column(DIM, primary_key=True, default="")
    d4: Mapped[str] = mapped_column(DIM, primary_key=True, default="")
    d5: Mapped[str] = mapped_column(DIM, primary_key=True, default="")
    d6: Mapped[str] = mapped_column(DIM, primary_key=True, default="")
    value: Mapped[str] = mapped_column(String(100), primary_key=True)


class Span(Base):
    """median_duration and share_within leaves: one row per key (an incident, a job), with the
    earliest start and end seen (either may come first), the latest deadline given by a start
    event, and the dimensions of the start. `month` is the end's ('' until it ends)."""

    __tablename__ = "spans"
    __table_args__ = (Index("ix_spans_leaf_month", "leaf", "month"),)
    leaf: Mapped[str] = mapped_column(String(50), primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    d1: Mapped[str] = mapped_column(DIM, default="")
    d2: Mapped[str] = mapped_column(DIM, default="")
    d3: Mapped[str] = mapped_column(DIM, default="")
    d4: Mapped[str] = mapped_column(DIM, default="")
    d5: Mapped[str] = mapped_column(DIM, default="")
    d6: Mapped[str] = mapped_column(DIM, default="")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deadline: Mapped[str | None] = mapped_column(String(40), nullable=True)   # ISO, as given
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    month: Mapped[str] = mapped_column(String(7), default="")


class Target(Base):
    """The current plan's target of an indicator, as the coordinator last set it."""

    __tablename__ = "targets"
    indicator: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TargetHistory(Base):
    """Every change of a target: who, when, from what to what."""

    __tablename__ = "target_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator: Mapped[str] = mapped_column(String(40), index=True)
    previous: Mapped[float | None] = mapped_column(Float, nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
