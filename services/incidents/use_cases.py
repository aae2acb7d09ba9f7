"""What the incidents service does, one function per command or query: load through the unit of
work, decide with the pure domain, save and emit. Entry points in service.py stay thin."""
import hashlib
import json
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from services.incidents import domain
from services.incidents.models import (
    Category,
    ContactAccessLog,
    Incident,
    IncidentHistory,
    Phenomenon,
    TicketCounter,
)
from services.incidents.reference import categories_reference, phenomena_reference
from shared.clock import as_utc
from shared.errors import (
    Forbidden,
    IdempotencyKeyReused,
    InvalidTransition,
    NotFound,
    ValidationFailed,
    has_nul,
)
from shared.events import Rejected
from shared.fields import record_id
from shared.identity import Identity

# -- reference data ---------------------------------------------------------------------------

def seed_reference_data(session) -> None:
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


def category_view(category: Category) -> dict:
    return {
        "code": category.code, "parent_code": category.parent_code,
        "labels": {"fr": category.label_fr, "nl": category.label_nl, "en": category.label_en},
        "phenomenon": category.phenomenon, "partner": category.partner,
        "sla_working_days": category.sla_working_days, "zone": category.zone,
    }


def list_categories(session) -> list[dict]:
    rows = session.scalars(select(Category).where(Category.active).order_by(
        func.coalesce(Category.parent_code, Category.code), Category.parent_code.is_not(None),
        Category.code))
    return [category_view(row) for row in rows]


def _leaf_category(session, code: str) -> Category:
    category = session.get(Category, code)
    if category is None or not category.active:
        raise ValidationFailed("Unknown category.", {"category": [f"Unknown category '{code}'."]})
    if category.parent_code is None:
        raise ValidationFailed("Choose a sub-category.",
                               {"category": [f"'{code}' is a group; choose one of its "
                                             "sub-categories."]})
    return category


def _rule(category: Category) -> domain.CategoryRule:
    return domain.CategoryRule(code=category.code, parent_code=category.parent_code,
                               partner=category.partner,
                               sla_working_days=category.sla_working_days, zone=category.zone,
                               phenomenon=category.phenomenon)


# -- ticket numbers ---------------------------------------------------------------------------

def next_ticket(session, year: int) -> str:
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


# -- views ------------------------------------------------------------------------------------

def _facts(incident: Incident, category: Category) -> dict:
    return {
        "incident_id": incident.id, "ticket": incident.ticket,
        "category": incident.category_code, "parent_category": category.parent_code,
        "phenomenon": category.phenomenon, "zone": category.zone, "partner": incident.partner,
        "neighbourhood": incident.neighbourhood,
    }



def incident_view(session, incident: Incident, category: Category, identity: Identity,
                  now: datetime, *, with_history: bool = False, purpose: str = "") -> dict:
    view = {
        "id": incident.id, "ticket": incident.ticket, "antenna_id": incident.antenna_id,
        "category_code": incident.category_code, "parent_category": category.parent_code,
        "zone": category.zone, "description": incident.description,
        "location": {"address": incident.address, "lat": incident.lat, "lon": incident.lon,
                     "neighbourhood": incident.neighbourhood},
        "channel": incident.channel, "status": incident.status, "partner": incident.partner,
        "duplicate_of": incident.duplicate_of, "reported_by": incident.reported_by,
        "intake_organisation": incident.intake_organisation,
        "reported_at": as_utc(incident.reported_at), "sla_due_at": as_utc(incident.sla_due_at),
        "overdue": domain.is_overdue(incident.status, as_utc(incident.sla_due_at), now),
        "triaged_at": as_utc(incident.triaged_at), "closed_at": as_utc(incident.closed_at),
        "reporter": None,
    }
    if with_history:
        view["history"] = [
            {"from_status": h.from_status, "to_status": h.to_status, "partner": h.partner,
             "actor": h.actor, "actor_role": h.actor_role, "at": as_utc(h.at), "note": h.note}
            for h in session.scalars(select(IncidentHistory).where(
                IncidentHistory.incident_id == incident.id).order_by(IncidentHistory.id))
        ]
        has_contact = any((incident.reporter_name, incident.reporter_phone,
                           incident.reporter_email))
        visibility = domain.contact_visibility(identity.role, identity.organisation,
                                               incident.intake_organisation,
                                               incident.consent_police)
        if has_contact and visibility:
            session.add(ContactAccessLog(
                incident_id=incident.id, user=identity.user, role=identity.role,
                organisation=identity.organisation, purpose=purpose or "view incident",
                at=now))
            view["reporter"] = {
                "name": incident.reporter_name, "phone": incident.reporter_phone,
                "email": incident.reporter_email, "may_contact": incident.consent_contact,
                "share_with_police": incident.consent_police,
            }
    return view


# -- commands ---------------------------------------------------------------------------------

def _candidates(session, category_code: str, street: str | None, lat, lon,
                now: datetime) -> list[domain.Candidate]:
    """Open incidents of the category in the window that share the street or are near: the
    database narrows by street key and a small box, the domain decides."""
    near = []
    if street:
        near.append(Incident.street_key == street)
    if lat is not None and lon is not None:
        dlat, dlon = domain.degree_box(lat, domain.DUPLICATE_RADIUS_M)
        near.append(Incident.lat.between(lat - dlat, lat + dlat)
                    & Incident.lon.between(lon - dlon, lon + dlon))
    if not near:
        return []
    query = select(Incident.id, Incident.ticket, Incident.category_code, Incident.status,
                   Incident.street_key, Incident.lat, Incident.lon, Incident.reported_at).where(
        Incident.category_code == category_code,
        Incident.status.in_(domain.OPEN_STATUSES),
        Incident.reported_at >= now - domain.DUPLICATE_WINDOW,
        or_(*near),
    ).order_by(Incident.reported_at.desc()).limit(200)
    return [domain.Candidate(incident_id=row.id, ticket=row.ticket, category=row.category_code,
                             status=row.status, street=row.street_key, lat=row.lat,
                             lon=row.lon, reported_at=as_utc(row.reported_at))
            for row in session.execute(query)]


def duplicate_hints(session, category_code: str, location: dict, now: datetime) -> list[dict]:
    street = domain.street_key(location["address"])
    candidates = _candidates(session, category_code, street, location.get("lat"),
                             location.get("lon"), now)
    return domain.duplicate_hints(category_code, street, location.get("lat"),
                                  location.get("lon"), now, candidates)


# -- who may do what, checked before the request's body is read ---------------------------------

def authorise_report(identity: Identity) -> str:
    """May this caller report at all, and for which antenna (the one it reports for)."""
    if not identity.has_role(*domain.REPORTERS):
        raise Forbidden(f"Role '{identity.role}' may not report incidents.")
    antenna = identity.acting_antenna()
    return antenna


def authorise_read(identity: Identity) -> None:
    if identity.role not in domain.READERS:
        raise Forbidden(f"Role '{identity.role}' may not read incidents.")


def incident_to_change(session, identity: Identity, incident_id) -> tuple[Incident, Category]:
    """May this caller change incidents at all (403), and this one (404); locked for the change."""
    identity.require_role(*domain.TRIAGERS)
    return _load_for_update(session, identity, incident_id)


# -- reporting --------------------------------------------------------------------------------

def check_request_key(request_key) -> None:
    """The client's Idempotency-Key, if any: 1 to 100 characters."""
    if request_key is not None and not (isinstance(request_key, str) and not has_nul(request_key)
                                        and 1 <= len(request_key) <= 100):
        raise ValidationFailed("Invalid Idempotency-Key.",
                               {"Idempotency-Key": ["Between 1 and 100 characters."]})


def request_fingerprint(payload: dict) -> str:
    """What a request said, so a reused Idempotency-Key with another request is recognised
    (the IETF Idempotency-Key draft's fingerprint): SHA-256 of the body in canonical JSON."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _earlier_report(uow, identity: Identity, request_key: str, fingerprint: str | None,
                    now: datetime) -> dict | None:
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
    category = session.get(Category, earlier.category_code)
    view = incident_view(session, earlier, category, identity, now, with_history=True,
                         purpose="intake (repeated request)")
    uow.commit()
    return {"incident": view, "duplicate_hints": []}


def report(uow, identity: Identity, data: dict, now: datetime, antenna_id: str,
           request_key: str | None = None, fingerprint: str | None = None) -> dict:
    """Report an incident. A `request_key` seen before returns that report's incident instead of
    creating a second one (a redelivered RPC request, a client retrying), provided the request
    is the same (`fingerprint`); concurrent retries get the incident the first one created."""
    authorise_report(identity)
    identity.require_antenna(antenna_id)
    session = uow.session
    if request_key:
        earlier = _earlier_report(uow, identity, request_key, fingerprint, now)
        if earlier is not None:
            return earlier
    try:
        return _new_report(uow, identity, data, now, antenna_id, request_key, fingerprint)
    except IntegrityError:
        # Another request with this key committed first (PostgreSQL made this insert wait for
        # it, then refused the duplicate key): answer with what that one created.
        session.rollback()
        earlier = _earlier_report(uow, identity, request_key, fingerprint, now) \
            if request_key else None
        if earlier is None:
            raise
        return earlier


def _new_report(uow, identity: Identity, data: dict, now: datetime, antenna_id: str,
                request_key: str | None, fingerprint: str | None) -> dict:
    session = uow.session
    category = _leaf_category(session, data["category"])
    location, reporter = data["location"], data.get("reporter") or {}
    hints = duplicate_hints(session, category.code, location, now)
    incident = Incident(
        ticket=next_ticket(session, now.astimezone(domain.BRUSSELS).year),
        request_key=request_key, request_fingerprint=fingerprint if request_key else None,
        antenna_id=antenna_id, category_code=category.code, description=data["description"],
        address=location["address"], street_key=domain.street_key(location["address"]),
        lat=location.get("lat"), lon=location.get("lon"),
        neighbourhood=location.get("neighbourhood"), channel=data["channel"],
        status=domain.NEW, partner=domain.route(_rule(category)), reported_by=identity.user,
        intake_organisation=identity.organisation, reported_at=now,
        sla_due_at=domain.sla_deadline(now, category.sla_working_days), updated_at=now,
        reporter_name=reporter.get("name"), reporter_phone=reporter.get("phone"),
        reporter_email=reporter.get("email"),
        consent_contact=bool(reporter.get("may_contact")),
        consent_police=bool(reporter.get("share_with_police")),
    )
    session.add(incident)
    session.flush()  # a concurrent request with the same key fails here (IntegrityError)
    session.add(IncidentHistory(incident_id=incident.id, from_status=None, to_status=domain.NEW,
                                partner=incident.partner, actor=identity.user,
                                actor_role=identity.role, at=now))
    uow.emit("incident_reported", {
        **_facts(incident, category), "channel": incident.channel, "reported_at": now,
        "sla_due_at": incident.sla_due_at,
    }, antenna_id=antenna_id)
    view = incident_view(session, incident, category, identity, now, with_history=True,
                         purpose="intake")
    uow.commit()
    return {"incident": view, "duplicate_hints": hints}


def _load_for_update(session, identity: Identity, incident_id) -> tuple[Incident, Category]:
    incident_id = record_id(incident_id, NotFound("No such incident."))
    incident = session.scalars(
        select(Incident).where(Incident.id == incident_id).with_for_update()).first()
    if incident is None or incident.antenna_id not in identity.antennas:
        raise NotFound("No such incident.")
    return incident, session.get(Category, incident.category_code)


def _find(session, identity: Identity, key) -> tuple[Incident, Category]:
    if has_nul(key):
        raise NotFound("No such incident.")
    if isinstance(key, str) and not key.isdigit():
        where = Incident.ticket == key
    else:
        where = Incident.id == record_id(key, NotFound("No such incident."))
    incident = session.scalars(select(Incident).where(where)).first()
    if incident is None or incident.antenna_id not in identity.antennas:
        raise NotFound("No such incident.")
    category = session.get(Category, incident.category_code)
    if not domain.may_read(identity.role, category.parent_code):
        # Same answer as a missing incident: a role outside the zone must not learn it exists.
        raise NotFound("No such incident.")
    return incident, category


def get(uow, identity: Identity, key, now: datetime) -> dict:
    incident, category = _find(uow.session, identity, key)
    view = incident_view(uow.session, incident, category, identity, now, with_history=True)
    uow.commit()  # the contact access log, if any
    return view


def _record(session, incident, identity, from_status, to_status, now, note=None):
    session.add(IncidentHistory(incident_id=incident.id, from_status=from_status,
                                to_status=to_status, partner=incident.partner,
                                actor=identity.user, actor_role=identity.role, at=now, note=note))


def triage(uow, identity: Identity, incident_id: int, data: dict, now: datetime) -> dict:
    session = uow.session
    incident, category = incident_to_change(session, identity, incident_id)
    try:
        domain.check_transition(incident.status, domain.TRIAGED)
    except domain.TransitionRefused as exc:
        raise InvalidTransition(str(exc)) from None
    if data.get("category") and data["category"] != incident.category_code:
        category = _leaf_category(session, data["category"])
        incident.category_code = category.code
        incident.sla_due_at = domain.sla_deadline(as_utc(incident.reported_at),
                                                  category.sla_working_days)
        incident.partner = domain.route(_rule(category))
    incident.partner = domain.route(_rule(category), data.get("partner"))
    previous = incident.status
    incident.status, incident.triaged_at, incident.updated_at = domain.TRIAGED, now, now
    _record(session, incident, identity, previous, domain.TRIAGED, now, data.get("note"))
    uow.emit("incident_triaged", {**_facts(incident, category), "triaged_at": now,
                                  "sla_due_at": as_utc(incident.sla_due_at)},
             antenna_id=incident.antenna_id)
    view = incident_view(session, incident, category, identity, now, with_history=True,
                         purpose="triage")
    uow.commit()
    return view


def change_status(uow, identity: Identity, incident_id: int, data: dict, now: datetime,
                  ) -> dict:
    session = uow.session
    incident, category = incident_to_change(session, identity, incident_id)
    target = data["status"]
    if target == domain.TRIAGED:
        raise InvalidTransition("Use triage to triage an incident.")
    try:
        domain.check_transition(incident.status, target, duplicate_of=data.get("duplicate_of"),
                                incident_id=incident.id)
    except domain.TransitionRefused as exc:
        raise InvalidTransition(str(exc)) from None
    if target == domain.DUPLICATE:
        original = session.get(Incident, data["duplicate_of"])
        if original is None or original.antenna_id != incident.antenna_id:
            raise ValidationFailed("Unknown original incident.",
                                   {"duplicate_of": ["No such incident."]})
        incident.duplicate_of = original.id
    previous = incident.status
    incident.status, incident.updated_at = target, now
    if target in domain.FINAL_STATUSES:
        incident.closed_at = now
    elif target == domain.REOPENED:
        incident.closed_at = None
    _record(session, incident, identity, previous, target, now, data.get("note"))
    facts = _facts(incident, category)
    uow.emit("incident_status_changed", {**facts, "from_status": previous, "to_status": target,
                                         "duplicate_of": incident.duplicate_of,
                                         "changed_at": now}, antenna_id=incident.antenna_id)
    if target in domain.FINAL_STATUSES:
        uow.emit("incident_closed", {
            **facts, "final_status": target, "reported_at": as_utc(incident.reported_at),
            "closed_at": now, "within_sla": now <= as_utc(incident.sla_due_at),
        }, antenna_id=incident.antenna_id)
    view = incident_view(session, incident, category, identity, now, with_history=True,
                         purpose="status change")
    uow.commit()
    return view


def list_incidents(session, identity: Identity, query: dict, now: datetime) -> dict:
    authorise_read(identity)
    statement = select(Incident, Category).join(Category).where(
        Incident.antenna_id.in_(identity.antennas))
    if identity.role == "tags":
        statement = statement.where(Category.parent_code == domain.GRAFFITI_PARENT)
    for key, column in (("status", Incident.status), ("partner", Incident.partner),
                        ("neighbourhood", Incident.neighbourhood)):
        if key in query:
            statement = statement.where(column == query[key])
    if "category" in query:
        statement = statement.where((Incident.category_code == query["category"])
                                    | (Category.parent_code == query["category"]))
    if query.get("overdue") is not None:
        overdue = (Incident.status.in_(domain.OPEN_STATUSES) & (Incident.sla_due_at < now))
        statement = statement.where(overdue if query["overdue"] else ~overdue)
    total = session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = session.execute(statement.order_by(Incident.reported_at.desc(), Incident.id.desc())
                           .limit(query["limit"]).offset(query["offset"])).all()
    return {"items": [incident_view(session, i, c, identity, now) for i, c in rows],
            "total": total, "limit": query["limit"], "offset": query["offset"]}


def overdue_count(session, now: datetime) -> int:
    return session.scalar(select(func.count()).select_from(Incident).where(
        Incident.status.in_(domain.OPEN_STATUSES), Incident.sla_due_at < now))



def purge_contacts(session, now: datetime, retention_days: int) -> int:
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


def contact_access_log(session, identity: Identity, incident_id) -> list[dict]:
    """Who read this incident's citizen contact (auditor, admin)."""
    identity.require_role("auditor", "admin")
    incident = session.get(Incident, record_id(incident_id, NotFound("No such incident.")))
    if incident is None or incident.antenna_id not in identity.antennas:
        raise NotFound("No such incident.")
    return [{"user": row.user, "role": row.role, "organisation": row.organisation,
             "purpose": row.purpose, "at": as_utc(row.at)}
            for row in session.scalars(select(ContactAccessLog).where(
                ContactAccessLog.incident_id == incident_id).order_by(ContactAccessLog.id))]


def follow_removal_job(uow, job: dict, target: str, note: str, now: datetime) -> None:
    """A removal job of the tags service was scheduled (-> in_progress) or done (-> resolved);
    `job` is what the tags service itself says of it (its incident, antenna, status). The tags
    service acts here as a system actor; no commit (an event handler's unit of work). Raises
    Rejected when the job cannot be one of this incident: no such incident in the job's
    antenna, or not a graffiti incident."""
    session = uow.session
    incident = session.scalars(select(Incident).where(Incident.id == job["incident_id"])
                               .with_for_update()).first()
    if incident is None or incident.antenna_id != job["antenna_id"]:
        raise Rejected(f"incident {job['incident_id']} does not exist in antenna "
                       f"{job['antenna_id']!r}")
    category = session.get(Category, incident.category_code)
    if category.parent_code != domain.GRAFFITI_PARENT:
        raise Rejected(f"incident {incident.id} is {category.code}, not graffiti: removal job "
                       f"{job['id']} is not one of its")
    system = Identity.for_service("tags", (incident.antenna_id,))
    for step in domain.path_to(incident.status, target):
        previous = incident.status
        incident.status, incident.updated_at = step, now
        if step == domain.TRIAGED:
            incident.triaged_at = now
        _record(session, incident, system, previous, step, now, note)
        facts_out = _facts(incident, category)
        if step == domain.TRIAGED:
            uow.emit("incident_triaged", {**facts_out, "triaged_at": now,
                                          "sla_due_at": as_utc(incident.sla_due_at)},
                     antenna_id=incident.antenna_id)
        else:
            uow.emit("incident_status_changed", {**facts_out, "from_status": previous,
                                                 "to_status": step, "duplicate_of": None,
                                                 "changed_at": now},
                     antenna_id=incident.antenna_id)
