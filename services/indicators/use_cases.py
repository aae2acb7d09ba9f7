"""Commands of the indicators service: record an event (append it to the store and project it),
set an unknown one aside, rebuild every projection from the store in SQL, change a target.

The live projection and the rebuild keep the same facts (docs/adr/0023-indicators-projections-
and-rebuild.md): per count/sum leaf the events and their total by month, antenna and
dimensions; per distinct leaf the values seen; per span leaf the earliest start and end of each
key. Every update is commutative (additions, set inserts, minimums), so the order in which
events arrive does not change the figures, and a rebuild over the store in any order gives the
same rows.
"""
import functools
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.indicators import domain
from services.indicators.catalogue import Catalogue, Leaf
from services.indicators.models import (
    Cell,
    DistinctValue,
    SetAside,
    Span,
    StoredEvent,
    Target,
    TargetHistory,
)
from shared.events import Event
from shared.identity import Identity
from shared.unit_of_work import UnitOfWork

DIMS = tuple(f"d{i}" for i in range(1, domain.DIMENSION_COLUMNS + 1))


# -- recording events -----------------------------------------------------------------------------

def record(uow: UnitOfWork, catalogue: Catalogue, event: Event, payload: Mapping[str, Any],
           now: datetime) -> None:
    """Append one event to the store and feed every projection it belongs to (a batch of one)."""
    record_many(uow, catalogue, [(event, payload)], now)


def record_many(uow: UnitOfWork, catalogue: Catalogue,
                items: Sequence[tuple[Event, Mapping[str, Any]]], now: datetime) -> None:
    """Append the events to the store and feed every projection they belong to, in a few
    statements whatever their number: one multi-row INSERT into the store, and per projection
    table one multi-row upsert of what the events add up to (a batch of the live consumer,
    docs/adr/0023-indicators-projections-and-rebuild.md). The caller has claimed every event id
    in this unit of work; it commits."""
    if not items:
        return
    rows = []
    projection = Projection()
    for event, payload in items:
        occurred = event.occurred_at.astimezone(UTC)
        month = domain.month_of(occurred)
        rows.append({"event_id": event.event_id, "source": event.source,
                     "event_type": event.event_type, "schema_version": event.schema_version,
                     "occurred_at": occurred, "month": month, "antenna_id": event.antenna_id,
                     "payload": dict(payload), "recorded_at": now})
        projection.add(catalogue, event.source, event.event_type, occurred, month,
                       event.antenna_id, payload)
    uow.session.execute(insert(STORE), rows)
    projection.save(uow.session)


STORE: Any = StoredEvent.__table__


class _SpanChange:
    """What some events say about one span key: as its row, before it meets the stored one."""

    __slots__ = ("dims", "started_at", "deadline", "ended_at", "month")

    def __init__(self) -> None:
        self.dims = [domain.NONE] * domain.DIMENSION_COLUMNS
        self.started_at: datetime | None = None
        self.deadline: str | None = None
        self.ended_at: datetime | None = None
        self.month = ""


class Projection:
    """What a batch of events adds to the projections, folded in memory with the same
    commutative rules the tables keep (additions, set inserts, earliest/latest), then saved as
    upserts that fold it into the stored rows with those rules again. So the figures do not
    depend on how events are split into batches nor on their order. Rows are written in key
    order, so concurrent batches lock shared rows in one order and do not deadlock."""

    def __init__(self) -> None:
        self.cells: dict[tuple, list] = {}
        self.distinct: set[tuple] = set()
        self.spans: dict[tuple, _SpanChange] = {}

    def add(self, catalogue: Catalogue, source: str, event_type: str, occurred: datetime,
            month: str, antenna_id: str, payload: Mapping[str, Any]) -> None:
        for leaf in catalogue.leaves_for(source, event_type):
            if leaf.kind == "span":
                self._span(leaf, (source, event_type), occurred, month, antenna_id, payload)
                continue
            if not domain.matches(leaf.where, payload):
                continue
            key = (leaf.name, month, antenna_id,
                   *domain.dimension_values(leaf.dimensions, payload))
            if leaf.kind == "distinct":
                value = payload.get(leaf.field or "")
                if value is not None:
                    self.distinct.add((*key, domain.dimension_value(value)))
                continue
            amount = payload.get(leaf.field or "") if leaf.kind == "sum" else None
            cell = self.cells.setdefault(key, [0, 0.0])
            cell[0] += 1
            cell[1] += float(amount or 0)

    def _span(self, leaf: Leaf, event: tuple[str, str], occurred: datetime, month: str,
              antenna_id: str, payload: Mapping[str, Any]) -> None:
        key_value = payload.get(leaf.key or "")
        if key_value is None:
            return
        starts = event == leaf.start and domain.matches(leaf.start_where, payload)
        ends = event == leaf.end and domain.matches(leaf.end_where, payload)
        if not (starts or ends):          # as the rebuild: only a matching start or end counts
            return
        key = (leaf.name, antenna_id, domain.dimension_value(key_value))
        change = self.spans.setdefault(key, _SpanChange())
        # An event type may be both the start and the end (not in the catalogue today): both.
        if starts:
            if change.started_at is None or occurred < change.started_at:
                change.started_at = occurred
            change.dims = [max(old, new) for old, new in zip(
                change.dims, domain.dimension_values(leaf.dimensions, payload), strict=True)]
            if leaf.within_field:
                deadline = payload.get(leaf.within_field)
                deadline = deadline.isoformat() if isinstance(deadline, datetime) else deadline
                if isinstance(deadline, str) and (change.deadline is None or
                                                  _later(deadline, change.deadline)):
                    change.deadline = deadline
        if ends and (change.ended_at is None or occurred < change.ended_at):
            change.ended_at = occurred
            change.month = month

    def save(self, session: Session) -> None:
        """Three upserts, each one statement run for many rows (executemany: compiled once,
        sent as multi-row VALUES pages by the driver)."""
        statements = _upserts(session.get_bind().dialect.name)
        if self.cells:
            _many(session, statements["cells"], [
                {"leaf": k[0], "month": k[1], "antenna_id": k[2],
                 **dict(zip(DIMS, k[3:], strict=True)), "count": c, "total": t}
                for k, (c, t) in sorted(self.cells.items())])
        if self.distinct:
            _many(session, statements["distinct"], [
                {"leaf": k[0], "month": k[1], "antenna_id": k[2],
                 **dict(zip(DIMS, k[3:-1], strict=True)), "value": k[-1]}
                for k in sorted(self.distinct)])
        if self.spans:
            _many(session, statements["spans"], [
                {"leaf": k[0], "antenna_id": k[1], "key": k[2],
                 **dict(zip(DIMS, s.dims, strict=True)), "started_at": s.started_at,
                 "deadline": s.deadline, "ended_at": s.ended_at, "month": s.month}
                for k, s in sorted(self.spans.items())])


def _many(session: Session, statement: Any, rows: list[dict]) -> None:
    """Run an upsert for many rows. It RETURNs a column so that SQLAlchemy sends the rows as
    multi-row VALUES pages ("insertmanyvalues"), which it does not for an upsert that returns
    nothing (psycopg2 would then make one round trip per row)."""
    session.execute(statement, rows).all()


@functools.cache
def _upserts(dialect_name: str) -> dict[str, Any]:
    """The projection upserts of a dialect (built once, so compiled once)."""
    dialect: Any = postgresql if dialect_name == "postgresql" else sqlite
    cells: Any = Cell.__table__
    statement = dialect.insert(cells)
    upserts = {"cells": statement.on_conflict_do_update(
        index_elements=[c.name for c in cells.primary_key.columns],
        set_={"count": cells.c.count + statement.excluded.count,
              "total": cells.c.total + statement.excluded.total}).returning(cells.c.leaf)}
    distinct = DistinctValue.__table__
    upserts["distinct"] = dialect.insert(distinct).on_conflict_do_nothing().returning(
        distinct.c.leaf)
    spans = Span.__table__
    statement = dialect.insert(spans)
    new = statement.excluded
    ends_earlier = _replaces(spans, new, "ended_at", True)
    set_ = {d: case((new[d] > spans.c[d], new[d]), else_=spans.c[d]) for d in DIMS}
    set_.update(
        started_at=case((_replaces(spans, new, "started_at", True), new.started_at),
                        else_=spans.c.started_at),
        deadline=case((_replaces(spans, new, "deadline", False), new.deadline),
                      else_=spans.c.deadline),
        ended_at=case((ends_earlier, new.ended_at), else_=spans.c.ended_at),
        month=case((ends_earlier, new.month), else_=spans.c.month))
    upserts["spans"] = statement.on_conflict_do_update(
        index_elements=["leaf", "antenna_id", "key"], set_=set_).returning(spans.c.leaf)
    return upserts


def _replaces(table: Any, new: Any, column: str, earlier: bool) -> Any:
    """In an upsert: the incoming value wins (there was none, or it is earlier, or later)."""
    old = table.c[column]
    better = new[column] < old if earlier else new[column] > old
    return or_(old.is_(None), and_(new[column].is_not(None), better))


def _later(a: str, b: str) -> bool:
    """The later of two deadlines as the rebuild's max() orders them: as text (the platform
    publishes every instant in UTC ISO 8601, where text order is time order)."""
    return a > b


def set_aside(uow: UnitOfWork, body: Mapping[str, Any], reason: str, now: datetime) -> None:
    """Keep an event this service cannot read (unknown type or schema version, or a payload that
    does not validate), whole, with the reason. The caller has claimed its id."""
    uow.session.execute(insert(SetAside).values(
        event_id=str(body.get("event_id")), source=str(body.get("source"))[:50],
        event_type=str(body.get("event_type"))[:100],
        schema_version=int(body.get("schema_version") or 0),
        antenna_id=str(body.get("antenna_id"))[:64], reason=reason[:500],
        body=json.dumps(body, default=str), received_at=now))


# -- rebuild --------------------------------------------------------------------------------------

def rebuild(session: Session, catalogue: Catalogue) -> dict:
    """Empty the projections and compute them again from the event store: one INSERT ... SELECT
    per leaf, grouped in the database (never event by event in Python). Span leaves of the same
    shape (the same start, end, key, dimensions and deadline: a median and its share within
    SLA) are computed once and copied. The caller commits; returns rows made per table.

    On PostgreSQL the tables are emptied with TRUNCATE (readers wait for the rebuild's commit
    instead of reading half of it) and the grouping gets the memory to hash rather than sort."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{REBUILD_WORK_MEM}'"))
        session.execute(text("TRUNCATE cells, distinct_values, spans"))
    else:
        for table in (Cell, DistinctValue, Span):
            session.execute(delete(table))
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:       # an index made once after the rows costs less than kept row by row
        session.execute(text(f"DROP INDEX IF EXISTS {SPANS_BY_MONTH}"))
    made = {"cells": 0, "distinct_values": 0, "spans": 0}
    built: dict[tuple, Leaf] = {}
    # a span leaf that keeps a deadline first: the others of its shape copy it (without)
    for leaf in sorted(catalogue.leaves(), key=lambda leaf: leaf.within_field is None):
        if leaf.kind == "span":
            shape = (leaf.start, leaf.start_where, leaf.end, leaf.end_where, leaf.key,
                     leaf.dimensions)
            first = built.get(shape)
            if first is not None and leaf.within_field in (None, first.within_field):
                made["spans"] += _copy_spans(session, first, leaf)
            else:
                made["spans"] += _rebuild_spans(session, leaf)
                built.setdefault(shape, leaf)
        elif leaf.kind == "distinct":
            made["distinct_values"] += _rebuild_distinct(session, leaf)
        else:
            made["cells"] += _rebuild_cells(session, leaf)
    if postgres:
        session.execute(text(f"CREATE INDEX {SPANS_BY_MONTH} ON spans (leaf, month)"))
    return made


SPANS_BY_MONTH = "ix_spans_leaf_month"     # models.Span's index


REBUILD_WORK_MEM = "256MB"


def _copy_spans(session: Session, built: Leaf, leaf: Leaf) -> int:
    """The rows of span leaf `built` again, as `leaf`'s (the same shape gives the same rows;
    the deadline only if `leaf` keeps one, as its live projection does)."""
    columns = [c for c in Span.__table__.columns if c.name not in ("leaf", "deadline")]
    deadline = Span.deadline if leaf.within_field else literal(None)
    source = select(literal(leaf.name).label("leaf"), *columns, deadline.label("deadline")) \
        .where(Span.leaf == built.name).order_by(Span.month)
    result = session.execute(insert(Span).from_select(
        ["leaf", *[c.name for c in columns], "deadline"], source))
    return _rows(result)


def _field(name: str) -> Any:
    return StoredEvent.payload[name]


def _where(event: tuple[str, str], where: Any) -> list:
    """The SQL of `domain.matches`, typed by the wanted value."""
    conditions = [StoredEvent.source == event[0], StoredEvent.event_type == event[1]]
    for name, wanted in where:
        if wanted is None:
            conditions.append(_field(name).as_string().is_(None))
        elif isinstance(wanted, bool):
            conditions.append(_field(name).as_boolean() == wanted)
        elif isinstance(wanted, int | float):
            conditions.append(_field(name).as_float() == float(wanted))
        else:
            conditions.append(_field(name).as_string() == wanted)
    return conditions


def _dimension_columns(leaf: Leaf) -> list:
    columns: list[Any] = [func.coalesce(_field(d).as_string(), domain.NONE)
                          for d in leaf.dimensions]
    columns += [literal(domain.NONE)] * (domain.DIMENSION_COLUMNS - len(columns))
    return [column.label(name) for column, name in zip(columns, DIMS, strict=True)]


def _rows(result: Any) -> int:
    """Rows an INSERT ... SELECT made (the driver's count)."""
    return int(getattr(result, "rowcount", 0) or 0)


def _rebuild_cells(session: Session, leaf: Leaf) -> int:
    dims = _dimension_columns(leaf)
    total: Any = func.sum(_field(leaf.field).as_float()) if leaf.kind == "sum" and leaf.field \
        else literal(0.0)
    source = select(literal(leaf.name).label("leaf"), StoredEvent.month, StoredEvent.antenna_id,
                    *dims, func.count().label("count"),
                    func.coalesce(total, 0.0).label("total")) \
        .where(*_where(leaf.event, leaf.where)) \
        .group_by(StoredEvent.month, StoredEvent.antenna_id, *[d.name for d in dims])
    result = session.execute(insert(Cell).from_select(
        ["leaf", "month", "antenna_id", *DIMS, "count", "total"], source))
    return _rows(result)


def _rebuild_distinct(session: Session, leaf: Leaf) -> int:
    dims = _dimension_columns(leaf)
    value = _field(leaf.field or "").as_string()
    source = select(literal(leaf.name).label("leaf"), StoredEvent.month, StoredEvent.antenna_id,
                    *dims, value.label("value")) \
        .where(*_where(leaf.event, leaf.where), value.is_not(None)).distinct()
    result = session.execute(insert(DistinctValue).from_select(
        ["leaf", "month", "antenna_id", *DIMS, "value"], source))
    return _rows(result)


def _rebuild_spans(session: Session, leaf: Leaf) -> int:
    """Start and end events as one union, grouped by key: the earliest of each side, the start's
    dimensions and latest deadline (as the live projection keeps them)."""
    key = _field(leaf.key or "").as_string()
    nothing = literal(None)

    def side(event: tuple[str, str], where: Any, is_start: bool) -> Any:
        dims = _dimension_columns(leaf) if is_start else \
            [nothing.label(name) for name in DIMS]
        deadline = _field(leaf.within_field).as_string() if is_start and leaf.within_field \
            else nothing
        return select(StoredEvent.antenna_id, key.label("key"), *dims,
                      (StoredEvent.occurred_at if is_start else nothing).label("started_at"),
                      deadline.label("deadline"),
                      (nothing if is_start else StoredEvent.occurred_at).label("ended_at"),
                      (nothing if is_start else StoredEvent.month).label("end_month")) \
            .where(*_where(event, where), key.is_not(None))

    both = union_all(side(leaf.start, leaf.start_where, True),
                     side(leaf.end, leaf.end_where, False)).subquery()
    source = select(literal(leaf.name).label("leaf"), both.c.antenna_id, both.c.key,
                    *[func.coalesce(func.max(both.c[d]), domain.NONE).label(d) for d in DIMS],
                    func.min(both.c.started_at), func.max(both.c.deadline),
                    func.min(both.c.ended_at),
                    func.coalesce(func.min(both.c.end_month), "").label("month")) \
        .group_by(both.c.antenna_id, both.c.key).order_by("month")
    result = session.execute(insert(Span).from_select(
        ["leaf", "antenna_id", "key", *DIMS, "started_at", "deadline", "ended_at", "month"],
        source))
    return _rows(result)


# -- targets --------------------------------------------------------------------------------------

def set_target(uow: UnitOfWork, identity: Identity, code: str, value: float | None,
               catalogue_target: float | None, now: datetime) -> dict:
    """The coordinator sets (or clears, with null) the current plan's target; the change is kept
    in the history. The caller commits."""
    row = uow.session.get(Target, code)
    previous = row.value if row is not None else catalogue_target
    if row is None:
        row = Target(indicator=code)
        uow.session.add(row)
    row.value, row.set_by, row.set_at = value, identity.user, now
    uow.session.add(TargetHistory(indicator=code, previous=previous, value=value,
                                  set_by=identity.user, set_at=now))
    uow.session.flush()
    return {"indicator": code, "target": value, "previous": previous, "set_by": identity.user,
            "set_at": now.isoformat()}
