"""Tables of the tags service only: sites, removal jobs, their history, crew, legal walls."""
from datetime import date, datetime

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
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared import outbox


class Base(DeclarativeBase):
    pass


metadata = Base.metadata
outbox.define_tables(metadata)


class Site(Base):
    """One building or object that gets tagged; keeps its removal history."""

    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(300))
    address_key: Mapped[str | None] = mapped_column(String(300), nullable=True, index=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    neighbourhood: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_removal_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                             nullable=True)
    removals: Mapped[int] = mapped_column(Integer, default=0)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    incident_id: Mapped[int | None] = mapped_column(Integer, unique=True, nullable=True)
    intake_organisation: Mapped[str | None] = mapped_column(String(50), nullable=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    surface: Mapped[str] = mapped_column(String(20))
    area_m2: Mapped[float] = mapped_column(Float)
    height_m: Mapped[float] = mapped_column(Float, default=0.0)
    ownership: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(String(20))
    photos: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of references
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    recurrence: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    awaiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                            nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The owner who signed the waiver, and how to reach them: personal data, read only as
    # policy.may_read_owner_contact allows, every read logged.
    consent_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    consent_owner_phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    consent_owner_email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    consent_given_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                              nullable=True)
    consent_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    consent_recorded_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    scheduled_for: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    scheduled_crew: Mapped[str] = mapped_column(Text, default="[]")
    removed_m2: Mapped[float | None] = mapped_column(Float, nullable=True)
    method: Mapped[str | None] = mapped_column(String(30), nullable=True)
    minutes_spent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    crew: Mapped[str] = mapped_column(Text, default="[]")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                          nullable=True)
    reject_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)


class KnownIncident(Base):
    """What the tags service last learned of an incident from the incidents service itself
    (`version`: the length of the incident's history then). Events of one incident arrive in any
    order; the job follows the newest knowledge, and a handler holds this row's lock while it
    decides, so two handlers of one incident cannot both act on an older reading."""

    __tablename__ = "known_incidents"
    incident_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    parent_category: Mapped[str] = mapped_column(String(50))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class JobHistory(Base):
    __tablename__ = "job_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class CrewMember(Base):
    """A member of the crew, managed by the coordinator; deactivated, never deleted (completed
    jobs name who did the work)."""

    __tablename__ = "crew_members"
    __table_args__ = (Index("ux_crew_members_antenna_name", "antenna_id", "name", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(100))
    hours_per_day: Mapped[float] = mapped_column(Float, default=7.6)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CrewAbsence(Base):
    """Days a member is away (both included). No reason is kept: the plan needs the dates only."""

    __tablename__ = "crew_absences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("crew_members.id"), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContactAccessLog(Base):
    """Append-only: who read an owner's contact on a consent record, when and why."""

    __tablename__ = "contact_access_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    user: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30))
    organisation: Mapped[str] = mapped_column(String(50))
    purpose: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LegalWall(Base):
    """A wall where graffiti is allowed: jobs there are rejected, not planned."""

    __tablename__ = "legal_walls"
    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
