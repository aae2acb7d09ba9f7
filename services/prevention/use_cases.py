"""What the prevention service does, one function per command: access decided here (policy.py)
before the body is used, every status change through shared/state_machine.py with its history
row, confidential text sealed, and the indicators' event written in the same unit of work.
Events carry counts and codes only (events.py). Reads are in views.py."""
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.prevention import domain, policy, views
from services.prevention.models import (
    Accompaniment,
    AccompanimentReferral,
    Concertation,
    History,
    MediationCase,
    MediationSession,
    OutingTally,
    PolicyNote,
    StaffPseudonym,
    Visit,
)
from shared import state_machine
from shared.errors import InvalidTransition, ValidationFailed
from shared.geo import neighbourhood_named
from shared.identity import Identity
from shared.reference import partner_codes
from shared.sealing import reseal, seal
from shared.unit_of_work import UnitOfWork

View = dict[str, Any]
SERVICE_NAME = "prevention"
TECHNOPREVENTION = "technoprevention"   # the partner that makes the visits
NEIGHBOUR_CONFLICT, BURGLARY = "neighbour_conflict", "burglary"   # incident categories


def _rule(exc: domain.RuleViolation, field: str) -> ValidationFailed:
    return ValidationFailed(str(exc), {field: [str(exc)]})


def _neighbourhood(name: str) -> str:
    known = neighbourhood_named(name)
    if known is None:
        raise ValidationFailed("Unknown neighbourhood.",
                               {"neighbourhood": ["Not a neighbourhood of the antenna."]})
    return known


def _day(data: Mapping[str, Any], now: datetime, field: str = "day") -> datetime:
    try:
        domain.check_day(data.get(field), now)
    except domain.RuleViolation as exc:
        raise _rule(exc, field) from None
    return domain.activity_time(data.get(field), now)


def _history(session: Session, kind: str, number: int) -> state_machine.Write:
    return lambda step: session.add(History(record_kind=kind, record_id=number, **step.row()))


def _move(session: Session, lifecycle: state_machine.Lifecycle, kind: str, record: Any,
          target: str, by: Identity, at: datetime, why: str | None = None) -> None:
    try:
        state_machine.move(lifecycle, record, target, by=by, at=at, why=why,
                           write=_history(session, kind, record.id))
    except state_machine.MoveRefused as exc:
        raise InvalidTransition(str(exc)) from None


def _begin(session: Session, lifecycle: state_machine.Lifecycle, kind: str, record: Any,
           first: str, by: Identity, at: datetime) -> None:
    record.status = first   # the row needs it; begin() writes its first history line
    session.add(record)
    session.flush()
    state_machine.begin(lifecycle, record, first, by=by, at=at,
                        write=_history(session, kind, record.id))


def _staff(session: Session, identity: Identity) -> StaffPseudonym:
    """The worker's random staff pseudonym, made on first use."""
    found = session.get(StaffPseudonym, identity.user)
    if found is None:
        found = StaffPseudonym(user=identity.user, organisation=identity.organisation,
                               ref=domain.new_key("W"))
        session.add(found)
    return found


# -- street work ------------------------------------------------------------------------------

def authorise_street_work(uow: UnitOfWork, identity: Identity, action: str,
                          now: datetime) -> None:
    views.authorise(uow, identity, policy.may_do_street_work(identity.role), "tally", action,
                    now)


def log_outing(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any],
               now: datetime) -> View:
    """One outing's tally: where, how many, of which new, about what; no identity at all."""
    authorise_street_work(uow, identity, "log_outing", now)
    antenna = identity.acting_antenna()
    neighbourhood = _neighbourhood(data["neighbourhood"])
    try:
        domain.check_tally(data["contacts"], data["new_people"])
    except domain.RuleViolation as exc:
        raise _rule(exc, "new_people") from None
    at = _day(data, now)
    themes = sorted(set(data["themes"]))
    tally = OutingTally(antenna_id=antenna, organisation=identity.organisation,
                        worker=identity.user, day=at.date(), neighbourhood=neighbourhood,
                        contacts=data["contacts"], new_people=data["new_people"],
                        themes=",".join(themes), logged_at=now)
    uow.session.add(tally)
    uow.session.flush()
    staff = _staff(uow.session, identity)
    uow.emit("contacts_logged", {
        "organisation": identity.organisation, "neighbourhood": neighbourhood,
        "worker_ref": staff.ref, "contacts": data["contacts"],
        "new_people": data["new_people"], "themes": themes,
        "in_assigned_neighbourhood": staff.assigned_neighbourhood == neighbourhood},
        antenna_id=antenna, occurred_at=at)
    view = views.tally_view(tally)
    uow.commit()
    return view


def assign_neighbourhood(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any],
                         now: datetime) -> View:
    """The neighbourhood the street worker is assigned to: outings there count for 'contacts
    per street worker per month in the assigned neighbourhood' from now on."""
    authorise_street_work(uow, identity, "assign", now)
    staff = _staff(uow.session, identity)
    staff.assigned_neighbourhood = _neighbourhood(data["neighbourhood"])
    view = {"neighbourhood": staff.assigned_neighbourhood}
    uow.commit()
    return view


def _facts(record: Accompaniment) -> dict[str, Any]:
    return {"organisation": record.organisation, "neighbourhood": record.neighbourhood,
            "themes": views.split(record.themes)}


def open_accompaniment(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any],
                       now: datetime) -> View:
    """A follow-up under a random key the organisation keeps (ADR 26); returned here, once to
    the worker, and to their organisation's staff in the view."""
    authorise_street_work(uow, identity, "open_accompaniment", now)
    antenna = identity.acting_antenna()
    neighbourhood = _neighbourhood(data["neighbourhood"])
    at = _day(data, now)
    record = Accompaniment(antenna_id=antenna, organisation=identity.organisation,
                           client_key=domain.new_key("AC"), opened_by=identity.user,
                           neighbourhood=neighbourhood,
                           themes=",".join(sorted(set(data["themes"]))), opened_at=at,
                           updated_at=at, notes_sealed=seal(data.get("notes")))
    _begin(uow.session, domain.ACCOMPANIMENT, "accompaniment", record, domain.OPENED,
           identity, at)
    uow.emit("accompaniment_opened", _facts(record), antenna_id=antenna, occurred_at=at)
    return _accompaniment_done(uow, identity, record, now, "open accompaniment")


def _accompaniment_done(uow: UnitOfWork, identity: Identity, record: Accompaniment,
                        now: datetime, purpose: str) -> View:
    view = views.accompaniment_in_detail_logged(uow.session, identity, record, now, purpose)
    uow.commit()
    return view


def accompaniment_to_act_on(uow: UnitOfWork, identity: Identity, number: object, action: str,
                            now: datetime) -> Accompaniment:
    """Asked before the body is read: a street worker (403), of its organisation (404)."""
    authorise_street_work(uow, identity, action, now)
    record: Accompaniment = views.load(uow, identity, "accompaniment", number, action, now,
                                       for_update=True)
    return record


def reach_step(uow: UnitOfWork, identity: Identity, number: object, data: Mapping[str, Any],
               referral: Mapping[str, Any] | None, now: datetime) -> View:
    """A step of the follow-up. 'Oriented' needs the referral (as the referrals service showed
    it to this caller): sent by this organisation, about a person, followed up by the
    receiver."""
    record = accompaniment_to_act_on(uow, identity, number, "step", now)
    if data["step"] == domain.ORIENTED and data.get("referral_id") is None:
        raise ValidationFailed("Oriented needs the referral that oriented the person.",
                               {"referral_id": ["Required for 'oriented'."]})
    try:
        domain.check_step(record.status, data["step"], data.get("referral_id"))
    except domain.RuleViolation as exc:
        raise InvalidTransition(str(exc)) from None
    reason = None
    if data.get("referral_id") is not None:
        if referral is None or not domain.referral_counts_as_oriented(dict(referral),
                                                                      identity.organisation):
            raise ValidationFailed("That referral does not orient this person.", {
                "referral_id": ["A referral your organisation sent about a person, whose "
                                "receiver made contact."]})
        taken = uow.session.scalar(select(AccompanimentReferral).where(
            AccompanimentReferral.referral_id == data["referral_id"]))
        if taken is not None:
            raise ValidationFailed("That referral is linked already.",
                                   {"referral_id": ["Linked to another step already."]})
        reason = str(referral["reason"])
    at = _day(data, now)
    _move(uow.session, domain.ACCOMPANIMENT, "accompaniment", record, data["step"], identity, at)
    if reason is not None:
        uow.session.add(AccompanimentReferral(accompaniment_id=record.id,
                                              referral_id=data["referral_id"], reason=reason,
                                              linked_at=now))
        uow.session.flush()
    uow.emit("accompaniment_step_reached",
             {**_facts(record), "step": data["step"], "referral_reason": reason},
             antenna_id=record.antenna_id, occurred_at=at)
    return _accompaniment_done(uow, identity, record, now, "accompaniment step")


def close_accompaniment(uow: UnitOfWork, identity: Identity, number: object,
                        data: Mapping[str, Any], now: datetime) -> View:
    record = accompaniment_to_act_on(uow, identity, number, "close", now)
    reached = record.status
    at = _day(data, now)
    _move(uow.session, domain.ACCOMPANIMENT, "accompaniment", record, domain.CLOSED, identity,
          at, f"outcome: {data['outcome']}")
    record.outcome = data["outcome"]
    uow.emit("accompaniment_closed", {
        **_facts(record), "outcome": record.outcome,
        "continued_participation": record.outcome == domain.CONTINUED, "reached": reached},
        antenna_id=record.antenna_id, occurred_at=at)
    return _accompaniment_done(uow, identity, record, now, "close accompaniment")


# -- concertations and policy notes -----------------------------------------------------------

def authorise_concertation(uow: UnitOfWork, identity: Identity, now: datetime) -> None:
    views.authorise(uow, identity, policy.may_list_concertations(identity.role),
                    "concertation", "record", now)


def record_concertation(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any],
                        now: datetime) -> View:
    """A meeting of partners from the directory; its decisions sealed, for them only. A case
    concertation (art. 458ter) records its legal basis and gets a reference a referral cites."""
    authorise_concertation(uow, identity, now)
    antenna = identity.acting_antenna()
    present = sorted(set(data["organisations"]))
    unknown = [code for code in present if code not in partner_codes()]
    if unknown:
        raise ValidationFailed("Unknown organisations.", {
            "organisations": [f"Not in the partners directory: {', '.join(unknown)}."]})
    if not policy.may_record_concertation(identity.role, identity.organisation, present):
        raise ValidationFailed("Your organisation records the meetings it attends.",
                               {"organisations": ["Include your own organisation."]})
    case = data["kind"] == domain.CASE_CONCERTATION
    if case != (data.get("legal_basis") is not None):
        raise ValidationFailed("A case concertation (art. 458ter), and only it, records its "
                               "legal basis.", {"legal_basis": [
                                   "Required for a case concertation, not for another."]})
    try:
        domain.check_day(data["held_on"], now)
    except domain.RuleViolation as exc:
        raise _rule(exc, "held_on") from None
    # The citable reference carries the record's own id, so two meetings recorded at once
    # cannot be given the same one.
    record = Concertation(antenna_id=antenna, reference=f"pending-{uuid.uuid4().hex[:24]}",
                          kind=data["kind"], held_on=data["held_on"],
                          phenomenon=data.get("phenomenon"), organisations=",".join(present),
                          recorded_by=identity.user, recorded_org=identity.organisation,
                          recorded_at=now, decisions_sealed=seal(data["decisions"]),
                          legal_basis_sealed=seal(data.get("legal_basis")))
    uow.session.add(record)
    uow.session.flush()
    record.reference = f"CC-{data['held_on'].year}-{record.id:05d}"
    uow.emit("concertation_held", {
        "organisation": identity.organisation, "kind": record.kind,
        "phenomenon": record.phenomenon, "organisations": present, "members": len(present)},
        antenna_id=antenna, occurred_at=domain.activity_time(data["held_on"], now))
    views.log_access(uow.session, identity, "concertation", record.id, "record",
                     "record concertation", True, now)
    view = views.concertation_view(record, with_content=True)
    uow.commit()
    return view


def authorise_policy_note(uow: UnitOfWork, identity: Identity, now: datetime) -> None:
    views.authorise(uow, identity, policy.may_file_policy_note(identity.role), "policy_note",
                    "file", now)


def file_policy_note(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any],
                     now: datetime) -> View:
    authorise_policy_note(uow, identity, now)
    antenna = identity.acting_antenna()
    try:
        domain.check_day(data["filed_on"], now)
    except domain.RuleViolation as exc:
        raise _rule(exc, "filed_on") from None
    themes = sorted(set(data["themes"]))
    note = PolicyNote(antenna_id=antenna, organisation=identity.organisation,
                      author=identity.user, filed_on=data["filed_on"], title=data["title"],
                      body=data["body"], themes=",".join(themes), filed_at=now)
    uow.session.add(note)
    uow.session.flush()
    uow.emit("policy_note_filed", {"organisation": identity.organisation, "themes": themes},
             antenna_id=antenna, occurred_at=domain.activity_time(data["filed_on"], now))
    view = views.policy_note_view(note)
    uow.commit()
    return view


# -- neighbour mediation ----------------------------------------------------------------------

def authorise_mediation(uow: UnitOfWork, identity: Identity, action: str,
                        now: datetime) -> None:
    views.authorise(uow, identity, policy.may_mediate(identity.role), "mediation", action, now)


def check_incident(incident: Mapping[str, Any] | None, data: Mapping[str, Any],
                   category: str, antenna: str) -> None:
    """An incident a command names is one the incidents service showed us, of this antenna and
    of the category that leads here; otherwise the field is wrong (422)."""
    if data.get("incident_id") is None:
        return
    if incident is None or incident.get("id") != data["incident_id"] or \
            incident.get("antenna_id") != antenna or category_of(incident) != category:
        raise ValidationFailed("No such incident to follow.", {
            "incident_id": [f"An incident of category {category} of this antenna."]})


def category_of(incident: Mapping[str, Any]) -> str | None:
    """The incident's sub-category, as the incidents API names it (or its own views do)."""
    return incident.get("category") or incident.get("category_code")


def _follows_incident(session: Session, incident_id: int | None) -> bool:
    return incident_id is not None and session.scalar(
        select(MediationCase.id).where(MediationCase.incident_id == incident_id)) is not None


def open_mediation(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any],
                   now: datetime, incident: Mapping[str, Any] | None = None) -> View:
    """A case of the caller's mediation service; each party gets a random key (ADR 26). From a
    neighbour-conflict incident (as the incidents service showed it: `incident`) or not."""
    authorise_mediation(uow, identity, "open", now)
    antenna = identity.acting_antenna()
    neighbourhood = _neighbourhood(data["neighbourhood"])
    check_incident(incident, data, NEIGHBOUR_CONFLICT, antenna)
    if _follows_incident(uow.session, data.get("incident_id")):
        raise ValidationFailed("A mediation case follows that incident already.",
                               {"incident_id": ["Already followed."]})
    at = _day(data, now)
    keys = [domain.new_key("MP") for _ in range(data["parties"])]
    case = MediationCase(antenna_id=antenna, organisation=identity.organisation,
                         subject=data["subject"], neighbourhood=neighbourhood,
                         incident_id=data.get("incident_id"), party_keys=",".join(keys),
                         opened_by=identity.user, opened_at=at, updated_at=at,
                         summary_sealed=seal(data.get("summary")))
    _begin(uow.session, domain.MEDIATION, "mediation", case, domain.M_OPEN, identity, at)
    return _mediation_done(uow, identity, case, now, "open mediation case")


def open_mediation_for_incident(uow: UnitOfWork, incident: Mapping[str, Any],
                                now: datetime) -> None:
    """A neighbour-conflict incident reported (as the incidents service has it): a case opens
    for its responsible mediation service, parties to be met (two keys ready). Nothing if a
    case follows it already (a mediator opened one, or the event came twice)."""
    if _follows_incident(uow.session, incident["id"]):
        return
    platform = Identity.for_service(SERVICE_NAME, (incident["antenna_id"],))
    place = (incident.get("location") or {}).get("neighbourhood")
    case = MediationCase(antenna_id=incident["antenna_id"], organisation=incident["partner"],
                         subject=domain.INCIDENT_SUBJECT,
                         neighbourhood=neighbourhood_named(place) or place or "unknown",
                         incident_id=incident["id"],
                         party_keys=",".join(domain.new_key("MP") for _ in range(2)),
                         opened_by=platform.user, opened_at=now, updated_at=now)
    _begin(uow.session, domain.MEDIATION, "mediation", case, domain.M_OPEN, platform, now)


def _mediation_done(uow: UnitOfWork, identity: Identity, case: MediationCase, now: datetime,
                    purpose: str) -> View:
    view = views.mediation_in_detail_logged(uow.session, identity, case, now, purpose)
    uow.commit()
    return view


def mediation_to_act_on(uow: UnitOfWork, identity: Identity, number: object, action: str,
                        now: datetime) -> MediationCase:
    authorise_mediation(uow, identity, action, now)
    case: MediationCase = views.load(uow, identity, "mediation", number, action, now,
                                     for_update=True)
    return case


def add_mediation_session(uow: UnitOfWork, identity: Identity, number: object,
                          data: Mapping[str, Any], now: datetime) -> View:
    case = mediation_to_act_on(uow, identity, number, "session", now)
    if case.status == domain.M_CLOSED:
        raise InvalidTransition("The case is closed.")
    try:
        domain.check_day(data["held_on"], now)
    except domain.RuleViolation as exc:
        raise _rule(exc, "held_on") from None
    if data["parties_present"] > len(views.split(case.party_keys)):
        raise ValidationFailed("More parties present than the case has.",
                               {"parties_present": ["At most the case's parties."]})
    uow.session.add(MediationSession(case_id=case.id, held_on=data["held_on"],
                                     parties_present=data["parties_present"],
                                     notes_sealed=seal(data.get("notes")),
                                     recorded_by=identity.user))
    if case.status == domain.M_OPEN:
        _move(uow.session, domain.MEDIATION, "mediation", case, domain.M_IN_PROGRESS, identity,
              domain.activity_time(data["held_on"], now), "first session")
    uow.session.flush()
    return _mediation_done(uow, identity, case, now, "mediation session")


def close_mediation(uow: UnitOfWork, identity: Identity, number: object,
                    data: Mapping[str, Any], now: datetime) -> View:
    case = mediation_to_act_on(uow, identity, number, "close", now)
    at = _day(data, now)
    _move(uow.session, domain.MEDIATION, "mediation", case, domain.M_CLOSED, identity, at,
          f"outcome: {data['outcome']}")
    case.outcome = data["outcome"]
    sessions = uow.session.scalar(select(func.count()).select_from(MediationSession).where(
        MediationSession.case_id == case.id)) or 0
    uow.emit("mediation_closed", {
        "organisation": case.organisation, "neighbourhood": case.neighbourhood,
        "subject": case.subject, "outcome": case.outcome,
        "agreement": case.outcome == domain.AGREEMENT, "sessions": sessions,
        "from_incident": case.incident_id is not None},
        antenna_id=case.antenna_id, occurred_at=at)
    return _mediation_done(uow, identity, case, now, "close mediation case")


# -- technoprevention -------------------------------------------------------------------------

def authorise_booking(uow: UnitOfWork, identity: Identity, now: datetime) -> None:
    views.authorise(uow, identity, policy.may_book_visit(identity.role), "visit", "book", now)


def book_visit(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any],
               now: datetime, incident: Mapping[str, Any] | None = None) -> View:
    """Booked by the desk (a citizen's request at the counter, or after a burglary) or by an
    adviser; made by the technoprevention team. The desk gets the booking's number and date,
    never the household's file."""
    authorise_booking(uow, identity, now)
    antenna = identity.acting_antenna()
    neighbourhood = _neighbourhood(data["neighbourhood"])
    if data["origin"] == "burglary_incident" and data.get("incident_id") is None:
        raise ValidationFailed("A visit after a burglary names its incident.",
                               {"incident_id": ["Required for a burglary incident."]})
    if data["origin"] == "burglary_incident":
        check_incident(incident, data, BURGLARY, antenna)
    elif data.get("incident_id") is not None:
        raise ValidationFailed("Only a visit after a burglary names an incident.",
                               {"incident_id": ["Only with origin burglary_incident."]})
    if data["planned_for"] < now.date():
        raise ValidationFailed("A visit is booked for today or later.",
                               {"planned_for": ["In the past."]})
    organisation = identity.organisation if policy.may_work_visits(identity.role) \
        else TECHNOPREVENTION
    visit = Visit(antenna_id=antenna, organisation=organisation, origin=data["origin"],
                  incident_id=data.get("incident_id"), neighbourhood=neighbourhood,
                  housing=data["housing"], planned_for=data["planned_for"],
                  booked_by=identity.user, booked_org=identity.organisation, booked_at=now,
                  updated_at=now, address_sealed=seal(data["address"]),
                  contact_sealed=seal(data["contact"]))
    _begin(uow.session, domain.VISIT, "visit", visit, domain.V_BOOKED, identity, now)
    if policy.may_read_visit(identity.role, identity.organisation, visit.organisation):
        view = views.visit_in_detail_logged(uow.session, identity, visit, now, "book visit")
    else:
        view = views.visit_view(visit)   # the booking, without the household's file
    uow.commit()
    return view


def visit_to_act_on(uow: UnitOfWork, identity: Identity, number: object, action: str,
                    now: datetime) -> Visit:
    views.authorise(uow, identity, policy.may_work_visits(identity.role), "visit", action, now)
    visit: Visit = views.load(uow, identity, "visit", number, action, now, for_update=True)
    return visit


def report_visit(uow: UnitOfWork, identity: Identity, number: object, data: Mapping[str, Any],
                 now: datetime) -> View:
    """The visit took place: recommendations (codes), the report (sealed) and whether the
    household may claim the communal security premium."""
    visit = visit_to_act_on(uow, identity, number, "report", now)
    at = _day(data, now)
    _move(uow.session, domain.VISIT, "visit", visit, domain.V_DONE, identity, at)
    recommendations = sorted(set(data["recommendations"]))
    visit.recommendations = ",".join(recommendations)
    visit.premium_eligible = domain.premium_eligible(
        recommendations, visit.housing,
        data["burglary_victim"] or visit.origin == "burglary_incident")
    visit.report_sealed = seal(data["report"])
    uow.emit("technoprevention_visit_done", {
        "organisation": visit.organisation, "neighbourhood": visit.neighbourhood,
        "origin": visit.origin, "housing": visit.housing,
        "premium_eligible": visit.premium_eligible, "recommendations": recommendations},
        antenna_id=visit.antenna_id, occurred_at=at)
    view = views.visit_in_detail_logged(uow.session, identity, visit, now, "visit report")
    uow.commit()
    return view


def cancel_visit(uow: UnitOfWork, identity: Identity, number: object, data: Mapping[str, Any],
                 now: datetime) -> View:
    visit = visit_to_act_on(uow, identity, number, "cancel", now)
    _move(uow.session, domain.VISIT, "visit", visit, domain.V_CANCELLED, identity, now)
    view = views.visit_in_detail_logged(uow.session, identity, visit, now, "cancel visit")
    uow.commit()
    return view


# -- retention ----------------------------------------------------------------------------------

def purge(uow: UnitOfWork, now: datetime, days: int) -> int:
    """Erase the sealed text of follow-ups, mediation cases and visits that ended more than
    `days` ago (notes, summaries, session notes, a household's address, contact and report);
    the codes, dates and counts stay for the figures. Returns how many records were purged."""
    cutoff = now - timedelta(days=days)
    session = uow.session
    purged = 0
    for record in session.scalars(select(Accompaniment).where(
            Accompaniment.closed_at < cutoff, Accompaniment.notes_sealed.is_not(None))):
        record.notes_sealed = None
        purged += 1
    for case in session.scalars(select(MediationCase).where(MediationCase.closed_at < cutoff)):
        notes = session.scalars(select(MediationSession).where(
            MediationSession.case_id == case.id,
            MediationSession.notes_sealed.is_not(None))).all()
        if case.summary_sealed is None and not notes:
            continue
        case.summary_sealed = None
        for row in notes:
            row.notes_sealed = None
        purged += 1
    for visit in session.scalars(select(Visit).where(
            Visit.updated_at < cutoff, Visit.status.in_(domain.VISIT.final),
            Visit.address_sealed.is_not(None))):
        visit.address_sealed = visit.contact_sealed = visit.report_sealed = None
        purged += 1
    uow.commit()
    return purged


# -- operations ---------------------------------------------------------------------------------

SEALED: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (Accompaniment, ("notes_sealed",)),
    (Concertation, ("decisions_sealed", "legal_basis_sealed")),
    (MediationCase, ("summary_sealed",)),
    (MediationSession, ("notes_sealed",)),
    (Visit, ("address_sealed", "contact_sealed", "report_sealed")),
)


def reseal_content(session: Session, batch_size: int = 200) -> int:
    """Encrypt every sealed text again with the first key of LISA_ENCRYPTION_KEYS (ADR 12);
    one commit per batch, rows locked: safe to interrupt and to run again. Returns how many
    records hold sealed content."""
    resealed = 0
    for model, columns in SEALED:
        after = 0
        while True:
            rows = session.scalars(select(model).where(model.id > after).order_by(model.id)
                                   .limit(batch_size).with_for_update()).all()
            if not rows:
                break
            for row in rows:
                values = [getattr(row, column) for column in columns]
                for column, value in zip(columns, values, strict=True):
                    setattr(row, column, reseal(value))
                resealed += any(v is not None for v in values)
            after = rows[-1].id
            session.commit()
    return resealed
