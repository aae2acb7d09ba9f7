"""What the referrals service does. Access is decided here, in the service, and every read of
personal content, and every refused attempt, is written to the access log."""
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from services.referrals import domain
from services.referrals.models import AccessLog, PartnerService, Referral
from services.referrals.reference import directory_reference
from shared.clock import as_utc
from shared.errors import (
    Forbidden,
    InvalidTransition,
    LisaError,
    NotFound,
    ValidationFailed,
    has_nul,
)
from shared.fields import record_id
from shared.identity import Identity
from shared.reference import partners
from shared.sealing import reseal, seal, unseal


def seed_reference_data(session) -> None:
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


# -- access log ---------------------------------------------------------------------------------

def log_access(session, identity: Identity, referral_id, action: str, purpose: str,
               granted: bool, now: datetime) -> None:
    session.add(AccessLog(referral_id=referral_id, user=identity.user, role=identity.role,
                          organisation=identity.organisation, action=action, purpose=purpose,
                          granted=granted, at=now))


def _refuse(uow, identity, referral_id, action, now, error):
    """Write the refused attempt (its own commit, since the caller's work is abandoned), then
    raise. Someone who may not know the referral exists gets the same 404 as a wrong id."""
    uow.session.rollback()
    log_access(uow.session, identity, referral_id, action, f"refused: {error.code}", False, now)
    uow.commit()
    raise error


# -- directory ----------------------------------------------------------------------------------

def organisation_name(code: str) -> str:
    return next((p["fr"] for p in partners() if p["code"] == code), code)


def service_view(service: PartnerService) -> dict:
    return {"code": service.code, "organisation": service.organisation,
            "organisation_name": organisation_name(service.organisation), "name": service.name,
            "accepts": [a for a in service.accepts.split(",") if a], "address": service.address,
            "phone": service.phone, "email": service.email, "schedule": service.schedule,
            "active": service.active}


def list_partners(session, identity: Identity) -> list[dict]:
    return [service_view(s) for s in session.scalars(
        select(PartnerService).order_by(PartnerService.organisation, PartnerService.code))]


def partner_service_to_change(session, identity: Identity, code: str) -> PartnerService:
    """Admins only (403), an existing service (404): asked before the body is read."""
    identity.require_role("admin")
    code = str(code)
    service = session.get(PartnerService, code) if len(code) <= 50 and not has_nul(code) \
        else None
    if service is None:
        raise NotFound("No such partner service.")
    return service


def update_partner_service(uow, identity: Identity, code: str, data: dict) -> dict:
    service = partner_service_to_change(uow.session, identity, code)
    for key in ("name", "address", "phone", "email", "schedule", "active"):
        if key in data:
            setattr(service, key, data[key])
    if "accepts" in data:
        service.accepts = ",".join(sorted(set(data["accepts"])))
    view = service_view(service)
    uow.commit()
    return view


# -- views --------------------------------------------------------------------------------------

def _basis(referral: Referral) -> str:
    if referral.consent_kind:
        return "consent_withdrawn" if referral.consent_withdrawn_at else "consent"
    return referral.legal_basis or "none"


def referral_view(session, referral: Referral, identity: Identity, now: datetime,
                  purpose: str | None = None) -> dict:
    """Metadata for whoever may see it; content only for the two organisations, logged."""
    view = {
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
    if purpose and domain.may_read_content(identity.role, identity.organisation,
                                           referral.sender_org, referral.receiver_org):
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


def _facts(referral: Referral, at: datetime) -> dict:
    return {"referral_id": referral.id, "sender_org": referral.sender_org,
            "receiver_org": referral.receiver_org, "receiver_service": referral.receiver_service,
            "subject": referral.subject, "reason": referral.reason,
            "urgency": referral.urgency, "status": referral.status, "at": at}


# -- commands -------------------------------------------------------------------------------------

def authorise_send(uow, identity: Identity, now: datetime) -> None:
    """May this caller send referrals at all: asked before the body is read; a refusal is
    logged."""
    if not domain.may_send_any(identity.role):
        _refuse(uow, identity, None, "send", now,
                Forbidden(f"Role '{identity.role}' may not send referrals."))


def send(uow, identity: Identity, data: dict, now: datetime) -> dict:
    """Send a referral; a refused one (no basis, expired consent, wrong receiver, a role that
    may not) is written to the access log, then its error is raised."""
    try:
        return _send(uow, identity, data, now)
    except LisaError as error:
        _refuse(uow, identity, None, "send", now, error)


def _send(uow, identity: Identity, data: dict, now: datetime) -> dict:
    if not domain.may_send(identity.role, data["subject"]):
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
    uow.emit("referral_sent", _facts(referral, now), antenna_id=antenna)
    view = referral_view(session, referral, identity, now, purpose="send")
    uow.commit()
    return view


def _load(uow, identity: Identity, referral_id: int, action: str, now: datetime,
          for_update: bool = False) -> Referral:
    try:
        referral_id = record_id(referral_id, NotFound("No such referral."))
    except NotFound as error:  # no record can have that id; logged without it
        _refuse(uow, identity, None, action, now, error)
    query = select(Referral).where(Referral.id == referral_id)
    if for_update:
        query = query.with_for_update()
    referral = uow.session.scalars(query).first()
    if referral is None or referral.antenna_id not in identity.antennas or \
            not domain.may_read_metadata(identity.role, identity.organisation,
                                         referral.sender_org, referral.receiver_org):
        _refuse(uow, identity, referral_id, action, now, NotFound("No such referral."))
    return referral


def get(uow, identity: Identity, referral_id: int, now: datetime) -> dict:
    referral = _load(uow, identity, referral_id, "read", now)
    view = referral_view(uow.session, referral, identity, now, purpose="view referral")
    uow.commit()  # the access log
    return view


def _is_receiver(identity: Identity, referral: Referral) -> bool:
    return domain.may_answer(identity.role, identity.organisation, referral.receiver_org)


def _is_sender(identity: Identity, referral: Referral) -> bool:
    return identity.role in domain.METADATA_ROLES and identity.organisation == referral.sender_org


def _holds_content(identity: Identity, referral: Referral) -> bool:
    return domain.may_read_content(identity.role, identity.organisation, referral.sender_org,
                                   referral.receiver_org)


# action -> who may take it, and what the others are told
MAY_ACT = {
    "accept": (_is_receiver, "Only the receiving organisation answers a referral."),
    "decline": (_is_receiver, "Only the receiving organisation answers a referral."),
    "contact_made": (_is_receiver, "Only the receiving organisation answers a referral."),
    "close": (lambda i, r: _is_receiver(i, r) or _is_sender(i, r),
              "Only the receiver closes; the sender may withdraw."),
    "withdraw_consent": (_holds_content, "Only the two organisations record a withdrawal."),
}


def referral_to_act_on(uow, identity: Identity, referral_id, action: str, now: datetime
                       ) -> Referral:
    """May this caller see this referral (404) and take this action on it at all (403): asked
    by the entrypoints before the body is read, and by the commands; refusals are logged."""
    referral = _load(uow, identity, referral_id, action, now, for_update=True)
    may, refusal = MAY_ACT[action]
    if not may(identity, referral):
        _refuse(uow, identity, referral.id, action, now, Forbidden(refusal))
    return referral


def _answer(uow, identity, referral_id, target, now, action):
    referral = referral_to_act_on(uow, identity, referral_id, action, now)
    try:
        domain.check_transition(referral.status, target)
    except domain.RuleViolation as exc:
        raise InvalidTransition(str(exc)) from None
    return referral


def accept(uow, identity, referral_id, data, now) -> dict:
    referral = _answer(uow, identity, referral_id, domain.ACCEPTED, now, "accept")
    referral.status, referral.answered_at = domain.ACCEPTED, now
    uow.emit("referral_accepted", _facts(referral, now), antenna_id=referral.antenna_id)
    return _done(uow, referral, identity, now, "accept")


def decline(uow, identity, referral_id, data, now) -> dict:
    referral = _answer(uow, identity, referral_id, domain.DECLINED, now, "decline")
    referral.status, referral.answered_at = domain.DECLINED, now
    referral.decline_reason_sealed = seal(data["reason"])
    referral.closed_at = now
    uow.emit("referral_declined", _facts(referral, now), antenna_id=referral.antenna_id)
    return _done(uow, referral, identity, now, "decline")


def contact_made(uow, identity, referral_id, data, now) -> dict:
    referral = _answer(uow, identity, referral_id, domain.CONTACT_MADE, now, "contact_made")
    referral.status, referral.contact_made_at = domain.CONTACT_MADE, now
    uow.emit("referral_contact_made", _facts(referral, now), antenna_id=referral.antenna_id)
    return _done(uow, referral, identity, now, "contact made")


def close(uow, identity, referral_id, data, now) -> dict:
    """The receiver closes with an outcome; the sender may only withdraw an unanswered one."""
    referral = referral_to_act_on(uow, identity, referral_id, "close", now)
    if not (_is_receiver(identity, referral) or data["outcome"] == "withdrawn"):
        _refuse(uow, identity, referral.id, "close", now,
                Forbidden("Only the receiver closes; the sender may withdraw."))
    try:
        domain.check_transition(referral.status, domain.CLOSED)
        domain.check_outcome(referral.status, data["outcome"])
    except domain.RuleViolation as exc:
        raise InvalidTransition(str(exc)) from None
    referral.status, referral.outcome, referral.closed_at = domain.CLOSED, data["outcome"], now
    _emit_closed(uow, referral, now)
    return _done(uow, referral, identity, now, "close")


def _emit_closed(uow, referral, now):
    uow.emit("referral_closed", {
        **_facts(referral, now), "outcome": referral.outcome,
        "successful": domain.is_successful(referral.status, referral.outcome)},
        antenna_id=referral.antenna_id)


def _done(uow, referral, identity, now, purpose) -> dict:
    view = referral_view(uow.session, referral, identity, now, purpose=purpose)
    uow.commit()
    return view


def _redact(referral: Referral, cause: str, now: datetime) -> None:
    referral.message_sealed = referral.client_key_sealed = referral.identity_sealed = None
    referral.legal_reference_sealed = referral.decline_reason_sealed = None
    referral.redacted_at, referral.redaction_cause = now, cause


def withdraw_consent(uow, identity, referral_id, data, now) -> dict:
    """The person withdrew consent: the personal content goes, everywhere, now."""
    referral = referral_to_act_on(uow, identity, referral_id, "withdraw_consent", now)
    if referral.consent_kind is None:
        raise InvalidTransition("This referral does not rest on consent.")
    if referral.consent_withdrawn_at is not None:
        raise InvalidTransition("Consent was already withdrawn.")
    referral.consent_withdrawn_at = now
    _redact(referral, "consent_withdrawn", now)
    log_access(uow.session, identity, referral.id, "withdraw_consent", "consent withdrawn",
               True, now)
    if referral.status == domain.SENT:
        referral.status, referral.outcome, referral.closed_at = domain.CLOSED, "withdrawn", now
        _emit_closed(uow, referral, now)
    view = referral_view(uow.session, referral, identity, now)
    uow.commit()
    return view


# -- queries ------------------------------------------------------------------------------------

def authorise_list(uow, identity: Identity, now: datetime) -> None:
    if identity.role not in domain.METADATA_ROLES | {"coordinator", "auditor", "admin"}:
        _refuse(uow, identity, None, "list", now, Forbidden("You may not read referrals."))


def authorise_audit(uow, identity: Identity, now: datetime) -> None:
    if identity.role != "auditor":
        _refuse(uow, identity, None, "audit", now, Forbidden("Auditors only."))


def list_referrals(uow, identity: Identity, query: dict, now: datetime) -> dict:
    """Metadata only; content is read one referral at a time (and logged)."""
    authorise_list(uow, identity, now)
    statement = select(Referral).where(Referral.antenna_id.in_(identity.antennas))
    own = identity.organisation
    if identity.role in domain.METADATA_ROLES:
        statement = statement.where(or_(Referral.sender_org == own, Referral.receiver_org == own))
    if query["box"] == "inbox":
        statement = statement.where(Referral.receiver_org == own)
    elif query["box"] == "outbox":
        statement = statement.where(Referral.sender_org == own)
    for key, column in (("status", Referral.status), ("reason", Referral.reason)):
        if key in query:
            statement = statement.where(column == query[key])
    total = uow.session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = uow.session.scalars(statement.order_by(Referral.sent_at.desc(), Referral.id.desc())
                               .limit(query["limit"]).offset(query["offset"])).all()
    return {"items": [referral_view(uow.session, r, identity, now) for r in rows],
            "total": total, "limit": query["limit"], "offset": query["offset"]}


def audit_log(uow, identity: Identity, query: dict, now: datetime) -> list[dict]:
    authorise_audit(uow, identity, now)
    statement = select(AccessLog)
    if "referral_id" in query:
        statement = statement.where(AccessLog.referral_id == query["referral_id"])
    if "user" in query:
        statement = statement.where(AccessLog.user == query["user"])
    rows = uow.session.scalars(statement.order_by(AccessLog.id.desc()).limit(query["limit"])
                               .offset(query["offset"])).all()
    return [{"referral_id": r.referral_id, "user": r.user, "role": r.role,
             "organisation": r.organisation, "action": r.action, "purpose": r.purpose,
             "granted": r.granted, "at": as_utc(r.at)} for r in rows]


# -- timers -------------------------------------------------------------------------------------

def remind_and_expire(uow, now: datetime, remind_after: int, expire_after: int) -> dict:
    """Unanswered referrals: a reminder after N working days, expiry after M."""
    counts = {"reminded": 0, "expired": 0}
    for referral in uow.session.scalars(select(Referral).where(Referral.status == domain.SENT)):
        sent = as_utc(referral.sent_at)
        if domain.expired(sent, now, expire_after):
            referral.status, referral.closed_at = domain.EXPIRED, now
            _emit_closed(uow, referral, now)
            counts["expired"] += 1
        elif domain.reminder_due(sent, now, remind_after, as_utc(referral.reminded_at)):
            referral.reminded_at = now
            counts["reminded"] += 1
    uow.commit()
    return counts


def purge(uow, now: datetime, days: int) -> int:
    """Erase the personal content of referrals closed more than `days` ago; the anonymised
    metadata stays for the indicators."""
    cutoff = now - timedelta(days=days)
    rows = uow.session.scalars(select(Referral).where(
        Referral.status.in_((domain.CLOSED, domain.DECLINED, domain.EXPIRED)),
        Referral.closed_at < cutoff, Referral.redacted_at.is_(None))).all()
    for referral in rows:
        _redact(referral, "retention", now)
    uow.commit()
    return len(rows)


# -- operations ---------------------------------------------------------------------------------

SEALED_COLUMNS = ("message_sealed", "client_key_sealed", "identity_sealed",
                  "legal_reference_sealed", "decline_reason_sealed")


def reseal_content(session, batch_size: int = 200) -> int:
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
