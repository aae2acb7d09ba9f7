"""Tables of the incidents service only."""
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
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


class Phenomenon(Base):
    __tablename__ = "phenomena"
    plan_period: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    label_fr: Mapped[str] = mapped_column(String(200))
    label_nl: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))


class Category(Base):
    __tablename__ = "categories"
    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("categories.code"), nullable=True)
    label_fr: Mapped[str] = mapped_column(String(200))
    label_nl: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    phenomenon: Mapped[str | None] = mapped_column(String(50), nullable=True)
    partner: Mapped[str | None] = mapped_column(String(50), nullable=True)
    sla_working_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    zone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class TicketCounter(Base):
    __tablename__ = "ticket_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_category_status", "category_code", "status"),
        Index("ix_incidents_status_due", "status", "sla_due_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket: Mapped[str] = mapped_column(String(20), unique=True)
    # One incident per report request, however often the request is delivered or retried.
    request_key: Mapped[str | None] = mapped_column(String(250), unique=True, nullable=True)
    # SHA-256 of that request's body: the same key with another body is refused, not answered
    # with this incident.
    request_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(300))
    street_key: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    neighbourhood: Mapped[str | None] = mapped_column(String(100), nullable=True)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="new")
    partner: Mapped[str] = mapped_column(String(50))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)
    reported_by: Mapped[str] = mapped_column(String(100))
    intake_organisation: Mapped[str] = mapped_column(String(50))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    sla_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    triaged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Citizen contact: personal data, shown only as DESIGN.md section 5 allows, reads logged.
    reporter_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reporter_phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    reporter_email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    consent_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_police: Mapped[bool] = mapped_column(Boolean, default=False)


class IncidentHistory(Base):
    __tablename__ = "incident_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    partner: Mapped[str | None] = mapped_column(String(50), nullable=True)
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class ContactAccessLog(Base):
    """Append-only: who read a citizen's contact, when and why (DESIGN.md section 5)."""

    __tablename__ = "contact_access_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    user: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30))
    organisation: Mapped[str] = mapped_column(String(50))
    purpose: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Open311Request(Base):
    """What an Open311 GeoReport v2 client sent beside the incident (ADR 30): the token it may
    look its request up by, which client sent it, and the service definition's answers."""

    __tablename__ = "open311_requests"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True,
                                             autoincrement=False)
    token: Mapped[str] = mapped_column(String(36), unique=True)
    client: Mapped[str] = mapped_column(String(100))
    attributes: Mapped[dict] = mapped_column(JSON)
