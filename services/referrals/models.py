"""Tables of the referrals service only. Personal content is stored encrypted (`*_sealed`)."""
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared import outbox


class Base(DeclarativeBase):
    pass


metadata = Base.metadata
outbox.define_tables(metadata)


class PartnerService(Base):
    """An HSDS service of a partner organisation, with the referral reasons it accepts."""

    __tablename__ = "partner_services"
    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(50), index=True)
    name: Mapped[str] = mapped_column(String(200))
    accepts: Mapped[str] = mapped_column(String(500))   # comma-separated reasons
    address: Mapped[str] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    schedule: Mapped[str | None] = mapped_column(String(200), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_status_sent", "status", "sent_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    antenna_id: Mapped[str] = mapped_column(String(64), index=True)
    sender_org: Mapped[str] = mapped_column(String(50), index=True)
    sender_user: Mapped[str] = mapped_column(String(100))
    receiver_org: Mapped[str] = mapped_column(String(50), index=True)
    receiver_service: Mapped[str] = mapped_column(ForeignKey("partner_services.code"))
    subject: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    urgency: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    contact_made_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                             nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # basis
    consent_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    consent_given_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                              nullable=True)
    consent_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                                nullable=True)
    consent_withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                                  nullable=True)
    legal_basis: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # personal content, encrypted at rest; None once redacted or purged
    message_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    client_key_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    identity_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    legal_reference_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    decline_reason_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    redacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    redaction_cause: Mapped[str | None] = mapped_column(String(40), nullable=True)


class ReferralHistory(Base):
    """Every status change: who (user, role, organisation), when, from, to, why. Metadata only:
    a note never carries content (no decline reason, no message)."""

    __tablename__ = "referral_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(30))
    actor_organisation: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)


class AccessLog(Base):
    """Append-only: every read of personal content and every refused attempt."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    user: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30))
    organisation: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(200))
    granted: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
