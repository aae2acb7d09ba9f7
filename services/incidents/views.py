"""What the incidents service shows: categories, incidents, lists, duplicate hints, the contact
access log. Reads only, apart from the logged ones, which say so in their names: a read of a
citizen's contact writes who, when and why to the access log in the caller's unit of work."""
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.incidents import domain, open311, policy
from services.incidents.models import (
    Category,
    ContactAccessLog,
    Incident,
    IncidentHistory,
    Open311Request,
)
from shared.calendar import BRUSSELS
from shared.clock import as_utc
from shared.errors import Forbidden, NotFound, has_nul
from shared.fields import record_id
from shared.identity import Identity
from shared.metrics import Family, Reading
from shared.paging import fetch_page
from shared.queries import neighbourhood_is

View = dict[str, Any]


# -- categories -------------------------------------------------------------------------------

def category_view(category: Category) -> View:
    return {
        "code": category.code, "parent_code": category.parent_code,
        "labels": {"fr": category.label_fr, "nl": category.label_nl, "en": category.label_en},
        "phenomenon": category.phenomenon, "partner": category.partner,
        "sla_working_days": category.sla_working_days, "zone": category.zone,
    }


def list_categories(session: Session) -> list[View]:
    rows = session.scalars(select(Category).where(Category.active).order_by(
        func.coalesce(Category.parent_code, Category.code), Category.parent_code.is_not(None),
        Category.code))
    return [category_view(row) for row in rows]


# -- one incident -----------------------------------------------------------------------------

def incident_view(incident: Incident, category: Category, now: datetime) -> View:
    """What every reader of the incident sees: never the citizen's contact, nor the history."""
    sla_due_at = as_utc(incident.sla_due_at)
    return {
        "id": incident.id, "ticket": incident.ticket, "antenna_id": incident.antenna_id,
        "category_code": incident.category_code, "parent_category": category.parent_code,
        "zone": category.zone, "description": incident.description,
        "location": {"address": incident.address, "lat": incident.lat, "lon": incident.lon,
                     "neighbourhood": incident.neighbourhood},
        "channel": incident.channel, "status": incident.status, "partner": incident.partner,
        "duplicate_of": incident.duplicate_of, "reported_by": incident.reported_by,
        "intake_organisation": incident.intake_organisation,
        "reported_at": as_utc(incident.reported_at), "sla_due_at": sla_due_at,
        "overdue": domain.is_overdue(incident.status, sla_due_at, now),
        "triaged_at": as_utc(incident.triaged_at), "closed_at": as_utc(incident.closed_at),
        "reporter": None,
    }


def history(session: Session, incident: Incident) -> list[View]:
    return [{"from_status": h.from_status, "to_status": h.to_status, "partner": h.partner,
             "actor": h.actor, "actor_role": h.actor_role, "at": as_utc(h.at), "note": h.note}
            for h in session.scalars(select(IncidentHistory).where(
                IncidentHistory.incident_id == incident.id).order_by(IncidentHistory.id))]


def incident_with_contact_logged(session: Session, identity: Identity, incident: Incident,
                                 category: Category, now: datetime, purpose: str) -> View:
    """One incident with its history, and the citizen's contact if the caller may read it:
    that read is written to the access log (in the caller's unit of work, which commits)."""
    view = {**incident_view(incident, category, now), "history": history(session, incident)}
    has_contact = any((incident.reporter_name, incident.reporter_phone,
                       incident.reporter_email))
    if has_contact and policy.may_read_contact(
            identity.role, identity.organisation,
            intake_organisation=incident.intake_organisation,
            responsible_partner=incident.partner, may_contact=incident.consent_contact,
            share_with_police=incident.consent_police):
        session.add(ContactAccessLog(
            incident_id=incident.id, user=identity.user, role=identity.role,
            organisation=identity.organisation, purpose=purpose, at=now))
        view["reporter"] = {
            "name": incident.reporter_name, "phone": incident.reporter_phone,
            "email": incident.reporter_email, "may_contact": incident.consent_contact,
            "share_with_police": incident.consent_police,
        }
    return view


def authorise_read(identity: Identity) -> None:
    if not policy.may_read_incidents(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not read incidents.")


def find(session: Session, identity: Identity, key: object) -> tuple[Incident, Category]:
    """An incident by id or by ticket number (any case, spaces around), as this caller may
    see it: the same answer for one it may not see as for one that does not exist."""
    if has_nul(key):
        raise NotFound("No such incident.")
    if isinstance(key, str) and not key.strip().isdigit():
        where = Incident.ticket == domain.ticket_key(key)
    else:
        where = Incident.id == record_id(key, NotFound("No such incident."))
    incident = session.scalars(select(Incident).where(where)).first()
    if incident is None or incident.antenna_id not in identity.antennas:
        raise NotFound("No such incident.")
    category = session.get_one(Category, incident.category_code)
    if not policy.may_read(identity.role, category.parent_code or ""):
        # A role outside the zone must not learn it exists.
        raise NotFound("No such incident.")
    return incident, category


def incident_facts(session: Session, identity: Identity, incident_id: object) -> View:
    """What a service following incidents checks an event against (the tags service, for each
    graffiti incident's events): the incident's place, category, status and version (how many
    moves it has made), in one statement, never a contact (ADR 0034: the full view with its
    history and contact check was a fifth of this service's work per report). The same answer
    as `find` for one the caller may not see."""
    authorise_read(identity)
    moves = (select(func.count()).select_from(IncidentHistory)
             .where(IncidentHistory.incident_id == Incident.id).scalar_subquery())
    found = session.execute(
        select(Incident, Category.parent_code, moves).join(Category)
        .where(Incident.id == record_id(incident_id, NotFound("No such incident.")))).first()
    if found is None or found[0].antenna_id not in identity.antennas or \
            not policy.may_read(identity.role, found[1] or ""):
        raise NotFound("No such incident.")
    incident, parent, version = found
    return {"id": incident.id, "ticket": incident.ticket, "antenna_id": incident.antenna_id,
            "category": incident.category_code, "parent_category": parent,
            "status": incident.status, "intake_organisation": incident.intake_organisation,
            "location": {"address": incident.address, "lat": incident.lat, "lon": incident.lon,
                         "neighbourhood": incident.neighbourhood},
            "version": version}


def incident_by_key_with_contact_logged(session: Session, identity: Identity, key: object,
                                        now: datetime) -> View:
    """`GET /incidents/{id or ticket}`: the caller commits (the access log, if any)."""
    authorise_read(identity)
    incident, category = find(session, identity, key)
    return incident_with_contact_logged(session, identity, incident, category, now,
                                        purpose="view incident")


# -- lists ------------------------------------------------------------------------------------

def list_incidents(session: Session, identity: Identity, query: Mapping[str, Any],
                   now: datetime) -> View:
    """A page of incidents (never a contact: contacts are read one incident at a time)."""
    authorise_read(identity)
    statement = select(Incident, Category).join(Category).where(
        Incident.antenna_id.in_(identity.antennas))
    only = policy.reads_only(identity.role)
    if only is not None:
        statement = statement.where(Category.parent_code == only)
    for key, column in (("status", Incident.status), ("partner", Incident.partner)):
        if key in query:
            statement = statement.where(column == query[key])
    if "neighbourhood" in query:
        statement = statement.where(neighbourhood_is(Incident.neighbourhood,
                                                     query["neighbourhood"]))
    if "category" in query:
        statement = statement.where((Incident.category_code == query["category"])
                                    | (Category.parent_code == query["category"]))
    if query.get("overdue") is not None:
        overdue = (Incident.status.in_(domain.OPEN_STATUSES) & (Incident.sla_due_at < now))
        statement = statement.where(overdue if query["overdue"] else ~overdue)
    page = fetch_page(session, statement.order_by(Incident.reported_at.desc(),
                                                  Incident.id.desc()), query)
    return page.answer(lambda row: incident_view(row[0], row[1], now))


OPEN = Family("lisa_incidents_open", "Open incidents (new, triaged, in progress, reopened).",
              ("antenna", "category", "status"))
OVERDUE = Family("lisa_incidents_overdue", "Open incidents past their SLA deadline.",
                 ("antenna",))
REPORTED = Family("lisa_incidents_reported_total", "Incidents reported since 1 January "
                  "(Brussels time), read from the incidents.", ("antenna", "category"),
                  kind="counter")


def gauges(session: Session, now: datetime) -> list[Reading]:
    """The numbers operations watch, read when Prometheus scrapes: three grouped counts on
    indexed columns, over the open incidents and this year's, so a scrape's cost follows the
    open work and one year's reports, not the whole history. The reports counter is read from
    the incidents, so a restart does not reset it, and 1 January does (a counter reset, which
    rate() and increase() handle)."""
    is_open = Incident.status.in_(domain.OPEN_STATUSES)
    year_start = datetime(now.astimezone(BRUSSELS).year, 1, 1, tzinfo=BRUSSELS)
    return [
        OPEN.rows(session.execute(
            select(Incident.antenna_id, Incident.category_code, Incident.status, func.count())
            .where(is_open)
            .group_by(Incident.antenna_id, Incident.category_code, Incident.status))),
        OVERDUE.rows(session.execute(
            select(Incident.antenna_id, func.count()).where(is_open, Incident.sla_due_at < now)
            .group_by(Incident.antenna_id))),
        REPORTED.rows(session.execute(
            select(Incident.antenna_id, Incident.category_code, func.count())
            .where(Incident.reported_at >= year_start)
            .group_by(Incident.antenna_id, Incident.category_code))),
    ]


# -- duplicate hints --------------------------------------------------------------------------

def _candidates(session: Session, category_code: str, street: str | None, lat: float | None,
                lon: float | None, now: datetime) -> list[domain.Candidate]:
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


def duplicate_hints(session: Session, category_code: str, location: Mapping[str, Any],
                    now: datetime) -> list[View]:
    street = domain.street_key(location["address"])
    candidates = _candidates(session, category_code, street, location.get("lat"),
                             location.get("lon"), now)
    return domain.duplicate_hints(category_code, street, location.get("lat"),
                                  location.get("lon"), now, candidates)


# -- the contact access log -------------------------------------------------------------------

def incident_for_contact_log(session: Session, identity: Identity,
                             incident_id: object) -> Incident:
    """May this caller read access logs at all (403), and is there such an incident (404):
    asked before the query is read."""
    if not policy.may_read_contact_log(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not read the contact access log.")
    incident = session.get(Incident, record_id(incident_id, NotFound("No such incident.")))
    if incident is None or incident.antenna_id not in identity.antennas:
        raise NotFound("No such incident.")
    return incident


def contact_access_page(session: Session, identity: Identity, incident_id: object,
                        query: Mapping[str, Any]) -> View:
    """Who read this incident's citizen contact, when and why (not the contact itself)."""
    incident = incident_for_contact_log(session, identity, incident_id)
    page = fetch_page(session, select(ContactAccessLog).where(
        ContactAccessLog.incident_id == incident.id).order_by(ContactAccessLog.id), query)
    return page.answer(lambda row: {"user": row.user, "role": row.role,
                                    "organisation": row.organisation, "purpose": row.purpose,
                                    "at": as_utc(row.at)})


# -- Open311 GeoReport v2 (ADR 30): the public view ---------------------------------------------

def authorise_open311_read(identity: Identity) -> None:
    if not policy.may_read_open311(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not read Open311 requests.")


def _open311_labels(session: Session) -> dict[str, open311.CategoryLabels]:
    """The catalogue's categories as this database has them (active ones only)."""
    rows = {row.code: row for row in session.scalars(select(Category).where(Category.active))}
    labels = {}
    for code in open311.service_codes():
        row = rows.get(code)
        parent = rows.get(row.parent_code or "") if row is not None else None
        if row is None or parent is None:
            continue
        labels[code] = open311.CategoryLabels(
            code, {"fr": row.label_fr, "nl": row.label_nl, "en": row.label_en},
            {"fr": parent.label_fr, "nl": parent.label_nl, "en": parent.label_en},
            row.sla_working_days or 0)
    return labels


def open311_services(session: Session, identity: Identity, lang: str) -> list[View]:
    authorise_open311_read(identity)
    return [open311.service_entry(labels, lang)
            for labels in _open311_labels(session).values()]


def open311_service_definition(session: Session, identity: Identity, code: object,
                               lang: str) -> View:
    authorise_open311_read(identity)
    if not isinstance(code, str) or code not in _open311_labels(session):
        raise NotFound(f"service_code not found: {str(code)[:50]!r}.")
    return open311.service_definition(code, lang)


def _open311_record(incident: Incident, labels: open311.CategoryLabels, lang: str) -> View:
    return open311.request_record({
        "ticket": incident.ticket, "status": incident.status,
        "category_code": incident.category_code, "partner": incident.partner,
        "reported_at": as_utc(incident.reported_at), "updated_at": as_utc(incident.updated_at),
        "sla_due_at": as_utc(incident.sla_due_at), "address": incident.address,
        "lat": incident.lat, "lon": incident.lon}, labels.labels[lang], lang)


def open311_requests(session: Session, identity: Identity, query: open311.RequestQuery,
                     antennas: tuple[str, ...], lang: str) -> list[View]:
    """Requests of the public categories in these antennas (the caller's), most recent first,
    at most MAX_RESULTS: by ticket when ids are given, else by the other filters."""
    authorise_open311_read(identity)
    labels = _open311_labels(session)
    statement = select(Incident).where(Incident.antenna_id.in_(antennas),
                                       Incident.category_code.in_(list(labels)))
    if query.ids:
        statement = statement.where(Incident.ticket.in_([domain.ticket_key(i)
                                                         for i in query.ids]))
    else:
        statement = statement.where(Incident.reported_at >= query.start,
                                    Incident.reported_at <= query.end)
        if query.codes:
            statement = statement.where(Incident.category_code.in_(query.codes))
        statuses = open311.incident_statuses(query.statuses)
        if statuses is not None:
            statement = statement.where(Incident.status.in_(statuses))
    rows = session.scalars(statement.order_by(Incident.reported_at.desc(), Incident.id.desc())
                           .limit(open311.MAX_RESULTS))
    return [_open311_record(row, labels[row.category_code], lang) for row in rows]


def open311_request(session: Session, identity: Identity, key: object,
                    antennas: tuple[str, ...], lang: str) -> View:
    """One request by its ticket: a request of another category or antenna is not found."""
    authorise_open311_read(identity)
    if not isinstance(key, str) or has_nul(key) or len(key) > 40:
        raise NotFound("service_request_id not found.")
    labels = _open311_labels(session)
    incident = session.scalars(select(Incident).where(
        Incident.ticket == domain.ticket_key(key))).first()
    if incident is None or incident.antenna_id not in antennas or \
            incident.category_code not in labels:
        raise NotFound("service_request_id not found.")
    return _open311_record(incident, labels[incident.category_code], lang)


def open311_token(session: Session, identity: Identity, token: object,
                  antennas: tuple[str, ...]) -> View:
    """The service_request_id a POST's token stands for."""
    authorise_open311_read(identity)
    if not isinstance(token, str) or has_nul(token) or len(token) > 36:
        raise NotFound("token not found.")
    row = session.execute(select(Incident.ticket, Incident.antenna_id).join(
        Open311Request, Open311Request.incident_id == Incident.id).where(
        Open311Request.token == token)).first()
    if row is None or row.antenna_id not in antennas:
        raise NotFound("token not found.")
    return {"service_request_id": row.ticket, "token": token}
