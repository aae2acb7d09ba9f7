"""Tables of the patrols service only: posts, demand, wardens and their leave, rosters and their
assignments, swaps, calendar feed tokens, patrol logs and their observations, and the incidents
it counts for hotspots (identifiers, neighbourhood and time only)."""
from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared import outbox


class Base(DeclarativeBase):
    pass


metadata = Base.metadata
outbox.define_tables(metadata)


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    neighbourhood: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    skills: Mapped[str] = mapped_column(String(200), default="")   # comma-separated codes
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Demand(Base):
    __tablename__ = "demands"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)
    required: Mapped[int] = mapped_column(Integer)
    weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)
    on_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    school_days_only: Mapped[bool] = mapped_column(Boolean, default=False)


class Warden(Base):
    __tablename__ = "wardens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(100))
    username: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    contract_hours: Mapped[float] = mapped_column(Float)
    skills: Mapped[str] = mapped_column(String(200), default="")
    desired_days: Mapped[str] = mapped_column(String(40), default="")    # weekday numbers
    undesired_days: Mapped[str] = mapped_column(String(40), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Leave(Base):
    """Days a warden is away (no reason stored: it is none of the roster's business)."""
    __tablename__ = "leaves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warden_id: Mapped[int] = mapped_column(ForeignKey("wardens.id"), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Roster(Base):
    __tablename__ = "rosters"
    __table_args__ = (Index("ix_rosters_period", "antenna_id", "first_day", "last_day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))          # draft, published, superseded
    method: Mapped[str] = mapped_column(String(20))
    solver_status: Mapped[str] = mapped_column(String(20))
    objective: Mapped[int] = mapped_column(Integer)
    bound: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seconds: Mapped[float] = mapped_column(Float)
    changes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    breakdown: Mapped[str] = mapped_column(Text, default="{}")    # JSON
    gaps: Mapped[str] = mapped_column(Text, default="[]")         # JSON
    dropped_pins: Mapped[str] = mapped_column(Text, default="[]")  # JSON
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                          nullable=True)


class RosterHistory(Base):
    __tablename__ = "roster_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("rosters.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class RosterAssignment(Base):
    __tablename__ = "roster_assignments"
    __table_args__ = (UniqueConstraint("roster_id", "slot_id", "warden_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("rosters.id"), index=True)
    slot_id: Mapped[str] = mapped_column(String(40))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    warden_id: Mapped[int] = mapped_column(ForeignKey("wardens.id"), index=True)
    start: Mapped[datetime] = mapped_column(DateTime)   # Brussels wall-clock time
    end: Mapped[datetime] = mapped_column(DateTime)


class Swap(Base):
    __tablename__ = "swaps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("rosters.id"), index=True)
    slot_id: Mapped[str] = mapped_column(String(40))
    from_warden_id: Mapped[int] = mapped_column(ForeignKey("wardens.id"))
    to_warden_id: Mapped[int | None] = mapped_column(ForeignKey("wardens.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SwapHistory(Base):
    __tablename__ = "swap_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    swap_id: Mapped[int] = mapped_column(ForeignKey("swaps.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class FeedToken(Base):
    """A calendar subscription: the SHA-256 of the secret in its URL; one warden's own feed, or
    the team's (warden_id null) for the coordinator. Revoked, it answers 404."""
    __tablename__ = "feed_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    warden_id: Mapped[int | None] = mapped_column(ForeignKey("wardens.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PatrolLog(Base):
    __tablename__ = "patrol_logs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    warden_id: Mapped[int] = mapped_column(ForeignKey("wardens.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Observation(Base):
    """A signal, by category only: no free text, no person (law of 15 May 2007)."""
    __tablename__ = "observations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("patrol_logs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HotspotIncident(Base):
    """An incident the incidents service reported: where (neighbourhood) and when, no more."""
    __tablename__ = "hotspot_incidents"
    incident_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    neighbourhood: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AccessLog(Base):
    """Who read a warden's leave or the whole team's schedule, when and why (DESIGN.md 5)."""
    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64))
    user: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(40))
    what: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
