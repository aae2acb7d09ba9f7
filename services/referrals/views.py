"""What the referrals service shows: the partners directory, referrals (metadata, history and,
for the two organisations, content), lists and the access log. The logged reads say so in their
names: a read of content, and every refused attempt, is written to the access log."""
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.referrals import domain, policy
from services.referrals.models import AccessLog, PartnerService, Referral, ReferralHistory
from shared.clock import as_utc
from shared.errors import Forbidden, LisaError, NotFound
from shared.fields import record_id
from shared.identity import Identity
from shared.metrics import Family, Reading
from shared.paging import fetch_page
from shared.reference import partners
from shared.sealing import unseal
from shared.unit_of_work import UnitOfWork

View = dict[str, Any]


# -- the access log ---------------------------------------------------------------------------

def log_access(session: Session, identity: Identity, referral_id: int | None, action: str,
               purpose: str, granted: bool, now: datetime) -> None:
    session.add(AccessLog(referral_id=referral_id, user=identity.user, role=identity.role,
                          organisation=identity.organisation, action=action, purpose=purpose,
                          granted=granted, at=now))


def refuse(uow: UnitOfWork, identity: Identity, referral_id: int | None, action: str,
           now: datetime, error: LisaError) -> NoReturn:
    """Write the refused attempt (its own commit, since the caller's work is abandoned), then
    raise. Someone who may not know the referral exists gets the same 404 as a wrong id."""
    uow.session.rollback()
    log_access(uow.session, identity, referral_id, action, f"refused: {error.code}", False, now)
    uow.commit()
    raise error


# -- directory ----------------------------------------------------------------------------------

def organisation_name(code: str) -> str:
    return next((p["fr"] for p in partners() if p["code"] == code), code)


def service_view(service: PartnerService) -> View:
    return {"code": service.code, "organisation": service.organisation,
            "organisation_name": organisation_name(service.organisation), "name": service.name,
            "accepts": [a for a in service.accepts.split(",") if a], "address": service.address,
            "phone": service.phone, "email": service.email, "schedule": service.schedule,
            "active": service.active}


def list_partners(session: Session) -> list[View]:
    return [service_view(s) for s in session.scalars(
        select(PartnerService).order_by(PartnerService.organisation, PartnerService.code))]


# -- one referral -------------------------------------------------------------------------------

def _basis(referral: Referral) -> str:
    if referral.consent_kind:
        return "consent_withdrawn" if referral.consent_withdrawn_at else "consent"
    return referral.legal_basis or "none"


def referral_view(referral: Referral) -> View:
    """Metadata: what every reader of the referral sees (lists too)."""
    return {
        "id": referral.id, "sender_org": referral.sender_org,
        "receiver_org": referral.receiver_org, "receiver_service": referral.receiver_service,
        "subject": referral.subject, "reason": referral.reason, "urgency": referral.urgency,
        "status": referral.status, "outcome": referral.outcome,
        "successful": domain.is_successful(referral.status, referral.outcome),
        "sent_at": as_utc(referral.sent_at), "answered_at": as_utc(referral.answered_at),
        "contact_made_at": as_utc(referral.contact_made_at),
        "closed_at": as_utc(referral.closed_at), "basis": _basis(referral),
        "redacted": referral.redacted_at is not None, "content": None,
    }


def history(session: Session, referral: Referral) -> list[View]:
    return [{"from_status": h.from_status, "to_status": h.to_status, "actor": h.actor,
             "actor_role": h.actor_role, "actor_organisation": h.actor_organisation,
             "at": as_utc(h.at), "note": h.note}
            for h in session.scalars(select(ReferralHistory).where(
                ReferralHistory.referral_id == referral.id).order_by(ReferralHistory.id))]


def referral_with_content_logged(session: Session, identity: Identity, referral: Referral,
                                 now: datetime, purpose: str) -> View:
    """One referral: metadata and history for whoever may read them, content only for the two
    organisations, that read written to the access log (the caller commits)."""
    view = referral_view(referral)
    if policy.may_read_history(identity.role, identity.organisation, referral.sender_org,
                               referral.receiver_org):
        view["history"] = history(session, referral)
    if policy.may_read_content(identity.role, identity.organisation, referral.sender_org,
                               referral.receiver_org):
        view["content"] = {
            "message": unseal(referral.message_sealed),
            "client_key": unseal(referral.client_key_sealed),
            "identity": unseal(referral.identity_sealed),
            "legal_reference": unseal(referral.legal_reference_sealed),
            "decline_reason": unseal(referral.decline_reason_sealed),
            "consent": None if not referral.consent_kind else {
                "kind": referral.consent_kind,
                "given_at": as_utc(referral.consent_given_at),
                "expires_at": as_utc(referral.consent_expires_at),
                "withdrawn_at": as_utc(referral.consent_withdrawn_at)},
        }
        log_access(session, identity, referral.id, "read_content", purpose, True, now)
    return view


def load(uow: UnitOfWork, identity: Identity, referral_id: object, action: str,
         now: datetime, for_update: bool = False) -> Referral:
    """The referral if this caller may read its metadata; otherwise the refusal, logged, with
    the same 404 as for an id that does not exist."""
    try:
        number = record_id(referral_id, NotFound("No such referral."))
    except NotFound as error:  # no record can have that id; logged without it
        refuse(uow, identity, None, action, now, error)
    query = select(Referral).where(Referral.id == number)
    if for_update:
        query = query.with_for_update()
    referral = uow.session.scalars(query).first()
    if referral is None or referral.antenna_id not in identity.antennas or \
            not policy.may_read_metadata(identity.role, identity.organisation,
                                         referral.sender_org, referral.receiver_org):
        refuse(uow, identity, number, action, now, NotFound("No such referral."))
    return referral


def referral_by_id_with_content_logged(uow: UnitOfWork, identity: Identity,
                                       referral_id: object, now: datetime) -> View:
    """`GET /referrals/{id}`; commits the access log."""
    referral = load(uow, identity, referral_id, "read", now)
    view = referral_with_content_logged(uow.session, identity, referral, now, "view referral")
    uow.commit()
    return view


# -- lists --------------------------------------------------------------------------------------

def authorise_list(uow: UnitOfWork, identity: Identity, now: datetime) -> None:
    if not policy.may_list(identity.role):
        refuse(uow, identity, None, "list", now, Forbidden("You may not read referrals."))


def list_referrals(uow: UnitOfWork, identity: Identity, query: Mapping[str, Any],
                   now: datetime) -> View:
    """A page of metadata; content is read one referral at a time (and logged)."""
    authorise_list(uow, identity, now)
    statement = select(Referral).where(Referral.antenna_id.in_(identity.antennas))
    own = identity.organisation
    if policy.lists_own_organisation_only(identity.role):
        statement = statement.where(or_(Referral.sender_org == own, Referral.receiver_org == own))
    if query["box"] == "inbox":
        statement = statement.where(Referral.receiver_org == own)
    elif query["box"] == "outbox":
        statement = statement.where(Referral.sender_org == own)
    for key, column in (("status", Referral.status), ("reason", Referral.reason)):
        if key in query:
            statement = statement.where(column == query[key])
    page = fetch_page(uow.session, statement.order_by(Referral.sent_at.desc(),
                                                      Referral.id.desc()), query)
    return page.answer(referral_view)


def authorise_audit(uow: UnitOfWork, identity: Identity, now: datetime) -> None:
    if not policy.may_read_audit(identity.role):
        refuse(uow, identity, None, "audit", now, Forbidden("Auditors only."))


def audit_page(uow: UnitOfWork, identity: Identity, query: Mapping[str, Any],
               now: datetime) -> View:
    """Who read which referral's content, when and why, and every refused attempt; newest
    first."""
    authorise_audit(uow, identity, now)
    statement = select(AccessLog)
    if "referral_id" in query:
        statement = statement.where(AccessLog.referral_id == query["referral_id"])
    if "user" in query:
        statement = statement.where(AccessLog.user == query["user"])
    page = fetch_page(uow.session, statement.order_by(AccessLog.id.desc()), query)
    return page.answer(lambda r: {
        "referral_id": r.referral_id, "user": r.user, "role": r.role,
        "organisation": r.organisation, "action": r.action, "purpose": r.purpose,
        "granted": r.granted, "at": as_utc(r.at)})


AWAITING_ANSWER = Family("lisa_referrals_awaiting_answer", "Referrals sent and not yet "
                         "accepted or declined.", ("antenna", "urgency"))


def gauges(session: Session, now: datetime) -> list[Reading]:
    """Referrals waiting for the receiver's answer, by antenna and urgency, read when
    Prometheus scrapes (counts only: no organisation, no content)."""
    return [AWAITING_ANSWER.rows(session.execute(
        select(Referral.antenna_id, Referral.urgency, func.count())
        .where(Referral.status == domain.SENT)
        .group_by(Referral.antenna_id, Referral.urgency)))]
