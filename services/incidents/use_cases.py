"""What the incidents service does, one function per command: load through the unit of work,
decide with the pure domain and policy, save (every status change through the one lifecycle
helper) and emit. Reads are in views.py; entry points in service.py stay thin."""
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.incidents import domain, open311, policy, schemas, views
from services.incidents.models import (
    Category,
    Incident,
    IncidentHistory,
    Open311Request,
    Phenomenon,
    TicketCounter,
)
from services.incidents.reference import categories_reference, phenomena_reference
from shared import state_machine
from shared.clock import as_utc
from shared.errors import (
    Forbidden,
    IdempotencyKeyReused,
    InvalidTransition,
    NotFound,
    ValidationFailed,
    has_nul,
    validated,
)
from shared.events import Rejected
from shared.fields import record_id
from shared.geo import neighbourhood_of
from shared.identity import Identity
from shared.state_machine import Actor
from shared.unit_of_work import UnitOfWork

View = dict[str, Any]


# -- reference data ---------------------------------------------------------------------------

def seed_reference_data(session: Session) -> None:
    """Insert or update categories and phenomena from the shipped YAML (idempotent)."""
    reference = phenomena_reference()
    for item in reference["phenomena"]:
        session.merge(Phenomenon(plan_period=reference["plan_period"], code=item["code"],
                                 label_fr=item["fr"], label_nl=item["nl"], label_en=item["en"]))
    for parent in categories_reference():
        session.merge(Category(code=parent["code"], parent_code=None, label_fr=parent["fr"],
                               label_nl=parent["nl"], label_en=parent["en"], active=True))
        session.flush()
        for child in parent["children"]:
            session.merge(Category(
                code=child["code"], parent_code=parent["code"], label_fr=child["fr"],
                label_nl=child["nl"], label_en=child["en"], phenomenon=child.get("phenomenon"),
                partner=child["partner"], sla_working_days=child["sla"], zone=child["zone"],
                active=True))
    session.flush()


def _leaf_category(session: Session, code: str) -> Category:
    category = session.get(Category, code)
    if category is None or not category.active:
        raise ValidationFailed("Unknown category.", {"category": [f"Unknown category '{code}'."]})
    if category.parent_code is None:
        raise ValidationFailed("Choose a sub-category.",
                               {"category": [f"'{code}' is a group; choose one of its "
                                             "sub-categories."]})
    return category


def _rule(category: Category) -> domain.CategoryRule:
    """A sub-category's routing rule (a leaf always has partner, SLA and zone: the reference
    data and _leaf_category see to it)."""
    return domain.CategoryRule(code=category.code, parent_code=category.parent_code or "",
                               partner=category.partner or "",
                               sla_working_days=category.sla_working_days or 0,
                               zone=category.zone or "", phenomenon=category.phenomenon)


# -- ticket numbers ---------------------------------------------------------------------------

def next_ticket(session: Session, year: int) -> str:
    """Atomic per-year counter: one upsert, safe under concurrent reports on PostgreSQL."""
    dialect = session.get_bind().dialect.name
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(TicketCounter).values(year=year, last=1)
        .on_conflict_do_update(index_elements=["year"],
                               set_={"last": TicketCounter.last + 1})
        .returning(TicketCounter.last)
    )
    return domain.ticket_number(year, session.execute(statement).scalar_one())


# -- events and moves ---------------------------------------------------------------------------

def _facts(incident: Incident, category: Category) -> dict[str, Any]:
    return {
        "incident_id": incident.id, "ticket": incident.ticket,
        "category": incident.category_code, "parent_category": category.parent_code,
        "phenomenon": category.phenomenon, "zone": category.zone, "partner": incident.partner,
        "neighbourhood": incident.neighbourhood,
    }


def _history(session: Session, incident: Incident) -> state_machine.Write:
    """Each history row also says which partner the incident was with after the move."""
    return lambda step: session.add(IncidentHistory(incident_id=incident.id,
                                                    partner=incident.partner, **step.row()))


def _move(session: Session, incident: Incident, target: str, by: Actor, now: datetime,
          why: str | None = None) -> state_machine.Step:
    try:
        return state_machine.move(domain.LIFECYCLE, incident, target, by=by, at=now, why=why,
                                  write=_history(session, incident))
    except state_machine.MoveRefused as exc:
        raise InvalidTransition(str(exc)) from None


def _with_contact_logged(uow: UnitOfWork, identity: Identity, incident: Incident,
                         category: Category, now: datetime, purpose: str) -> View:
    """The incident as the caller sees it after a command, then the commit (with the contact
    access log, if the caller read the contact)."""
    view = views.incident_with_contact_logged(uow.session, identity, incident, category, now,
                                              purpose)
    uow.commit()
    return view


# -- who may do what, checked before the request's body is read ---------------------------------

def authorise_report(identity: Identity) -> str:
    """May this caller report at all, and for which antenna (the one it reports for)."""
    if not policy.may_report(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not report incidents.")
    antenna = identity.acting_antenna()
    return antenna


def incident_to_change(session: Session, identity: Identity, incident_id: object
                       ) -> tuple[Incident, Category]:
    """May this caller change incidents at all (403), and this one (404); locked for the change."""
    if not policy.may_change(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not do this.")
    number = record_id(incident_id, NotFound("No such incident."))
    incident = session.scalars(
        select(Incident).where(Incident.id == number).with_for_update()).first()
    if incident is None or incident.antenna_id not in identity.antennas:
        raise NotFound("No such incident.")
    return incident, session.get_one(Category, incident.category_code)


# -- reporting --------------------------------------------------------------------------------

def check_request_key(request_key: object) -> None:
    """The client's Idempotency-Key, if any: 1 to 100 characters."""
    if request_key is not None and not (isinstance(request_key, str) and not has_nul(request_key)
                                        and 1 <= len(request_key) <= 100):
        raise ValidationFailed("Invalid Idempotency-Key.",
                               {"Idempotency-Key": ["Between 1 and 100 characters."]})


def request_fingerprint(payload: Mapping[str, Any]) -> str:
    """What a request said, so a reused Idempotency-Key with another request is recognised
    (the IETF Idempotency-Key draft's fingerprint): SHA-256 of the body in canonical JSON."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _earlier_report(uow: UnitOfWork, identity: Identity, request_key: str,
                    fingerprint: str | None, now: datetime) -> View | None:
    session = uow.session
    earlier = session.scalars(select(Incident).where(Incident.request_key == request_key)
                              ).first()
    if earlier is None:
        return None
    if fingerprint and earlier.request_fingerprint and \
            earlier.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different report; use a new key for a new "
            "report.", {"Idempotency-Key": [f"Already used for {earlier.ticket}, with another "
                                            "body."]})
    category = session.get_one(Category, earlier.category_code)
    view = _with_contact_logged(uow, identity, earlier, category, now,
                                "intake (repeated request)")
    return {"incident": view, "duplicate_hints": []}


AlsoWrite = Callable[[Session, Incident], None]


def report(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any], now: datetime,
           antenna_id: str, request_key: str | None = None, fingerprint: str | None = None,
           also: AlsoWrite | None = None) -> View:
    """Report an incident. A `request_key` seen before returns that report's incident instead of
    creating a second one (a redelivered RPC request, a client retrying), provided the request
    is the same (`fingerprint`); concurrent retries get the incident the first one created.
    `also` writes what a channel keeps beside a new incident, in the same transaction."""
    authorise_report(identity)
    identity.require_antenna(antenna_id)
    if not policy.may_use_channel(identity.role, data["channel"]):
        raise Forbidden(f"Role '{identity.role}' may not report through the channel "
                        f"'{data['channel']}'.")
    if request_key:
        earlier = _earlier_report(uow, identity, request_key, fingerprint, now)
        if earlier is not None:
            return earlier
    try:
        return _new_report(uow, identity, data, now, antenna_id, request_key, fingerprint,
                           also)
    except IntegrityError:
        # Another request with this key committed first (PostgreSQL made this insert wait for
        # it, then refused the duplicate key): answer with what that one created.
        uow.session.rollback()
        earlier = _earlier_report(uow, identity, request_key, fingerprint, now) \
            if request_key else None
        if earlier is None:
            raise
        return earlier


def _new_report(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any], now: datetime,
                antenna_id: str, request_key: str | None, fingerprint: str | None,
                also: AlsoWrite | None = None) -> View:
    session = uow.session
    category = _leaf_category(session, data["category"])
    location, reporter = data["location"], data.get("reporter") or {}
    lat, lon = location.get("lat"), location.get("lon")
    hints = views.duplicate_hints(session, category.code, location, now)
    incident = Incident(
        ticket=next_ticket(session, now.astimezone(domain.BRUSSELS).year),
        request_key=request_key, request_fingerprint=fingerprint if request_key else None,
        antenna_id=antenna_id, category_code=category.code, description=data["description"],
        address=location["address"], street_key=domain.street_key(location["address"]),
        lat=lat, lon=lon, neighbourhood=neighbourhood_of(lat, lon, location.get("neighbourhood")),
        channel=data["channel"], status=domain.NEW, partner=domain.route(_rule(category)),
        reported_by=identity.user, intake_organisation=identity.organisation, reported_at=now,
        sla_due_at=domain.sla_deadline(now, category.sla_working_days or 0), updated_at=now,
        reporter_name=reporter.get("name"), reporter_phone=reporter.get("phone"),
        reporter_email=reporter.get("email"),
        consent_contact=bool(reporter.get("may_contact")),
        consent_police=bool(reporter.get("share_with_police")),
    )
    session.add(incident)
    session.flush()  # a concurrent request with the same key fails here (IntegrityError)
    state_machine.begin(domain.LIFECYCLE, incident, domain.NEW, by=identity, at=now,
                        write=_history(session, incident))
    if also is not None:
        also(session, incident)
    uow.emit("incident_reported", {
        **_facts(incident, category), "channel": incident.channel, "reported_at": now,
        "sla_due_at": incident.sla_due_at,
    }, antenna_id=antenna_id)
    view = _with_contact_logged(uow, identity, incident, category, now, "intake")
    return {"incident": view, "duplicate_hints": hints}


# -- Open311 GeoReport v2 (ADR 30) ----------------------------------------------------------------

REPORT_SCHEMA = schemas.ReportIncidentSchema()


def authorise_open311_report(identity: Identity) -> str:
    """Only an Open311 client (a valid API key) posts requests, for its key's antenna."""
    if identity.role != policy.OPEN311_CLIENT:
        raise Forbidden("Only an Open311 client with an API key may post requests.")
    return authorise_report(identity)


def open311_report(uow: UnitOfWork, identity: Identity, form: Mapping[str, Any],
                   now: datetime, lang: str) -> View:
    """A GeoReport v2 POST: the incident (channel open311) and, beside it in the same
    transaction, its token and the service definition's answers. A redelivered request (the
    same call chain) answers with the incident, and the token, the first delivery made."""
    antenna = authorise_open311_report(identity)
    asked = open311.report_from_form(form)
    data = validated(REPORT_SCHEMA, asked.payload)
    token = str(uuid.uuid4())

    def keep_beside(session: Session, incident: Incident) -> None:
        session.add(Open311Request(incident_id=incident.id, token=token,
                                   client=identity.user[:100], attributes=asked.answers))

    result = report(uow, identity, data, now, antenna, uow.correlation_id[:250],
                    also=keep_beside)
    incident = result["incident"]
    kept = uow.session.get(Open311Request, incident["id"])
    return {"service_request_id": incident["ticket"],
            "token": kept.token if kept is not None else token,
            "service_notice": open311.service_notice(incident["sla_due_at"], lang),
            "account_id": None}


# -- triage and status ------------------------------------------------------------------------

def triage(uow: UnitOfWork, identity: Identity, incident_id: object,
           data: Mapping[str, Any], now: datetime) -> View:
    """Confirm or change the category and the responsible partner. A triaged incident may be
    triaged again to re-route it; its history says from which partner to which."""
    session = uow.session
    incident, category = incident_to_change(session, identity, incident_id)
    partner_before, category_before = incident.partner, incident.category_code
    if data.get("category") and data["category"] != incident.category_code:
        category = _leaf_category(session, data["category"])
        incident.category_code = category.code
        incident.sla_due_at = domain.sla_deadline(as_utc(incident.reported_at),
                                                  category.sla_working_days or 0)
    incident.partner = domain.route(_rule(category), data.get("partner"))
    try:
        why = domain.triage_note(incident.status, partner_before, incident.partner,
                                 category_before, incident.category_code, data.get("note"))
    except domain.TransitionRefused as exc:
        raise InvalidTransition(str(exc)) from None
    _move(session, incident, domain.TRIAGED, identity, now, why)
    uow.emit("incident_triaged", {**_facts(incident, category), "triaged_at": now,
                                  "sla_due_at": as_utc(incident.sla_due_at)},
             antenna_id=incident.antenna_id)
    return _with_contact_logged(uow, identity, incident, category, now, "triage")


def change_status(uow: UnitOfWork, identity: Identity, incident_id: object,
                  data: Mapping[str, Any], now: datetime) -> View:
    session = uow.session
    incident, category = incident_to_change(session, identity, incident_id)
    target = data["status"]
    if target == domain.TRIAGED:
        raise InvalidTransition("Use triage to triage an incident.")
    try:
        domain.check_duplicate(target, duplicate_of=data.get("duplicate_of"),
                               incident_id=incident.id)
    except domain.TransitionRefused as exc:
        raise InvalidTransition(str(exc)) from None
    if target == domain.DUPLICATE:
        original = session.get(Incident, data["duplicate_of"])
        if original is None or original.antenna_id != incident.antenna_id:
            raise ValidationFailed("Unknown original incident.",
                                   {"duplicate_of": ["No such incident."]})
        incident.duplicate_of = original.id
    step = _move(session, incident, target, identity, now, data.get("note"))
    facts = _facts(incident, category)
    uow.emit("incident_status_changed", {**facts, "from_status": step.from_status,
                                         "to_status": target,
                                         "duplicate_of": incident.duplicate_of,
                                         "changed_at": now}, antenna_id=incident.antenna_id)
    if target in domain.FINAL_STATUSES:
        uow.emit("incident_closed", {
            **facts, "final_status": target, "reported_at": as_utc(incident.reported_at),
            "closed_at": now, "within_sla": now <= as_utc(incident.sla_due_at),
        }, antenna_id=incident.antenna_id)
    return _with_contact_logged(uow, identity, incident, category, now, "status change")


def follow_removal_job(uow: UnitOfWork, job: Mapping[str, Any], target: str, note: str,
                       now: datetime) -> None:
    """A removal job of the tags service was scheduled (-> in_progress) or done (-> resolved);
    `job` is what the tags service itself says of it (its incident, antenna, status). The tags
    service moves the incident as the platform (the system's moves of the lifecycle); no commit
    (an event handler's unit of work). Raises Rejected when the job cannot be one of this
    incident: no such incident in the job's antenna, or not a graffiti incident."""
    session = uow.session
    incident = session.scalars(select(Incident).where(Incident.id == job["incident_id"])
                               .with_for_update()).first()
    if incident is None or incident.antenna_id != job["antenna_id"]:
        raise Rejected(f"incident {job['incident_id']} does not exist in antenna "
                       f"{job['antenna_id']!r}")
    category = session.get_one(Category, incident.category_code)
    if category.parent_code != domain.GRAFFITI_PARENT:
        raise Rejected(f"incident {incident.id} is {category.code}, not graffiti: removal job "
                       f"{job['id']} is not one of its")
    system = Identity.for_service("tags", (incident.antenna_id,))
    for status in domain.path_to(incident.status, target):
        step = _move(session, incident, status, system, now, note)
        facts = _facts(incident, category)
        if status == domain.TRIAGED:
            uow.emit("incident_triaged", {**facts, "triaged_at": now,
                                          "sla_due_at": as_utc(incident.sla_due_at)},
                     antenna_id=incident.antenna_id)
        else:
            uow.emit("incident_status_changed", {**facts, "from_status": step.from_status,
                                                 "to_status": status, "duplicate_of": None,
                                                 "changed_at": now},
                     antenna_id=incident.antenna_id)


# -- the patrols service's observations ----------------------------------------------------------

OBSERVATION_DESCRIPTION = "Signalement d'un gardien de la paix lors d'une patrouille."


def report_observation(uow: UnitOfWork, observation: Mapping[str, Any], antenna_id: str,
                       now: datetime) -> None:
    """A warden's observation, as the patrols service itself states it, becomes an incident of
    channel `warden` (once: its request key names the observation). The observation carries a
    category and a place, never a person nor free text; the description says where it came
    from. No commit of its own beyond the report's (an event handler's unit of work)."""
    session = uow.session
    key = f"patrols-observation-{observation['observation_id']}"
    if session.scalars(select(Incident.id).where(Incident.request_key == key)).first():
        return
    category = session.get(Category, observation["category"])
    if category is None or not category.active or category.parent_code is None or \
            category.zone != "public_space":
        raise Rejected(f"observation {observation['observation_id']}: {observation['category']!r}"
                       " is not a public-space sub-category")
    reporter = Identity("patrols", "service", "gardiens_de_la_paix", (antenna_id,))
    _new_report(uow, reporter, {
        "category": category.code, "description": OBSERVATION_DESCRIPTION, "channel": "warden",
        "location": {"address": observation["address"], "lat": observation.get("lat"),
                     "lon": observation.get("lon"),
                     "neighbourhood": observation.get("neighbourhood")},
        "reporter": None}, now, antenna_id, key, None)


# -- retention --------------------------------------------------------------------------------

def purge_contacts(session: Session, now: datetime, retention_days: int) -> int:
    """Erase the citizen's contact of incidents closed more than `retention_days` ago. The
    incident itself (place, category, dates) stays for the indicators."""
    cutoff = now - timedelta(days=retention_days)
    incidents = session.scalars(select(Incident).where(
        Incident.status.in_(domain.FINAL_STATUSES), Incident.closed_at < cutoff,
        or_(Incident.reporter_name.is_not(None), Incident.reporter_phone.is_not(None),
            Incident.reporter_email.is_not(None)))).all()
    for incident in incidents:
        incident.reporter_name = incident.reporter_phone = incident.reporter_email = None
        incident.consent_contact = incident.consent_police = False
    session.commit()
    return len(incidents)
