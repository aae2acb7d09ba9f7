"""What the prevention service shows: tallies, accompaniments, concertations, policy notes,
mediation cases and visits to whoever policy.py lets read them; aggregated figures; the access
log. Every read of a case in detail, and every refused attempt, is written to the access log;
the reads that log say so in their names."""
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.prevention import policy
from services.prevention.models import (
    AccessLog,
    Accompaniment,
    AccompanimentReferral,
    Concertation,
    History,
    MediationCase,
    MediationSession,
    OutingTally,
    PolicyNote,
    Visit,
)
from shared.clock import as_utc
from shared.errors import Forbidden, LisaError, NotFound
from shared.fields import record_id
from shared.identity import Identity
from shared.paging import fetch_page
from shared.sealing import unseal
from shared.unit_of_work import UnitOfWork

View = dict[str, Any]
SUPPRESS_BELOW = 5


# -- the access log ---------------------------------------------------------------------------

def log_access(session: Session, identity: Identity, kind: str, number: int | None,
               action: str, purpose: str, granted: bool, now: datetime) -> None:
    session.add(AccessLog(record_kind=kind, record_id=number, user=identity.user,
                          role=identity.role, organisation=identity.organisation,
                          action=action, purpose=purpose, granted=granted, at=now))


def refuse(uow: UnitOfWork, identity: Identity, kind: str, number: int | None, action: str,
           now: datetime, error: LisaError) -> NoReturn:
    """Write the refused attempt (its own commit: the caller's work is abandoned), then raise.
    Someone who may not know a record exists gets the same 404 as for a wrong id."""
    uow.session.rollback()
    log_access(uow.session, identity, kind, number, action, f"refused: {error.code}", False, now)
    uow.commit()
    raise error


def authorise(uow: UnitOfWork, identity: Identity, allowed: bool, kind: str, action: str,
              now: datetime) -> None:
    """A role that may never do this: 403, logged, before the body is read."""
    if not allowed:
        refuse(uow, identity, kind, None, action, now,
               Forbidden(f"Role '{identity.role}' may not do this."))


# record kind -> (model, may this caller read this record)
READERS: dict[str, tuple[Any, Callable[[Identity, Any], bool]]] = {
    "accompaniment": (Accompaniment, lambda i, r: policy.may_read_street_work(
        i.role, i.organisation, r.organisation)),
    "mediation": (MediationCase, lambda i, r: policy.may_read_mediation(
        i.role, i.organisation, r.organisation)),
    "visit": (Visit, lambda i, r: policy.may_read_visit(i.role, i.organisation,
                                                        r.organisation)),
    "concertation": (Concertation, lambda i, r: policy.may_read_concertation(
        i.role, i.organisation, split(r.organisations))),
}
NAMES = {"accompaniment": "accompaniment", "mediation": "mediation case",
         "visit": "visit", "concertation": "concertation"}


def load(uow: UnitOfWork, identity: Identity, kind: str, number_given: object, action: str,
         now: datetime, for_update: bool = False) -> Any:
    """The record if this caller may read it; otherwise the refusal, logged, as a 404."""
    missing = NotFound(f"No such {NAMES[kind]}.")
    try:
        number = record_id(number_given, missing)
    except NotFound:
        refuse(uow, identity, kind, None, action, now, missing)
    model, may_read = READERS[kind]
    query = select(model).where(model.id == number)
    if for_update:
        query = query.with_for_update()
    record = uow.session.scalars(query).first()
    if record is None or record.antenna_id not in identity.antennas or \
            not may_read(identity, record):
        refuse(uow, identity, kind, number, action, now, missing)
    return record


def split(value: str | None) -> list[str]:
    return [item for item in (value or "").split(",") if item]


def history(session: Session, kind: str, number: int) -> list[View]:
    return [{"from_status": h.from_status, "to_status": h.to_status, "actor": h.actor,
             "actor_role": h.actor_role, "at": as_utc(h.at), "note": h.note}
            for h in session.scalars(select(History).where(
                History.record_kind == kind, History.record_id == number
            ).order_by(History.id))]


# -- street work ------------------------------------------------------------------------------

def tally_view(tally: OutingTally) -> View:
    return {"id": tally.id, "organisation": tally.organisation, "worker": tally.worker,
            "day": tally.day, "neighbourhood": tally.neighbourhood, "contacts": tally.contacts,
            "new_people": tally.new_people, "themes": split(tally.themes)}


def list_tallies_logged(uow: UnitOfWork, identity: Identity, query: Mapping[str, Any],
                        now: datetime) -> View:
    """The caller's organisation's outings (a read of tallies in detail: logged)."""
    authorise(uow, identity, policy.may_do_street_work(identity.role), "tally", "list", now)
    statement = select(OutingTally).where(OutingTally.antenna_id.in_(identity.antennas),
                                          OutingTally.organisation == identity.organisation)
    page = fetch_page(uow.session, statement.order_by(OutingTally.day.desc(),
                                                      OutingTally.id.desc()), query)
    log_access(uow.session, identity, "tally", None, "list", "list outings", True, now)
    uow.commit()
    return page.answer(tally_view)


def accompaniment_view(session: Session, record: Accompaniment) -> View:
    return {"id": record.id, "organisation": record.organisation,
            "client_key": record.client_key, "neighbourhood": record.neighbourhood,
            "themes": split(record.themes), "status": record.status, "outcome": record.outcome,
            "opened_at": as_utc(record.opened_at), "closed_at": as_utc(record.closed_at),
            "referral_ids": list(session.scalars(
                select(AccompanimentReferral.referral_id).where(
                    AccompanimentReferral.accompaniment_id == record.id
                ).order_by(AccompanimentReferral.id)))}


def accompaniment_in_detail_logged(session: Session, identity: Identity,
                                   record: Accompaniment, now: datetime, purpose: str) -> View:
    view = accompaniment_view(session, record)
    view["notes"] = unseal(record.notes_sealed)
    view["history"] = history(session, "accompaniment", record.id)
    log_access(session, identity, "accompaniment", record.id, "read", purpose, True, now)
    return view


def list_accompaniments_logged(uow: UnitOfWork, identity: Identity, query: Mapping[str, Any],
                               now: datetime) -> View:
    authorise(uow, identity, policy.may_do_street_work(identity.role), "accompaniment",
              "list", now)
    statement = select(Accompaniment).where(
        Accompaniment.antenna_id.in_(identity.antennas),
        Accompaniment.organisation == identity.organisation)
    if "status" in query:
        statement = statement.where(Accompaniment.status == query["status"])
    page = fetch_page(uow.session, statement.order_by(Accompaniment.id.desc()), query)
    log_access(uow.session, identity, "accompaniment", None, "list", "list accompaniments",
               True, now)
    uow.commit()
    return page.answer(lambda r: accompaniment_view(uow.session, r))


def accompaniment_by_id_logged(uow: UnitOfWork, identity: Identity, number: object,
                               now: datetime) -> View:
    record = load(uow, identity, "accompaniment", number, "read", now)
    view = accompaniment_in_detail_logged(uow.session, identity, record, now,
                                          "view accompaniment")
    uow.commit()
    return view


# -- concertations and policy notes -----------------------------------------------------------

def concertation_view(record: Concertation, with_content: bool) -> View:
    return {"id": record.id, "reference": record.reference, "kind": record.kind,
            "held_on": record.held_on, "phenomenon": record.phenomenon,
            "organisations": split(record.organisations), "recorded_org": record.recorded_org,
            "decisions": unseal(record.decisions_sealed) if with_content else None,
            "legal_basis": unseal(record.legal_basis_sealed) if with_content else None}


def list_concertations(uow: UnitOfWork, identity: Identity, query: Mapping[str, Any],
                       now: datetime) -> View:
    """Those the caller's organisation took part in (metadata; decisions one at a time)."""
    authorise(uow, identity, policy.may_list_concertations(identity.role), "concertation",
              "list", now)
    pattern = f"%,{identity.organisation},%"
    statement = select(Concertation).where(
        Concertation.antenna_id.in_(identity.antennas),
        ("," + Concertation.organisations + ",").like(pattern))
    page = fetch_page(uow.session, statement.order_by(Concertation.held_on.desc(),
                                                      Concertation.id.desc()), query)
    return page.answer(lambda r: concertation_view(r, with_content=False))


def concertation_by_id_logged(uow: UnitOfWork, identity: Identity, number: object,
                              now: datetime) -> View:
    record = load(uow, identity, "concertation", number, "read", now)
    log_access(uow.session, identity, "concertation", record.id, "read", "view concertation",
               True, now)
    view = concertation_view(record, with_content=True)
    uow.commit()
    return view


def policy_note_view(note: PolicyNote) -> View:
    return {"id": note.id, "organisation": note.organisation, "author": note.author,
            "filed_on": note.filed_on, "title": note.title, "body": note.body,
            "themes": split(note.themes)}


def list_policy_notes(uow: UnitOfWork, identity: Identity, query: Mapping[str, Any],
                      now: datetime) -> View:
    authorise(uow, identity, policy.may_file_policy_note(identity.role), "policy_note",
              "list", now)
    statement = select(PolicyNote).where(PolicyNote.antenna_id.in_(identity.antennas))
    if identity.role != policy.COORDINATOR:
        statement = statement.where(PolicyNote.organisation == identity.organisation)
    page = fetch_page(uow.session, statement.order_by(PolicyNote.filed_on.desc(),
                                                      PolicyNote.id.desc()), query)
    return page.answer(policy_note_view)


# -- mediation --------------------------------------------------------------------------------

def mediation_view(session: Session, case: MediationCase) -> View:
    count = session.scalar(select(func.count()).select_from(MediationSession).where(
        MediationSession.case_id == case.id)) or 0
    return {"id": case.id, "organisation": case.organisation, "subject": case.subject,
            "neighbourhood": case.neighbourhood, "incident_id": case.incident_id,
            "party_keys": split(case.party_keys), "status": case.status,
            "outcome": case.outcome, "opened_at": as_utc(case.opened_at),
            "closed_at": as_utc(case.closed_at), "session_count": count}


def mediation_in_detail_logged(session: Session, identity: Identity, case: MediationCase,
                               now: datetime, purpose: str) -> View:
    view = mediation_view(session, case)
    view["summary"] = unseal(case.summary_sealed)
    view["sessions"] = [{"held_on": s.held_on, "parties_present": s.parties_present,
                         "notes": unseal(s.notes_sealed)}
                        for s in session.scalars(select(MediationSession).where(
                            MediationSession.case_id == case.id).order_by(MediationSession.id))]
    view["history"] = history(session, "mediation", case.id)
    log_access(session, identity, "mediation", case.id, "read", purpose, True, now)
    return view


def list_mediations_logged(uow: UnitOfWork, identity: Identity, query: Mapping[str, Any],
                           now: datetime) -> View:
    authorise(uow, identity, policy.may_mediate(identity.role), "mediation", "list", now)
    statement = select(MediationCase).where(
        MediationCase.antenna_id.in_(identity.antennas),
        MediationCase.organisation == identity.organisation)
    if "status" in query:
        statement = statement.where(MediationCase.status == query["status"])
    page = fetch_page(uow.session, statement.order_by(MediationCase.id.desc()), query)
    log_access(uow.session, identity, "mediation", None, "list", "list mediation cases", True,
               now)
    uow.commit()
    return page.answer(lambda r: mediation_view(uow.session, r))


def mediation_by_id_logged(uow: UnitOfWork, identity: Identity, number: object,
                           now: datetime) -> View:
    case = load(uow, identity, "mediation", number, "read", now)
    view = mediation_in_detail_logged(uow.session, identity, case, now, "view mediation case")
    uow.commit()
    return view


# -- technoprevention -------------------------------------------------------------------------

def visit_view(visit: Visit) -> View:
    return {"id": visit.id, "organisation": visit.organisation, "origin": visit.origin,
            "incident_id": visit.incident_id, "neighbourhood": visit.neighbourhood,
            "housing": visit.housing, "planned_for": visit.planned_for, "status": visit.status,
            "visited_at": as_utc(visit.visited_at),
            "recommendations": split(visit.recommendations),
            "premium_eligible": visit.premium_eligible}


def visit_in_detail_logged(session: Session, identity: Identity, visit: Visit, now: datetime,
                           purpose: str) -> View:
    view = visit_view(visit)
    view.update(address=unseal(visit.address_sealed), contact=unseal(visit.contact_sealed),
                report=unseal(visit.report_sealed),
                history=history(session, "visit", visit.id))
    log_access(session, identity, "visit", visit.id, "read", purpose, True, now)
    return view


def list_visits_logged(uow: UnitOfWork, identity: Identity, query: Mapping[str, Any],
                       now: datetime) -> View:
    authorise(uow, identity, policy.may_work_visits(identity.role), "visit", "list", now)
    statement = select(Visit).where(Visit.antenna_id.in_(identity.antennas),
                                    Visit.organisation == identity.organisation)
    if "status" in query:
        statement = statement.where(Visit.status == query["status"])
    page = fetch_page(uow.session, statement.order_by(Visit.planned_for.desc(),
                                                      Visit.id.desc()), query)
    log_access(uow.session, identity, "visit", None, "list", "list visits", True, now)
    uow.commit()
    return page.answer(visit_view)


def visit_by_id_logged(uow: UnitOfWork, identity: Identity, number: object,
                       now: datetime) -> View:
    visit = load(uow, identity, "visit", number, "read", now)
    view = visit_in_detail_logged(uow.session, identity, visit, now, "view visit")
    uow.commit()
    return view


# -- aggregated figures -----------------------------------------------------------------------

def figures(uow: UnitOfWork, identity: Identity, query: Mapping[str, Any],
            now: datetime) -> View:
    """Counts per month of one year: the caller's organisation's, or (the coordinator) every
    organisation's together. No record, no key, no text; counts of people under 5 suppressed
    for the coordinator."""
    authorise(uow, identity, policy.may_read_figures(identity.role), "figures", "read", now)
    year = query["year"]
    own_only = policy.figures_of_own_organisation_only(identity.role)
    months = {f"{year}-{m:02d}": dict.fromkeys(
        ("outings", "contacts", "new_people", "accompaniments_opened",
         "accompaniments_closed", "mediations_closed", "visits_done"), 0)
        for m in range(1, 13)}
    organisations: set[str] = set()

    def mine(model: Any) -> list[Any]:
        statement = select(model).where(model.antenna_id.in_(identity.antennas))
        if own_only:
            statement = statement.where(model.organisation == identity.organisation)
        return list(uow.session.scalars(statement))

    def add(month: str, key: str, amount: int, organisation: str) -> None:
        if month in months:
            months[month][key] += amount
            organisations.add(organisation)

    for tally in mine(OutingTally):
        month = tally.day.strftime("%Y-%m")
        add(month, "outings", 1, tally.organisation)
        add(month, "contacts", tally.contacts, tally.organisation)
        add(month, "new_people", tally.new_people, tally.organisation)
    for record in mine(Accompaniment):
        add(_month(record.opened_at), "accompaniments_opened", 1, record.organisation)
        if record.closed_at is not None:
            add(_month(record.closed_at), "accompaniments_closed", 1, record.organisation)
    for case in mine(MediationCase):
        if case.closed_at is not None:
            add(_month(case.closed_at), "mediations_closed", 1, case.organisation)
    for visit in mine(Visit):
        if visit.visited_at is not None:
            add(_month(visit.visited_at), "visits_done", 1, visit.organisation)
    suppressed = []
    if not own_only:
        for month, counts in months.items():
            for key in ("new_people", "accompaniments_opened", "accompaniments_closed",
                        "mediations_closed"):
                if 0 < counts[key] < SUPPRESS_BELOW:
                    counts[key] = 0
                    suppressed.append(f"{month}:{key}")
    return {"year": year, "organisations": sorted(organisations),
            "months": [{"month": month, **counts} for month, counts in months.items()],
            "suppressed_below": SUPPRESS_BELOW, "suppressed": suppressed}


def _month(at: datetime) -> str:
    return (as_utc(at) or at).strftime("%Y-%m")


def access_log_page(uow: UnitOfWork, identity: Identity, query: Mapping[str, Any],
                    now: datetime) -> View:
    authorise(uow, identity, policy.may_read_access_log(identity.role), "access_log", "read",
              now)
    statement = select(AccessLog)
    if "record_kind" in query:
        statement = statement.where(AccessLog.record_kind == query["record_kind"])
    if "record_id" in query:
        statement = statement.where(AccessLog.record_id == query["record_id"])
    page = fetch_page(uow.session, statement.order_by(AccessLog.id.desc()), query)
    return page.answer(lambda r: {
        "record_kind": r.record_kind, "record_id": r.record_id, "user": r.user,
        "role": r.role, "organisation": r.organisation, "action": r.action,
        "purpose": r.purpose, "granted": r.granted, "at": as_utc(r.at)})
