"""Tables of the prevention service only (the social zone). Confidential free text is stored
encrypted (`*_sealed`, shared/sealing.py); pseudonymous keys are random (ADR 26) and never leave
the service except to the organisation that holds them."""
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared import outbox


class Base(DeclarativeBase):
    pass


metadata = Base.metadata
outbox.define_tables(metadata)


class StaffPseudonym(Base):
    """A random key per street worker, so the 'contacts per street worker' indicator can count
    distinct workers without their names on the bus; and the neighbourhood they are assigned
    to, so it can count the contacts made there."""

    __tablename__ = "staff_pseudonyms"
    user: Mapped[str] = mapped_column(String(100), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(50))
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    assigned_neighbourhood: Mapped[str | None] = mapped_column(String(100), nullable=True)


class OutingTally(Base):
    """One outing: numbers and themes, no identity at all."""

    __tablename__ = "outing_tallies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    organisation: Mapped[str] = mapped_column(String(50), index=True)
    worker: Mapped[str] = mapped_column(String(100))
    day: Mapped[date] = mapped_column(Date, index=True)
    neighbourhood: Mapped[str] = mapped_column(String(100))
    contacts: Mapped[int] = mapped_column(Integer)
    new_people: Mapped[int] = mapped_column(Integer)
    themes: Mapped[str] = mapped_column(String(300))   # comma-separated
    logged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Accompaniment(Base):
    __tablename__ = "accompaniments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    organisation: Mapped[str] = mapped_column(String(50), index=True)
    client_key: Mapped[str] = mapped_column(String(20), unique=True)
    opened_by: Mapped[str] = mapped_column(String(100))
    neighbourhood: Mapped[str] = mapped_column(String(100))
    themes: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(40))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(40), nullable=True)
    notes_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)


class AccompanimentReferral(Base):
    """A referral (referrals service id) made for an accompaniment: its id and reason only."""

    __tablename__ = "accompaniment_referrals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    accompaniment_id: Mapped[int] = mapped_column(ForeignKey("accompaniments.id"), index=True)
    referral_id: Mapped[int] = mapped_column(Integer, unique=True)
    reason: Mapped[str] = mapped_column(String(40))
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Concertation(Base):
    __tablename__ = "concertations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)   # citable: CC-2026-00007
    kind: Mapped[str] = mapped_column(String(40))
    held_on: Mapped[date] = mapped_column(Date)
    phenomenon: Mapped[str | None] = mapped_column(String(50), nullable=True)
    organisations: Mapped[str] = mapped_column(String(1000))   # comma-separated partner codes
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_org: Mapped[str] = mapped_column(String(50))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decisions_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    legal_basis_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)


class PolicyNote(Base):
    """A note to the commune on local social-policy priorities: not confidential."""

    __tablename__ = "policy_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    organisation: Mapped[str] = mapped_column(String(50), index=True)
    author: Mapped[str] = mapped_column(String(100))
    filed_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    themes: Mapped[str] = mapped_column(String(300))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MediationCase(Base):
    __tablename__ = "mediation_cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    organisation: Mapped[str] = mapped_column(String(50), index=True)
    subject: Mapped[str] = mapped_column(String(30))
    neighbourhood: Mapped[str] = mapped_column(String(100))
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    party_keys: Mapped[str] = mapped_column(String(300))   # comma-separated random keys
    status: Mapped[str] = mapped_column(String(20))
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(30), nullable=True)
    summary_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)


class MediationSession(Base):
    __tablename__ = "mediation_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("mediation_cases.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    parties_present: Mapped[int] = mapped_column(Integer)
    notes_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(100))


class Visit(Base):
    """A technoprevention home-security visit: the address and the report are sealed."""

    __tablename__ = "technoprevention_visits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    organisation: Mapped[str] = mapped_column(String(50), index=True)
    origin: Mapped[str] = mapped_column(String(30))
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    neighbourhood: Mapped[str] = mapped_column(String(100))
    housing: Mapped[str] = mapped_column(String(20))
    planned_for: Mapped[date] = mapped_column(Date)
    booked_by: Mapped[str] = mapped_column(String(100))
    booked_org: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    booked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    visited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    recommendations: Mapped[str | None] = mapped_column(String(300), nullable=True)
    premium_eligible: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    address_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    contact_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    report_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)


class History(Base):
    """Every status change of an accompaniment, a mediation case or a visit: who, when, from,
    to, why (never content)."""

    __tablename__ = "history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_kind: Mapped[str] = mapped_column(String(20), index=True)
    record_id: Mapped[int] = mapped_column(Integer, index=True)
    from_status: Mapped[str | None] = mapped_column(String(40), nullable=True)
    to_status: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)


class AccessLog(Base):
    """Append-only: every read of a case or a tally in detail, and every refused attempt."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_kind: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    user: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30))
    organisation: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(200))
    granted: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
