"""What the referrals service does, one function per command: access decided here, in the
service (policy.py), every status change through the one lifecycle helper with its history
row, every refused attempt written to the access log. Reads are in views.py."""
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.referrals import domain, policy, views
from services.referrals.models import PartnerService, Referral, ReferralHistory
from services.referrals.reference import directory_reference
from shared import state_machine
from shared.clock import as_utc
from shared.errors import (
    Forbidden,
    InvalidTransition,
    LisaError,
    NotFound,
    ValidationFailed,
    has_nul,
)
from shared.identity import Identity
from shared.sealing import reseal, seal
from shared.unit_of_work import UnitOfWork

View = dict[str, Any]
SERVICE_NAME = "referrals"


def seed_reference_data(session: Session) -> None:
    """The directory as shipped; an admin's later changes to a service are kept."""
    for organisation in directory_reference():
        for service in organisation["services"]:
            if session.get(PartnerService, service["code"]) is None:
                session.add(PartnerService(
                    code=service["code"], organisation=organisation["organisation"],
                    name=service["name"], accepts=",".join(service["accepts"]),
                    address=service["address"], phone=service.get("phone"),
                    email=service.get("email"), schedule=service.get("schedule"),
                    active=True))
    session.flush()


# -- directory ----------------------------------------------------------------------------------

def partner_service_to_change(session: Session, identity: Identity, code: object
                              ) -> PartnerService:
    """Admins only (403), an existing service (404): asked before the body is read."""
    if not policy.may_change_directory(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not change the directory.")
    code = str(code)
    service = session.get(PartnerService, code) if len(code) <= 50 and not has_nul(code) \
        else None
    if service is None:
        raise NotFound("No such partner service.")
    return service


def update_partner_service(uow: UnitOfWork, identity: Identity, code: object,
                           data: Mapping[str, Any]) -> View:
    service = partner_service_to_change(uow.session, identity, code)
    for key in ("name", "address", "phone", "email", "schedule", "active"):
        if key in data:
            setattr(service, key, data[key])
    if "accepts" in data:
        service.accepts = ",".join(sorted(set(data["accepts"])))
    view = views.service_view(service)
    uow.commit()
    return view


# -- events, moves and answers ----------------------------------------------------------------

def platform(antenna_id: str) -> Identity:
    """The referrals service acting as the platform (the expiry timer)."""
    return Identity.for_service(SERVICE_NAME, (antenna_id,))


def _history(session: Session, referral: Referral, by: Identity) -> state_machine.Write:
    return lambda step: session.add(ReferralHistory(
        referral_id=referral.id, actor_organisation=by.organisation, **step.row()))


def _move(session: Session, referral: Referral, target: str, by: Identity, now: datetime,
          why: str | None = None) -> state_machine.Step:
    try:
        return state_machine.move(domain.LIFECYCLE, referral, target, by=by, at=now, why=why,
                                  write=_history(session, referral, by))
    except state_machine.MoveRefused as exc:
        raise InvalidTransition(str(exc)) from None


def _facts(referral: Referral, at: datetime) -> dict[str, Any]:
    return {"referral_id": referral.id, "sender_org": referral.sender_org,
            "receiver_org": referral.receiver_org, "receiver_service": referral.receiver_service,
            "subject": referral.subject, "reason": referral.reason,
            "urgency": referral.urgency, "status": referral.status, "at": at}


# -- commands -------------------------------------------------------------------------------------

def authorise_send(uow: UnitOfWork, identity: Identity, now: datetime) -> None:
    """May this caller send referrals at all: asked before the body is read; a refusal is
    logged."""
    if not policy.may_send_any(identity.role):
        views.refuse(uow, identity, None, "send", now,
                     Forbidden(f"Role '{identity.role}' may not send referrals."))


def send(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any], now: datetime) -> View:
    """Send a referral; a refused one (no basis, expired consent, wrong receiver, a role that
    may not) is written to the access log, then its error is raised."""
    try:
        return _send(uow, identity, data, now)
    except LisaError as error:
        views.refuse(uow, identity, None, "send", now, error)


def _send(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any], now: datetime
          ) -> View:
    if not policy.may_send(identity.role, data["subject"]):
        raise Forbidden(f"Role '{identity.role}' may not send this referral.")
    antenna = identity.acting_antenna()
    session = uow.session
    service = session.get(PartnerService, data["receiver_service"])
    if service is None or not service.active:
        raise ValidationFailed("Unknown receiver.", {"receiver_service": ["No such service."]})
    if data["reason"] not in service.accepts.split(","):
        raise ValidationFailed("This service does not accept that kind of referral.",
                               {"reason": [f"{service.name} accepts: {service.accepts}."]})
    if service.organisation == identity.organisation:
        raise ValidationFailed("A referral goes to another organisation.",
                               {"receiver_service": ["That is your own organisation."]})
    consent, legal = data.get("consent"), data.get("legal_basis")
    if consent and legal:
        raise ValidationFailed("Give consent or a legal basis, not both.",
                               {"legal_basis": ["Not with a consent."]})
    basis = domain.Basis(
        consent_kind=consent and consent["kind"],
        consent_given_at=consent and consent["given_at"],
        consent_receiver=service.organisation if consent else None,
        consent_expires_at=consent and consent.get("expires_at"),
        legal_basis=legal and legal["basis"], legal_reference=legal and legal["reference"])
    if data["subject"] == "situation" and (data.get("client_key") or consent or legal):
        raise ValidationFailed("A situation carries no client, consent or legal basis.",
                               {"subject": ["Use 'person' for a referral about someone."]})
    try:
        domain.check_basis(data["subject"], basis, service.organisation, now,
                           shares_identity=data.get("identity") is not None)
    except domain.RuleViolation as exc:
        raise ValidationFailed(str(exc), {"basis": [str(exc)]}) from None
    referral = Referral(
        antenna_id=antenna, sender_org=identity.organisation, sender_user=identity.user,
        receiver_org=service.organisation, receiver_service=service.code,
        subject=data["subject"], reason=data["reason"], urgency=data["urgency"],
        status=domain.SENT, sent_at=now, consent_kind=basis.consent_kind,
        consent_given_at=basis.consent_given_at, consent_expires_at=basis.consent_expires_at,
        legal_basis=basis.legal_basis, message_sealed=seal(data["message"]),
        client_key_sealed=seal(data.get("client_key")),
        identity_sealed=seal(data.get("identity")),
        legal_reference_sealed=seal(basis.legal_reference))
    session.add(referral)
    session.flush()
    state_machine.begin(domain.LIFECYCLE, referral, domain.SENT, by=identity, at=now,
                        write=_history(session, referral, identity))
    uow.emit("referral_sent", _facts(referral, now), antenna_id=antenna)
    return _done(uow, referral, identity, now, "send")


def _is_receiver(identity: Identity, referral: Referral) -> bool:
    return policy.may_answer(identity.role, identity.organisation, referral.receiver_org)


def _is_sender(identity: Identity, referral: Referral) -> bool:
    return policy.is_sender(identity.role, identity.organisation, referral.sender_org)


def _holds_content(identity: Identity, referral: Referral) -> bool:
    return policy.may_read_content(identity.role, identity.organisation, referral.sender_org,
                                   referral.receiver_org)


# action -> who may take it, and what the others are told
MAY_ACT: dict[str, tuple[Callable[[Identity, Referral], bool], str]] = {
    "accept": (_is_receiver, "Only the receiving organisation answers a referral."),
    "decline": (_is_receiver, "Only the receiving organisation answers a referral."),
    "contact_made": (_is_receiver, "Only the receiving organisation answers a referral."),
    "close": (lambda i, r: _is_receiver(i, r) or _is_sender(i, r),
              "Only the receiver closes; the sender may withdraw."),
    "withdraw_consent": (_holds_content, "Only the two organisations record a withdrawal."),
}


def referral_to_act_on(uow: UnitOfWork, identity: Identity, referral_id: object, action: str,
                       now: datetime) -> Referral:
    """May this caller see this referral (404) and take this action on it at all (403): asked
    by the entrypoints before the body is read, and by the commands; refusals are logged."""
    referral = views.load(uow, identity, referral_id, action, now, for_update=True)
    may, refusal = MAY_ACT[action]
    if not may(identity, referral):
        views.refuse(uow, identity, referral.id, action, now, Forbidden(refusal))
    return referral


def _done(uow: UnitOfWork, referral: Referral, identity: Identity, now: datetime,
          purpose: str) -> View:
    """The referral as the caller sees it after the command (content read and logged if the
    caller may), then the commit."""
    view = views.referral_with_content_logged(uow.session, identity, referral, now, purpose)
    uow.commit()
    return view


def accept(uow: UnitOfWork, identity: Identity, referral_id: object, data: Mapping[str, Any],
           now: datetime) -> View:
    referral = referral_to_act_on(uow, identity, referral_id, "accept", now)
    _move(uow.session, referral, domain.ACCEPTED, identity, now)
    uow.emit("referral_accepted", _facts(referral, now), antenna_id=referral.antenna_id)
    return _done(uow, referral, identity, now, "accept")


def decline(uow: UnitOfWork, identity: Identity, referral_id: object, data: Mapping[str, Any],
            now: datetime) -> View:
    """The reason is content (sealed, for the two organisations): the history says only that
    the referral was declined."""
    referral = referral_to_act_on(uow, identity, referral_id, "decline", now)
    _move(uow.session, referral, domain.DECLINED, identity, now)
    referral.decline_reason_sealed = seal(data["reason"])
    uow.emit("referral_declined", _facts(referral, now), antenna_id=referral.antenna_id)
    return _done(uow, referral, identity, now, "decline")


def contact_made(uow: UnitOfWork, identity: Identity, referral_id: object,
                 data: Mapping[str, Any], now: datetime) -> View:
    referral = referral_to_act_on(uow, identity, referral_id, "contact_made", now)
    _move(uow.session, referral, domain.CONTACT_MADE, identity, now)
    uow.emit("referral_contact_made", _facts(referral, now), antenna_id=referral.antenna_id)
    return _done(uow, referral, identity, now, "contact made")


def close(uow: UnitOfWork, identity: Identity, referral_id: object, data: Mapping[str, Any],
          now: datetime) -> View:
    """The receiver closes with an outcome; the sender may only withdraw an unanswered one."""
    referral = referral_to_act_on(uow, identity, referral_id, "close", now)
    if not (_is_receiver(identity, referral) or data["outcome"] == "withdrawn"):
        views.refuse(uow, identity, referral.id, "close", now,
                     Forbidden("Only the receiver closes; the sender may withdraw."))
    try:
        domain.check_outcome(referral.status, data["outcome"])
    except domain.RuleViolation as exc:
        raise InvalidTransition(str(exc)) from None
    _move(uow.session, referral, domain.CLOSED, identity, now, f"outcome: {data['outcome']}")
    referral.outcome = data["outcome"]
    _emit_closed(uow, referral, now)
    return _done(uow, referral, identity, now, "close")


def _emit_closed(uow: UnitOfWork, referral: Referral, now: datetime) -> None:
    uow.emit("referral_closed", {
        **_facts(referral, now), "outcome": referral.outcome,
        "successful": domain.is_successful(referral.status, referral.outcome)},
        antenna_id=referral.antenna_id)


def _redact(referral: Referral, cause: str, now: datetime) -> None:
    referral.message_sealed = referral.client_key_sealed = referral.identity_sealed = None
    referral.legal_reference_sealed = referral.decline_reason_sealed = None
    referral.redacted_at, referral.redaction_cause = now, cause


def withdraw_consent(uow: UnitOfWork, identity: Identity, referral_id: object,
                     data: Mapping[str, Any], now: datetime) -> View:
    """The person withdrew consent: the personal content goes, everywhere, now; a referral not
    answered yet is closed as withdrawn."""
    referral = referral_to_act_on(uow, identity, referral_id, "withdraw_consent", now)
    if referral.consent_kind is None:
        raise InvalidTransition("This referral does not rest on consent.")
    if referral.consent_withdrawn_at is not None:
        raise InvalidTransition("Consent was already withdrawn.")
    referral.consent_withdrawn_at = now
    _redact(referral, "consent_withdrawn", now)
    views.log_access(uow.session, identity, referral.id, "withdraw_consent",
                     "consent withdrawn", True, now)
    if referral.status == domain.SENT:
        _move(uow.session, referral, domain.CLOSED, identity, now,
              "outcome: withdrawn (consent withdrawn)")
        referral.outcome = "withdrawn"
        _emit_closed(uow, referral, now)
    return _done(uow, referral, identity, now, "withdraw consent")


# -- timers -------------------------------------------------------------------------------------

def remind_and_expire(uow: UnitOfWork, now: datetime, remind_after: int,
                      expire_after: int) -> dict[str, int]:
    """Unanswered referrals: a reminder after N working days, expiry (by the platform) after
    M."""
    counts = {"reminded": 0, "expired": 0}
    # Every replica runs this timer: each row is locked while it is decided, and a row another
    # replica holds is skipped (PostgreSQL; SQLite has one writer), so no referral is expired,
    # with its history row and event, twice (review of issues 7, 8 and 13, finding 9). The lock
    # re-reads the row: one a replica has just expired no longer matches `sent`.
    due = select(Referral).where(Referral.status == domain.SENT).order_by(Referral.id) \
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    for referral in uow.session.scalars(due).all():
        sent = as_utc(referral.sent_at) or now
        if domain.expired(sent, now, expire_after):
            _move(uow.session, referral, domain.EXPIRED, platform(referral.antenna_id), now,
                  f"no answer within {expire_after} working days")
            _emit_closed(uow, referral, now)
            counts["expired"] += 1
        elif domain.reminder_due(sent, now, remind_after, as_utc(referral.reminded_at)):
            referral.reminded_at = now
            counts["reminded"] += 1
    uow.commit()
    return counts


def purge(uow: UnitOfWork, now: datetime, days: int) -> int:
    """Erase the personal content of referrals closed more than `days` ago; the anonymised
    metadata stays for the indicators."""
    cutoff = now - timedelta(days=days)
    rows = uow.session.scalars(select(Referral).where(
        Referral.status.in_(domain.LIFECYCLE.final), Referral.closed_at < cutoff,
        Referral.redacted_at.is_(None))).all()
    for referral in rows:
        _redact(referral, "retention", now)
    uow.commit()
    return len(rows)


# -- operations ---------------------------------------------------------------------------------

SEALED_COLUMNS = ("message_sealed", "client_key_sealed", "identity_sealed",
                  "legal_reference_sealed", "decline_reason_sealed")


def reseal_content(session: Session, batch_size: int = 200) -> int:
    """Encrypt every referral's sealed content again with the first key of
    LISA_ENCRYPTION_KEYS, so the keys after it can be removed (ADR 12). One commit per batch,
    rows locked while resealed: safe to interrupt and to run again. Returns the referrals with
    content."""
    resealed, after = 0, 0
    while True:
        rows = session.scalars(select(Referral).where(Referral.id > after)
                               .order_by(Referral.id).limit(batch_size).with_for_update()).all()
        if not rows:
            return resealed
        for referral in rows:
            values = [getattr(referral, column) for column in SEALED_COLUMNS]
            for column, value in zip(SEALED_COLUMNS, values, strict=True):
                setattr(referral, column, reseal(value))
            resealed += any(v is not None for v in values)
        after = rows[-1].id
        session.commit()
