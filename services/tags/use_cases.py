"""What the tags service does: one function per command or query. Functions called by the API
commit their unit of work; those called by event handlers leave the commit to the handler."""
import json
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.tags import domain, planning
from services.tags.models import CrewMember, Job, JobHistory, KnownIncident, LegalWall, Site
from services.tags.reference import legal_walls_reference
from shared.calendar import BRUSSELS
from shared.clock import as_utc
from shared.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from shared.fields import record_id
from shared.geo import address_key, degree_box, distance_m
from shared.identity import Identity

CHANGERS = ("tags", "coordinator", "admin")
DEFAULT_CREW = ("Karim", "Sofie", "Luc", "Ana")

# Incident sub-categories of the graffiti group -> (ownership, content) of the removal job.
FROM_CATEGORY = {
    "graffiti_offensive": ("public", "offensive"),
    "graffiti_public": ("public", "ordinary"),
    "graffiti_private": ("private", "ordinary"),
}
DEFAULT_ESTIMATE = {"surface": "other", "area_m2": 2.0, "height_m": 0.0}



def seed_reference_data(session, antenna_id: str) -> None:
    for wall in legal_walls_reference():
        session.merge(LegalWall(code=wall["code"], name=wall["name"], address=wall["address"],
                                lat=wall["lat"], lon=wall["lon"], radius_m=wall["radius_m"],
                                active=True))
    if not session.scalar(select(func.count()).select_from(CrewMember)
                          .where(CrewMember.antenna_id == antenna_id)):
        for name in DEFAULT_CREW:
            session.add(CrewMember(antenna_id=antenna_id, name=name, hours_per_day=7.6,
                                   active=True))
    session.flush()


# -- sites ------------------------------------------------------------------------------------

def find_or_create_site(session, antenna_id: str, location: dict, now: datetime) -> Site:
    """The same building by house number, or within 15 m; else a new site."""
    key = address_key(location["address"])
    lat, lon = location.get("lat"), location.get("lon")
    if key:
        site = session.scalars(select(Site).where(Site.antenna_id == antenna_id,
                                                  Site.address_key == key)).first()
        if site is not None:
            return site
    if lat is not None and lon is not None:
        dlat, dlon = degree_box(lat, domain.SAME_SITE_RADIUS_M)
        near = session.scalars(select(Site).where(
            Site.antenna_id == antenna_id, Site.lat.between(lat - dlat, lat + dlat),
            Site.lon.between(lon - dlon, lon + dlon)))
        for site in near:
            if distance_m(lat, lon, site.lat, site.lon) <= domain.SAME_SITE_RADIUS_M:
                return site
    site = Site(antenna_id=antenna_id, address=location["address"], address_key=key, lat=lat,
                lon=lon, neighbourhood=location.get("neighbourhood"), created_at=now,
                removals=0)
    session.add(site)
    session.flush()
    return site


def _legal_walls(session) -> list[domain.LegalWall]:
    return [domain.LegalWall(w.code, w.name, w.lat, w.lon, w.radius_m)
            for w in session.scalars(select(LegalWall).where(LegalWall.active))]


# -- events and views ---------------------------------------------------------------------------

def _facts(job: Job, site: Site) -> dict:
    return {"job_id": job.id, "incident_id": job.incident_id, "site_id": site.id,
            "neighbourhood": site.neighbourhood, "surface": job.surface,
            "ownership": job.ownership, "content": job.content, "area_m2": job.area_m2,
            "priority": job.priority, "due_at": as_utc(job.due_at),
            "recurrence": job.recurrence}


def _record(session, job: Job, actor: str, role: str, from_status, to_status, now, note=None):
    session.add(JobHistory(job_id=job.id, from_status=from_status, to_status=to_status,
                           actor=actor, actor_role=role, at=now, note=note))


def job_view(session, job: Job, now: datetime, with_history: bool = False) -> dict:
    site = session.get(Site, job.site_id)
    view = {
        "id": job.id, "incident_id": job.incident_id,
        "site": {"id": site.id, "address": site.address, "lat": site.lat, "lon": site.lon,
                 "neighbourhood": site.neighbourhood, "removals": site.removals,
                 "last_removal_at": as_utc(site.last_removal_at)},
        "surface": job.surface, "area_m2": job.area_m2, "height_m": job.height_m,
        "needs_equipment": job.height_m > domain.EQUIPMENT_HEIGHT_M,
        "ownership": job.ownership, "content": job.content, "photos": json.loads(job.photos),
        "notes": job.notes, "status": job.status, "priority": job.priority,
        "due_at": as_utc(job.due_at),
        "overdue": bool(job.due_at and job.status in domain.OPEN_STATUSES
                        and now > as_utc(job.due_at)),
        "recurrence": job.recurrence,
        "estimated_minutes": domain.estimated_minutes(job.surface, job.area_m2, job.height_m),
        "consent": None if not job.consent_given_at else {
            "owner": job.consent_owner, "given_at": as_utc(job.consent_given_at),
            "waiver_reference": job.consent_reference, "recorded_by": job.consent_recorded_by},
        "scheduled_for": job.scheduled_for, "scheduled_crew": json.loads(job.scheduled_crew),
        "completion": None if job.status != domain.DONE else {
            "removed_m2": job.removed_m2, "method": job.method,
            "minutes_spent": job.minutes_spent, "crew": json.loads(job.crew),
            "completed_at": as_utc(job.completed_at)},
        "reject_reason": job.reject_reason, "cancel_reason": job.cancel_reason,
        "created_at": as_utc(job.created_at),
    }
    if with_history:
        view["history"] = [
            {"from_status": h.from_status, "to_status": h.to_status, "actor": h.actor,
             "actor_role": h.actor_role, "at": as_utc(h.at), "note": h.note}
            for h in session.scalars(select(JobHistory).where(JobHistory.job_id == job.id)
                                     .order_by(JobHistory.id))]
    return view


def _done(uow, job: Job, now: datetime) -> dict:
    """The job as the caller sees it after the change, then the commit."""
    view = job_view(uow.session, job, now, with_history=True)
    uow.commit()
    return view


# -- creating jobs ------------------------------------------------------------------------------

def _new_job(uow, *, actor: str, role: str, antenna_id: str, location: dict, details: dict,
             now: datetime, incident_id=None, intake_organisation=None) -> Job:
    try:
        domain.validate_job(details["surface"], details["area_m2"], details.get("height_m", 0),
                            details["ownership"], details["content"])
    except domain.RuleViolation as exc:
        raise ValidationFailed(str(exc)) from None
    session = uow.session
    site = find_or_create_site(session, antenna_id, location, now)
    wall = domain.legal_wall_at(site.lat, site.lon, _legal_walls(session))
    urgency = domain.urgency(details["content"], details["ownership"])
    status = domain.REJECTED if wall else domain.first_status(details["ownership"], False)
    job = Job(
        antenna_id=antenna_id, incident_id=incident_id, intake_organisation=intake_organisation,
        site_id=site.id, surface=details["surface"], area_m2=details["area_m2"],
        height_m=details.get("height_m", 0.0), ownership=details["ownership"],
        content=details["content"], photos=json.dumps(details.get("photos") or []),
        notes=details.get("notes"), status=status, priority=urgency.priority,
        due_at=domain.deadline(details["content"], details["ownership"], now, None),
        recurrence=domain.is_recurrence(as_utc(site.last_removal_at), now),
        created_at=now, created_by=actor, updated_at=now,
        awaiting_since=now if status == domain.AWAITING_CONSENT else None,
        reject_reason=f"Legal graffiti wall: {wall.name}" if wall else None,
        scheduled_crew="[]", crew="[]",
    )
    session.add(job)
    session.flush()
    _record(session, job, actor, role, None, domain.CREATED, now)
    _record(session, job, actor, role, domain.CREATED, status, now, job.reject_reason)
    uow.emit("job_created", {**_facts(job, site), "status": status, "created_at": now},
             antenna_id=antenna_id)
    if wall:
        uow.emit("job_rejected", {**_facts(job, site), "reason_code": "legal_wall",
                                  "rejected_at": now}, antenna_id=antenna_id)
    return job


def authorise_create(identity: Identity) -> str:
    """May this caller create jobs at all, and for which antenna; before the body is read."""
    identity.require_role(*CHANGERS)
    antenna = identity.acting_antenna()
    return antenna


def create_job(uow, identity: Identity, data: dict, now: datetime) -> dict:
    antenna = authorise_create(identity)
    details = {k: v for k, v in data.items() if k != "site"}
    job = _new_job(uow, actor=identity.user, role=identity.role, antenna_id=antenna,
                   location=data["site"], details=details, now=now)
    return _done(uow, job, now)


def create_from_incident(uow, facts: dict, incident: dict, antenna_id: str, now: datetime
                         ) -> Job | None:
    """One job per graffiti incident, whatever how often its events arrive. No commit."""
    session = uow.session
    if session.scalars(select(Job.id).where(Job.incident_id == facts["incident_id"])).first():
        return None
    ownership, content = FROM_CATEGORY.get(facts["category"], ("public", "ordinary"))
    return _new_job(uow, actor="tags", role="service", antenna_id=antenna_id,
                    location=incident["location"],
                    details={**DEFAULT_ESTIMATE, "ownership": ownership, "content": content,
                             "notes": f"From incident {incident['ticket']}"},
                    now=now, incident_id=facts["incident_id"],
                    intake_organisation=incident.get("intake_organisation"))


def follows_incident(session, incident_id: int) -> bool:
    """Whether tags has a job for, or knowledge of, this incident (then any news of it counts)."""
    return session.scalar(select(func.count()).select_from(KnownIncident).where(
        KnownIncident.incident_id == incident_id)) > 0 or session.scalar(
        select(func.count()).select_from(Job).where(Job.incident_id == incident_id)) > 0


def _newest_knowledge(session, incident: dict, now: datetime) -> KnownIncident:
    """Lock the incident's row of knowledge and keep the newer of it and `incident` (read from
    the incidents service before this unit of work opened)."""
    version = len(incident.get("history") or ())
    dialect = session.get_bind().dialect.name
    insert_ = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[dialect]
    session.execute(insert_(KnownIncident).values(
        incident_id=incident["id"], antenna_id=incident["antenna_id"], version=-1,
        status=incident["status"], parent_category=incident["parent_category"], updated_at=now,
    ).on_conflict_do_nothing(index_elements=["incident_id"]))
    known = session.scalars(select(KnownIncident).where(
        KnownIncident.incident_id == incident["id"]).with_for_update()).one()
    if version >= known.version:
        known.version, known.status = version, incident["status"]
        known.parent_category, known.updated_at = incident["parent_category"], now
    return known


def follow_incident(uow, incident: dict, now: datetime) -> None:
    """Bring the incident's removal job in line with the newest state of the incident that tags
    knows, whatever order the incident's events came in. No commit (an event handler's unit of
    work)."""
    session = uow.session
    known = _newest_knowledge(session, incident, now)
    job = session.scalars(select(Job).where(Job.incident_id == incident["id"])).first()
    action = domain.job_action(known.parent_category, known.status,
                               job.status if job else None)
    if action == domain.CREATE_JOB:
        create_from_incident(uow, {"incident_id": incident["id"],
                                   "category": incident["category"]},
                             incident, incident["antenna_id"], now)
    elif action == domain.CANCEL_JOB:
        why = (f"incident {known.status}" if known.status in domain.INCIDENT_WITHDRAWN
               else "incident reclassified as not graffiti")
        _cancel(uow, job, "tags", "service", why, now)


def job_facts(session, identity: Identity, job_id) -> dict:
    """What another service may check about a job before it believes an event of it: which
    incident and antenna it belongs to, its status and every status it has been in."""
    identity.require_role("service")
    job = session.get(Job, job_id) if isinstance(job_id, int) and 0 < job_id < 2**31 else None
    if job is None or job.antenna_id not in identity.antennas:
        raise NotFound("No such removal job.")
    reached = set(session.scalars(select(JobHistory.to_status).where(
        JobHistory.job_id == job.id)))
    return {"id": job.id, "incident_id": job.incident_id, "antenna_id": job.antenna_id,
            "status": job.status, "reached": sorted(reached)}


# -- changing jobs ------------------------------------------------------------------------------

def _load(session, identity: Identity, job_id, for_update: bool = False) -> Job:
    query = select(Job).where(Job.id == record_id(job_id, NotFound("No such removal job.")))
    if for_update:
        query = query.with_for_update()
    job = session.scalars(query).first()
    if job is None or job.antenna_id not in identity.antennas or not may_read(identity, job):
        raise NotFound("No such removal job.")
    return job


def job_to_change(session, identity: Identity, job_id) -> Job:
    """Those who may not read the job learn nothing (404); readers who may not change it, 403.
    The entrypoints ask this before reading the body; the commands ask it again (one check)."""
    job = _load(session, identity, job_id, for_update=True)
    identity.require_role(*CHANGERS)
    return job


def _transition(session, job: Job, actor: str, role: str, target: str, now: datetime,
                note: str | None = None) -> str:
    """Check the move against the state table, make it and keep it in the job's history.
    Returns the previous status. (A later error rolls the whole unit of work back.)"""
    try:
        domain.check_transition(job.status, target)
    except domain.RuleViolation as exc:
        raise InvalidTransition(str(exc)) from None
    previous = job.status
    job.status, job.updated_at = target, now
    _record(session, job, actor, role, previous, target, now, note)
    return previous


def assess(uow, identity: Identity, job_id: int, data: dict, now: datetime) -> dict:
    """The crew's assessment on site: surface, area, height, ownership, content, photos."""
    session = uow.session
    job = job_to_change(session, identity, job_id)
    if job.status not in domain.OPEN_STATUSES:
        raise InvalidTransition(f"A {job.status} job cannot be changed.")
    merged = {"surface": job.surface, "area_m2": job.area_m2, "height_m": job.height_m,
              "ownership": job.ownership, "content": job.content, **data}
    try:
        domain.validate_job(merged["surface"], merged["area_m2"], merged["height_m"],
                            merged["ownership"], merged["content"])
    except domain.RuleViolation as exc:
        raise ValidationFailed(str(exc)) from None
    for key in ("surface", "area_m2", "height_m", "ownership", "content", "notes"):
        if key in data:
            setattr(job, key, data[key])
    if "photos" in data:
        job.photos = json.dumps(data["photos"])
    previous = job.status
    consent = as_utc(job.consent_given_at)
    if domain.needs_consent(job.ownership) and consent is None and \
            job.status in (domain.READY, domain.SCHEDULED):
        job.status, job.awaiting_since, job.scheduled_for = domain.AWAITING_CONSENT, now, None
    elif not domain.needs_consent(job.ownership) and job.status == domain.AWAITING_CONSENT:
        job.status = domain.READY
    job.priority = domain.urgency(job.content, job.ownership).priority
    job.due_at = domain.deadline(job.content, job.ownership, as_utc(job.created_at), consent)
    job.updated_at = now
    _record(session, job, identity.user, identity.role, previous, job.status, now, "assessed")
    return _done(uow, job, now)


def record_consent(uow, identity: Identity, job_id: int, data: dict, now: datetime) -> dict:
    session = uow.session
    job = job_to_change(session, identity, job_id)
    if not domain.needs_consent(job.ownership):
        raise InvalidTransition("Public property needs no owner consent.")
    if as_utc(data["given_at"]) > now:
        raise ValidationFailed("Consent cannot be given in the future.",
                               {"given_at": ["In the future."]})
    _transition(session, job, identity.user, identity.role, domain.READY, now,
                f"consent {data['waiver_reference']}")
    job.consent_owner, job.consent_given_at = data["owner"], data["given_at"]
    job.consent_reference, job.consent_recorded_by = data["waiver_reference"], identity.user
    job.due_at = domain.deadline(job.content, job.ownership, as_utc(job.created_at),
                                 as_utc(data["given_at"]))
    return _done(uow, job, now)


def schedule(uow, identity: Identity, job_id: int, data: dict, now: datetime) -> dict:
    session = uow.session
    job = job_to_change(session, identity, job_id)
    if domain.needs_consent(job.ownership) and job.consent_given_at is None:
        raise InvalidTransition("Private property: record the owner's consent first.")
    _transition(session, job, identity.user, identity.role, domain.SCHEDULED, now,
                f"for {data['date'].isoformat()}")
    if data["date"] < now.astimezone(BRUSSELS).date():
        raise ValidationFailed("Cannot schedule in the past.", {"date": ["In the past."]})
    crew = data.get("crew") or []
    if crew and len(crew) < domain.crew_needed(job.height_m):
        raise ValidationFailed("Work above 3 m needs two crew members.",
                               {"crew": ["At least two for work above 3 m."]})
    job.scheduled_for, job.scheduled_crew = data["date"], json.dumps(crew)
    site = session.get(Site, job.site_id)
    uow.emit("job_scheduled", {**_facts(job, site), "scheduled_for": data["date"],
                               "crew_size": len(crew)}, antenna_id=job.antenna_id)
    return _done(uow, job, now)


def complete(uow, identity: Identity, job_id: int, data: dict, now: datetime) -> dict:
    session = uow.session
    job = job_to_change(session, identity, job_id)
    _transition(session, job, identity.user, identity.role, domain.DONE, now,
                f"{data['removed_m2']:g} m2, {data['method']}")
    try:
        domain.check_completion(data.get("removed_m2"), data.get("method"),
                                data.get("minutes_spent"), data.get("crew") or [], job.area_m2)
    except domain.RuleViolation as exc:
        raise ValidationFailed(str(exc)) from None
    job.completed_at, job.removed_m2, job.method = now, data["removed_m2"], data["method"]
    job.minutes_spent, job.crew = data["minutes_spent"], json.dumps(data["crew"])
    site = session.get(Site, job.site_id)
    site.last_removal_at, site.removals = now, site.removals + 1
    due = as_utc(job.due_at)
    uow.emit("job_completed", {
        **_facts(job, site), "removed_m2": job.removed_m2, "method": job.method,
        "minutes_spent": job.minutes_spent, "completed_at": now,
        "within_deadline": None if due is None else now <= due,
    }, antenna_id=job.antenna_id)
    return _done(uow, job, now)


def _cancel(uow, job: Job, actor: str, role: str, reason: str, now: datetime) -> None:
    previous = _transition(uow.session, job, actor, role, domain.CANCELLED, now, reason)
    job.cancel_reason = reason
    site = uow.session.get(Site, job.site_id)
    uow.emit("job_cancelled", {**_facts(job, site), "from_status": previous,
                               "cancelled_at": now}, antenna_id=job.antenna_id)


def cancel(uow, identity: Identity, job_id: int, data: dict, now: datetime) -> dict:
    job = job_to_change(uow.session, identity, job_id)
    _cancel(uow, job, identity.user, identity.role, data["reason"], now)
    return _done(uow, job, now)


def remind_consents(uow, now: datetime) -> int:
    """Jobs waiting 10 working days for the owner's consent get a reminder in their history."""
    jobs = uow.session.scalars(select(Job).where(Job.status == domain.AWAITING_CONSENT)).all()
    reminded = 0
    for job in jobs:
        if domain.consent_reminder_due(as_utc(job.awaiting_since or job.created_at), now,
                                       as_utc(job.reminded_at)):
            job.reminded_at = now
            _record(uow.session, job, "tags", "service", job.status, job.status, now,
                    "reminder: owner consent still missing")
            reminded += 1
    uow.commit()
    return reminded


# -- reading ------------------------------------------------------------------------------------

def may_read(identity: Identity, job: Job) -> bool:
    """Crew and coordinator: every job. Desk: the job of an incident its organisation logged."""
    if identity.role in CHANGERS:
        return True
    return (identity.role == "desk" and job.incident_id is not None
            and job.intake_organisation == identity.organisation)


def get_job(session, identity: Identity, job_id: int, now: datetime) -> dict:
    return job_view(session, _load(session, identity, job_id), now, with_history=True)


def authorise_list(identity: Identity) -> None:
    if identity.role not in CHANGERS and identity.role != "desk":
        raise Forbidden(f"Role '{identity.role}' may not read removal jobs.")


def authorise_plan(identity: Identity) -> None:
    identity.require_role(*CHANGERS)


def list_jobs(session, identity: Identity, query: dict, now: datetime) -> dict:
    authorise_list(identity)
    statement = select(Job).join(Site).where(Job.antenna_id.in_(identity.antennas))
    if identity.role == "desk":
        statement = statement.where(Job.intake_organisation == identity.organisation,
                                    Job.incident_id.is_not(None))
    for key, column in (("status", Job.status), ("ownership", Job.ownership),
                        ("content", Job.content), ("incident_id", Job.incident_id),
                        ("recurrence", Job.recurrence), ("scheduled_for", Job.scheduled_for),
                        ("neighbourhood", Site.neighbourhood)):
        if key in query:
            statement = statement.where(column == query[key])
    if query.get("overdue") is not None:
        overdue = Job.status.in_(domain.OPEN_STATUSES) & (Job.due_at < now)
        statement = statement.where(overdue if query["overdue"] else ~overdue)
    total = session.scalar(select(func.count()).select_from(statement.subquery()))
    open_areas = statement.where(Job.status.in_(domain.OPEN_STATUSES)).with_only_columns(
        Job.area_m2).subquery()
    open_m2 = session.scalar(select(func.coalesce(func.sum(open_areas.c.area_m2), 0.0)))
    jobs = session.scalars(statement.order_by(Job.priority, Job.due_at.is_(None), Job.due_at,
                                              Job.id).limit(query["limit"])
                           .offset(query["offset"])).all()
    return {"items": [job_view(session, job, now) for job in jobs], "total": total,
            "limit": query["limit"], "offset": query["offset"], "open_m2": float(open_m2)}


def plan_day(session, identity: Identity, day: date, crew_names: list[str] | None,
             depot: tuple[float, float]) -> dict:
    authorise_plan(identity)
    antenna = identity.acting_antenna()
    members = session.scalars(select(CrewMember).where(CrewMember.antenna_id == antenna,
                                                       CrewMember.active)).all()
    if crew_names is not None:
        known = {m.name: m for m in members}
        unknown = [name for name in crew_names if name not in known]
        if unknown:
            raise ValidationFailed("Unknown crew member.", {"crew": [", ".join(unknown)]})
        members = [known[name] for name in crew_names]
    crew = [planning.CrewMember(m.name, m.hours_per_day) for m in members]
    rows = session.execute(select(Job, Site).join(Site).where(
        Job.antenna_id == antenna,
        (Job.status == domain.READY) | ((Job.status == domain.SCHEDULED)
                                        & (Job.scheduled_for == day)))).all()
    jobs = [planning.PlanJob(
        job_id=job.id, priority=job.priority, due_at=as_utc(job.due_at), area_m2=job.area_m2,
        minutes=domain.estimated_minutes(job.surface, job.area_m2, job.height_m),
        crew_needed=domain.crew_needed(job.height_m), lat=site.lat, lon=site.lon,
        neighbourhood=site.neighbourhood, scheduled_for=job.scheduled_for,
        created_at=as_utc(job.created_at)) for job, site in rows]
    addresses = {job.id: site.address for job, site in rows}
    plan = planning.plan_day(day, crew, jobs, depot)
    return {"date": plan.day, "crew": plan.crew,
            "visits": [{**visit, "address": addresses[visit["job_id"]]} for visit in plan.visits],
            "left_out": plan.left_out, "minutes_available": plan.minutes_available,
            "minutes_planned": plan.minutes_planned, "travel_minutes": plan.travel_minutes,
            "m2_capacity": plan.m2_capacity, "m2_planned": plan.m2_planned}


def backlog(session, now: datetime) -> dict:
    open_filter = Job.status.in_(domain.OPEN_STATUSES)
    year_start = datetime(now.astimezone(BRUSSELS).year, 1, 1, tzinfo=BRUSSELS)
    return {
        "open_jobs": session.scalar(select(func.count()).select_from(Job).where(open_filter)),
        "open_m2": float(session.scalar(select(func.coalesce(func.sum(Job.area_m2), 0.0))
                                        .where(open_filter))),
        "overdue_jobs": session.scalar(select(func.count()).select_from(Job).where(
            open_filter, Job.due_at < now)),
        "removed_m2_this_year": float(session.scalar(
            select(func.coalesce(func.sum(Job.removed_m2), 0.0)).where(
                Job.status == domain.DONE, Job.completed_at >= year_start))),
    }
