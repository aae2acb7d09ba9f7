"""What the tags service does, one function per command: load, decide with the pure domain and
policy, save (every status change through the one lifecycle helper) and emit. Commands called by
the API commit their unit of work; those called by event handlers leave the commit to the
handler. Reads are in views.py."""
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.tags import domain, policy, views
from services.tags.models import (
    CrewAbsence,
    CrewMember,
    Job,
    JobHistory,
    KnownIncident,
    LegalWall,
    Site,
)
from services.tags.reference import legal_walls_reference
from shared import state_machine
from shared.calendar import BRUSSELS
from shared.clock import as_utc
from shared.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from shared.fields import record_id
from shared.geo import address_key, degree_box, distance_m, neighbourhood_of
from shared.identity import Identity
from shared.state_machine import Actor
from shared.unit_of_work import UnitOfWork

View = dict[str, Any]
SERVICE_NAME = "tags"

# Incident sub-categories of the graffiti group -> (ownership, content) of the removal job.
FROM_CATEGORY = {
    "graffiti_offensive": ("public", "offensive"),
    "graffiti_public": ("public", "ordinary"),
    "graffiti_private": ("private", "ordinary"),
}
DEFAULT_ESTIMATE = {"surface": "other", "area_m2": 2.0, "height_m": 0.0}


def seed_reference_data(session: Session, antenna_id: str) -> None:
    """The legal walls as shipped. (The crew is the coordinator's data: see add_crew_member.)"""
    for wall in legal_walls_reference():
        session.merge(LegalWall(code=wall["code"], name=wall["name"], address=wall["address"],
                                lat=wall["lat"], lon=wall["lon"], radius_m=wall["radius_m"],
                                active=True))
    session.flush()


def platform(antenna_id: str) -> Identity:
    """The tags service acting as the platform: the rules' own moves, consumers, timers."""
    return Identity.for_service(SERVICE_NAME, (antenna_id,))


# -- sites ------------------------------------------------------------------------------------

def find_or_create_site(session: Session, antenna_id: str, location: Mapping[str, Any],
                        now: datetime) -> Site:
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
            if site.lat is not None and site.lon is not None and \
                    distance_m(lat, lon, site.lat, site.lon) <= domain.SAME_SITE_RADIUS_M:
                return site
    site = Site(antenna_id=antenna_id, address=location["address"], address_key=key, lat=lat,
                lon=lon, neighbourhood=neighbourhood_of(lat, lon, location.get("neighbourhood")),
                created_at=now, removals=0)
    session.add(site)
    session.flush()
    return site


def _legal_walls(session: Session) -> list[domain.LegalWall]:
    return [domain.LegalWall(w.code, w.name, w.lat, w.lon, w.radius_m)
            for w in session.scalars(select(LegalWall).where(LegalWall.active))]


# -- events, moves and answers ----------------------------------------------------------------

def _facts(job: Job, site: Site) -> dict[str, Any]:
    return {"job_id": job.id, "incident_id": job.incident_id, "site_id": site.id,
            "neighbourhood": site.neighbourhood, "surface": job.surface,
            "ownership": job.ownership, "content": job.content, "area_m2": job.area_m2,
            "priority": job.priority, "due_at": as_utc(job.due_at),
            "recurrence": job.recurrence}


def _history(session: Session, job: Job) -> state_machine.Write:
    return lambda step: session.add(JobHistory(job_id=job.id, **step.row()))


def _move(session: Session, job: Job, target: str, by: Actor, now: datetime,
          why: str | None = None) -> state_machine.Step:
    try:
        return state_machine.move(domain.LIFECYCLE, job, target, by=by, at=now, why=why,
                                  write=_history(session, job))
    except state_machine.MoveRefused as exc:
        raise InvalidTransition(str(exc)) from None


def _done(uow: UnitOfWork, identity: Identity, job: Job, now: datetime, purpose: str) -> View:
    """The job as the caller sees it after the change (the owner's contact read and logged if
    the caller may), then the commit."""
    view = views.job_with_owner_contact_logged(uow.session, identity, job, now, purpose)
    uow.commit()
    return view


# -- creating jobs ------------------------------------------------------------------------------

def _new_job(uow: UnitOfWork, *, by: Identity, antenna_id: str, location: Mapping[str, Any],
             details: Mapping[str, Any], now: datetime, incident_id: int | None = None,
             intake_organisation: str | None = None) -> Job:
    """A job is created by whoever creates it; its first status is the rules' decision, made
    by the platform (waiting for a waiver, ready, or rejected on a legal wall)."""
    try:
        domain.validate_job(details["surface"], details["area_m2"], details.get("height_m", 0),
                            details["ownership"], details["content"])
    except domain.RuleViolation as exc:
        raise ValidationFailed(str(exc)) from None
    session = uow.session
    site = find_or_create_site(session, antenna_id, location, now)
    wall = domain.legal_wall_at(site.lat, site.lon, _legal_walls(session))
    urgency = domain.urgency(details["content"], details["ownership"])
    job = Job(
        antenna_id=antenna_id, incident_id=incident_id, intake_organisation=intake_organisation,
        site_id=site.id, surface=details["surface"], area_m2=details["area_m2"],
        height_m=details.get("height_m", 0.0), ownership=details["ownership"],
        content=details["content"], photos=json.dumps(details.get("photos") or []),
        notes=details.get("notes"), status=domain.CREATED, priority=urgency.priority,
        due_at=domain.deadline(details["content"], details["ownership"], now, None),
        recurrence=domain.is_recurrence(as_utc(site.last_removal_at), now),
        created_at=now, created_by=by.user, updated_at=now,
        reject_reason=f"Legal graffiti wall: {wall.name}" if wall else None,
        scheduled_crew="[]", crew="[]",
    )
    session.add(job)
    session.flush()
    state_machine.begin(domain.LIFECYCLE, job, domain.CREATED, by=by, at=now,
                        write=_history(session, job))
    first = domain.REJECTED if wall else domain.first_status(details["ownership"], False)
    why = job.reject_reason or ("the owner's signed waiver is needed"
                                if first == domain.AWAITING_CONSENT else None)
    _move(session, job, first, platform(antenna_id), now, why)
    uow.emit("job_created", {**_facts(job, site), "status": job.status, "created_at": now},
             antenna_id=antenna_id)
    if wall:
        uow.emit("job_rejected", {**_facts(job, site), "reason_code": "legal_wall",
                                  "rejected_at": now}, antenna_id=antenna_id)
    return job


def authorise_create(identity: Identity) -> str:
    """May this caller create jobs at all, and for which antenna; before the body is read."""
    if not policy.may_change(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not create removal jobs.")
    return identity.acting_antenna()


def create_job(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any],
               now: datetime) -> View:
    antenna = authorise_create(identity)
    details = {k: v for k, v in data.items() if k != "site"}
    job = _new_job(uow, by=identity, antenna_id=antenna, location=data["site"],
                   details=details, now=now)
    return _done(uow, identity, job, now, "create removal job")


def create_from_incident(uow: UnitOfWork, facts: Mapping[str, Any],
                         incident: Mapping[str, Any], antenna_id: str,
                         now: datetime) -> Job | None:
    """One job per graffiti incident, whatever how often its events arrive. No commit."""
    session = uow.session
    if session.scalars(select(Job.id).where(Job.incident_id == facts["incident_id"])).first():
        return None
    ownership, content = FROM_CATEGORY.get(facts["category"], ("public", "ordinary"))
    return _new_job(uow, by=platform(antenna_id), antenna_id=antenna_id,
                    location=incident["location"],
                    details={**DEFAULT_ESTIMATE, "ownership": ownership, "content": content,
                             "notes": f"From incident {incident['ticket']}"},
                    now=now, incident_id=facts["incident_id"],
                    intake_organisation=incident.get("intake_organisation"))


def follows_incident(session: Session, incident_id: int) -> bool:
    """Whether tags has a job for, or knowledge of, this incident (then any news of it counts)."""
    known = session.scalar(select(func.count()).select_from(KnownIncident).where(
        KnownIncident.incident_id == incident_id)) or 0
    jobs = session.scalar(select(func.count()).select_from(Job).where(
        Job.incident_id == incident_id)) or 0
    return known + jobs > 0


def _newest_knowledge(session: Session, incident: Mapping[str, Any],
                      now: datetime) -> KnownIncident:
    """Lock the incident's row of knowledge and keep the newer of it and `incident` (read from
    the incidents service before this unit of work opened)."""
    version = incident["version"]  # the moves the incident has made (incident_facts)
    values = {"incident_id": incident["id"], "antenna_id": incident["antenna_id"],
              "version": -1, "status": incident["status"],
              "parent_category": incident["parent_category"], "updated_at": now}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(postgresql_insert(KnownIncident).values(**values)
                        .on_conflict_do_nothing(index_elements=["incident_id"]))
    else:
        session.execute(sqlite_insert(KnownIncident).values(**values)
                        .on_conflict_do_nothing(index_elements=["incident_id"]))
    known = session.scalars(select(KnownIncident).where(
        KnownIncident.incident_id == incident["id"]).with_for_update()).one()
    if version >= known.version:
        known.version, known.status = version, incident["status"]
        known.parent_category, known.updated_at = incident["parent_category"], now
    return known


def follow_incident(uow: UnitOfWork, incident: Mapping[str, Any], now: datetime) -> None:
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
    elif action == domain.CANCEL_JOB and job is not None:
        why = (f"incident {known.status}" if known.status in domain.INCIDENT_WITHDRAWN
               else "incident reclassified as not graffiti")
        _cancel(uow, job, platform(job.antenna_id), why, now)


# -- changing jobs ------------------------------------------------------------------------------

def job_to_change(session: Session, identity: Identity, job_id: object) -> Job:
    """Those who may not read the job learn nothing (404); readers who may not change it, 403.
    The entrypoints ask this before reading the body; the commands ask it again (one check)."""
    job = views.find_job(session, identity, job_id, for_update=True)
    if not policy.may_change(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not change removal jobs.")
    return job


def assess(uow: UnitOfWork, identity: Identity, job_id: object, data: Mapping[str, Any],
           now: datetime) -> View:
    """The crew's assessment on site: surface, area, height, ownership, content, photos. Private
    property without the owner's waiver waits for it, even if the job was planned."""
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
    consent = as_utc(job.consent_given_at)
    job.priority = domain.urgency(job.content, job.ownership).priority
    job.due_at = domain.deadline(job.content, job.ownership, as_utc(job.created_at) or now,
                                 consent)
    target = domain.status_after_assessment(job.status, job.ownership, consent is not None)
    if target == domain.AWAITING_CONSENT and job.status != target:
        _move(session, job, target, identity, now,
              f"assessed: {job.ownership} property, the owner's signed waiver is needed")
        job.scheduled_crew = "[]"
    elif target != job.status:
        _move(session, job, target, identity, now, f"assessed: {job.ownership} property")
    else:
        state_machine.note(domain.LIFECYCLE, job, by=identity, at=now, why="assessed",
                           write=_history(session, job))
    return _done(uow, identity, job, now, "assess removal job")


def record_consent(uow: UnitOfWork, identity: Identity, job_id: object,
                   data: Mapping[str, Any], now: datetime) -> View:
    session = uow.session
    job = job_to_change(session, identity, job_id)
    if not domain.needs_consent(job.ownership):
        raise InvalidTransition("Public property needs no owner consent.")
    if as_utc(data["given_at"]) > now:
        raise ValidationFailed("Consent cannot be given in the future.",
                               {"given_at": ["In the future."]})
    _move(session, job, domain.READY, identity, now, f"consent {data['waiver_reference']}")
    job.consent_owner, job.consent_given_at = data["owner"], data["given_at"]
    job.consent_owner_phone, job.consent_owner_email = data.get("phone"), data.get("email")
    job.consent_reference, job.consent_recorded_by = data["waiver_reference"], identity.user
    job.due_at = domain.deadline(job.content, job.ownership, as_utc(job.created_at) or now,
                                 as_utc(data["given_at"]))
    return _done(uow, identity, job, now, "record consent")


def schedule(uow: UnitOfWork, identity: Identity, job_id: object, data: Mapping[str, Any],
             now: datetime) -> View:
    session = uow.session
    job = job_to_change(session, identity, job_id)
    if domain.needs_consent(job.ownership) and job.consent_given_at is None:
        raise InvalidTransition("Private property: record the owner's consent first.")
    _move(session, job, domain.SCHEDULED, identity, now, f"for {data['date'].isoformat()}")
    if data["date"] < now.astimezone(BRUSSELS).date():
        raise ValidationFailed("Cannot schedule in the past.", {"date": ["In the past."]})
    # Named members must be of the crew and present that day; stored as the crew list spells them.
    crew = [m.name for m in views.crew_present(session, job.antenna_id, data["date"],
                                                data["crew"])] if data.get("crew") else []
    if crew and len(crew) < domain.crew_needed(job.height_m):
        raise ValidationFailed("Work above 3 m needs two crew members.",
                               {"crew": ["At least two for work above 3 m."]})
    job.scheduled_for, job.scheduled_crew = data["date"], json.dumps(crew)
    site = session.get_one(Site, job.site_id)
    uow.emit("job_scheduled", {**_facts(job, site), "scheduled_for": data["date"],
                               "crew_size": len(crew)}, antenna_id=job.antenna_id)
    return _done(uow, identity, job, now, "schedule removal job")


def complete(uow: UnitOfWork, identity: Identity, job_id: object, data: Mapping[str, Any],
             now: datetime) -> View:
    session = uow.session
    job = job_to_change(session, identity, job_id)
    _move(session, job, domain.DONE, identity, now,
          f"{data['removed_m2']:g} m2, {data['method']}")
    try:
        domain.check_completion(data.get("removed_m2"), data.get("method"),
                                data.get("minutes_spent"), data.get("crew") or [], job.area_m2)
    except domain.RuleViolation as exc:
        raise ValidationFailed(str(exc)) from None
    # Whoever did the work is credited by their crew record, absent that day or not (a completion
    # may be recorded later); an unknown name is refused.
    crew = [m.name for m in views.crew_members(session, job.antenna_id, data["crew"])]
    job.removed_m2, job.method = data["removed_m2"], data["method"]
    job.minutes_spent, job.crew = data["minutes_spent"], json.dumps(crew)
    site = session.get_one(Site, job.site_id)
    site.last_removal_at, site.removals = now, site.removals + 1
    due = as_utc(job.due_at)
    uow.emit("job_completed", {
        **_facts(job, site), "removed_m2": job.removed_m2, "method": job.method,
        "minutes_spent": job.minutes_spent, "completed_at": now,
        "within_deadline": None if due is None else now <= due,
    }, antenna_id=job.antenna_id)
    return _done(uow, identity, job, now, "complete removal job")


def _cancel(uow: UnitOfWork, job: Job, by: Actor, reason: str, now: datetime) -> None:
    step = _move(uow.session, job, domain.CANCELLED, by, now, reason)
    job.cancel_reason = reason
    site = uow.session.get_one(Site, job.site_id)
    uow.emit("job_cancelled", {**_facts(job, site), "from_status": step.from_status,
                               "cancelled_at": now}, antenna_id=job.antenna_id)


def cancel(uow: UnitOfWork, identity: Identity, job_id: object, data: Mapping[str, Any],
           now: datetime) -> View:
    job = job_to_change(uow.session, identity, job_id)
    _cancel(uow, job, identity, data["reason"], now)
    return _done(uow, identity, job, now, "cancel removal job")


def remind_consents(uow: UnitOfWork, now: datetime) -> int:
    """Jobs waiting 10 working days for the owner's consent get a reminder in their history."""
    jobs = uow.session.scalars(select(Job).where(Job.status == domain.AWAITING_CONSENT)).all()
    reminded = 0
    for job in jobs:
        since = as_utc(job.awaiting_since) or as_utc(job.created_at) or now
        if domain.consent_reminder_due(since, now, as_utc(job.reminded_at)):
            job.reminded_at = now
            state_machine.note(domain.LIFECYCLE, job, by=platform(job.antenna_id), at=now,
                               why="reminder: owner consent still missing",
                               write=_history(uow.session, job))
            reminded += 1
    uow.commit()
    return reminded


# -- the crew -----------------------------------------------------------------------------------

def authorise_crew_change(identity: Identity) -> str:
    """May this caller manage the crew at all (403), and of which antenna; before the body is
    read."""
    if not policy.may_manage_crew(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not manage the crew.")
    return identity.acting_antenna()


def crew_member_to_change(session: Session, identity: Identity, member_id: object
                          ) -> CrewMember:
    antenna = authorise_crew_change(identity)
    member = session.scalars(select(CrewMember).where(
        CrewMember.id == record_id(member_id, NotFound("No such crew member.")))
        .with_for_update()).first()
    if member is None or member.antenna_id != antenna:
        raise NotFound("No such crew member.")
    return member


def _crew_answer(uow: UnitOfWork, member: CrewMember, now: datetime) -> View:
    view = views.crew_member_view(uow.session, member, now.astimezone(BRUSSELS).date())
    uow.commit()
    return view


def add_crew_member(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any],
                    now: datetime) -> View:
    """A new member; a former member of the same name (any case) is active again."""
    antenna = authorise_crew_change(identity)
    name = " ".join(data["name"].split())
    member = uow.session.scalars(select(CrewMember).where(
        CrewMember.antenna_id == antenna,
        func.lower(CrewMember.name) == name.lower()).with_for_update()).first()
    if member is not None and member.active:
        raise ValidationFailed("Already in the crew.", {"name": [f"{member.name} is in the "
                                                                 "crew."]})
    if member is None:
        member = CrewMember(antenna_id=antenna, name=name)
        uow.session.add(member)
    member.hours_per_day, member.active = data["hours_per_day"], True
    uow.session.flush()
    return _crew_answer(uow, member, now)


def deactivate_crew_member(uow: UnitOfWork, identity: Identity, member_id: object,
                           data: Mapping[str, Any], now: datetime) -> View:
    """No longer in the crew: never planned again (jobs done keep their names)."""
    member = crew_member_to_change(uow.session, identity, member_id)
    if not member.active:
        raise InvalidTransition(f"{member.name} is not in the crew any more.")
    member.active = False
    return _crew_answer(uow, member, now)


def record_absence(uow: UnitOfWork, identity: Identity, member_id: object,
                   data: Mapping[str, Any], now: datetime) -> View:
    """Days the member is away, both included; plans of those days leave them out."""
    member = crew_member_to_change(uow.session, identity, member_id)
    if data["last_day"] < data["first_day"]:
        raise ValidationFailed("The absence ends before it starts.",
                               {"last_day": ["Before first_day."]})
    uow.session.add(CrewAbsence(member_id=member.id, first_day=data["first_day"],
                                last_day=data["last_day"], recorded_by=identity.user,
                                recorded_at=now))
    uow.session.flush()
    return _crew_answer(uow, member, now)
