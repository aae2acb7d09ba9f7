"""What the tags service shows: removal jobs, lists, the day's plan, the crew, the gauges, and
what another service may check of a job. Reads only, apart from the logged one, which says so in
its name: a read of an owner's contact writes who, when and why to the access log in the
caller's unit of work."""
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.tags import domain, planning, policy
from services.tags.models import (
    ContactAccessLog,
    CrewAbsence,
    CrewMember,
    Job,
    JobHistory,
    Site,
)
from shared.calendar import BRUSSELS
from shared.clock import as_utc
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.fields import record_id
from shared.identity import Identity
from shared.metrics import Family, Reading
from shared.paging import fetch_page
from shared.queries import neighbourhood_is

View = dict[str, Any]
NO_SUCH_JOB = "No such removal job."


# -- one job ----------------------------------------------------------------------------------

def job_view(session: Session, job: Job, now: datetime) -> View:
    """What every reader of the job sees: never the owner's name or contact, nor the
    history."""
    site = session.get_one(Site, job.site_id)
    due_at = as_utc(job.due_at)
    return {
        "id": job.id, "incident_id": job.incident_id,
        "site": {"id": site.id, "address": site.address, "lat": site.lat, "lon": site.lon,
                 "neighbourhood": site.neighbourhood, "removals": site.removals,
                 "last_removal_at": as_utc(site.last_removal_at)},
        "surface": job.surface, "area_m2": job.area_m2, "height_m": job.height_m,
        "needs_equipment": job.height_m > domain.EQUIPMENT_HEIGHT_M,
        "ownership": job.ownership, "content": job.content, "photos": json.loads(job.photos),
        "notes": job.notes, "status": job.status, "priority": job.priority,
        "due_at": due_at,
        "overdue": bool(due_at and job.status in domain.OPEN_STATUSES and now > due_at),
        "recurrence": job.recurrence,
        "estimated_minutes": domain.estimated_minutes(job.surface, job.area_m2, job.height_m),
        "consent": None if not job.consent_given_at else {
            "given_at": as_utc(job.consent_given_at), "waiver_reference": job.consent_reference,
            "recorded_by": job.consent_recorded_by, "owner": None},
        "scheduled_for": job.scheduled_for, "scheduled_crew": json.loads(job.scheduled_crew),
        "completion": None if job.status != domain.DONE else {
            "removed_m2": job.removed_m2, "method": job.method,
            "minutes_spent": job.minutes_spent, "crew": json.loads(job.crew),
            "completed_at": as_utc(job.completed_at)},
        "reject_reason": job.reject_reason, "cancel_reason": job.cancel_reason,
        "created_at": as_utc(job.created_at),
    }


def history(session: Session, job: Job) -> list[View]:
    return [{"from_status": h.from_status, "to_status": h.to_status, "actor": h.actor,
             "actor_role": h.actor_role, "at": as_utc(h.at), "note": h.note}
            for h in session.scalars(select(JobHistory).where(JobHistory.job_id == job.id)
                                     .order_by(JobHistory.id))]


def job_with_owner_contact_logged(session: Session, identity: Identity, job: Job,
                                  now: datetime, purpose: str) -> View:
    """One job with its history, and the owner's name and contact on the consent record if the
    caller may read them: that read is written to the access log (the caller commits)."""
    view = job_view(session, job, now)
    view["history"] = history(session, job)
    if view["consent"] is not None and policy.may_read_owner_contact(identity.role):
        session.add(ContactAccessLog(job_id=job.id, user=identity.user, role=identity.role,
                                     organisation=identity.organisation, purpose=purpose,
                                     at=now))
        view["consent"]["owner"] = {"name": job.consent_owner, "phone": job.consent_owner_phone,
                                    "email": job.consent_owner_email}
    return view


def find_job(session: Session, identity: Identity, job_id: object,
             for_update: bool = False) -> Job:
    """The job as this caller may see it: the same answer for one it may not see as for one
    that does not exist."""
    query = select(Job).where(Job.id == record_id(job_id, NotFound(NO_SUCH_JOB)))
    if for_update:
        query = query.with_for_update()
    job = session.scalars(query).first()
    if job is None or job.antenna_id not in identity.antennas or not policy.may_read(
            identity.role, identity.organisation, intake_organisation=job.intake_organisation,
            from_incident=job.incident_id is not None):
        raise NotFound(NO_SUCH_JOB)
    return job


def job_by_id_with_owner_contact_logged(session: Session, identity: Identity, job_id: object,
                                        now: datetime) -> View:
    """`GET /tag-jobs/{id}`: the caller commits (the access log, if any)."""
    return job_with_owner_contact_logged(session, identity, find_job(session, identity, job_id),
                                         now, "view removal job")


def job_facts(session: Session, identity: Identity, job_id: object) -> View:
    """What another service may check about a job before it believes an event of it: which
    incident and antenna it belongs to, its status and every status it has been in."""
    if not policy.may_check_job_facts(identity.role):
        raise Forbidden("Services only.")
    job = session.get(Job, job_id) if isinstance(job_id, int) and 0 < job_id < 2**31 else None
    if job is None or job.antenna_id not in identity.antennas:
        raise NotFound(NO_SUCH_JOB)
    reached = set(session.scalars(select(JobHistory.to_status).where(
        JobHistory.job_id == job.id)))
    return {"id": job.id, "incident_id": job.incident_id, "antenna_id": job.antenna_id,
            "status": job.status, "reached": sorted(reached)}


# -- lists ------------------------------------------------------------------------------------

def authorise_list(identity: Identity) -> None:
    if not policy.may_list(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not read removal jobs.")


def list_jobs(session: Session, identity: Identity, query: Mapping[str, Any],
              now: datetime) -> View:
    """A page of jobs, with the open m2 of the whole list (never an owner's contact)."""
    authorise_list(identity)
    statement = select(Job).join(Site).where(Job.antenna_id.in_(identity.antennas))
    if policy.lists_own_intake_only(identity.role):
        statement = statement.where(Job.intake_organisation == identity.organisation,
                                    Job.incident_id.is_not(None))
    for key, column in (("status", Job.status), ("ownership", Job.ownership),
                        ("content", Job.content), ("incident_id", Job.incident_id),
                        ("recurrence", Job.recurrence), ("scheduled_for", Job.scheduled_for)):
        if key in query:
            statement = statement.where(column == query[key])
    if "neighbourhood" in query:
        statement = statement.where(neighbourhood_is(Site.neighbourhood, query["neighbourhood"]))
    if query.get("overdue") is not None:
        overdue = Job.status.in_(domain.OPEN_STATUSES) & (Job.due_at < now)
        statement = statement.where(overdue if query["overdue"] else ~overdue)
    open_areas = statement.where(Job.status.in_(domain.OPEN_STATUSES)).with_only_columns(
        Job.area_m2).subquery()
    open_m2 = session.scalar(select(func.coalesce(func.sum(open_areas.c.area_m2), 0.0)))
    page = fetch_page(session, statement.order_by(Job.priority, Job.due_at.is_(None),
                                                  Job.due_at, Job.id), query)
    return page.answer(lambda job: job_view(session, job, now), open_m2=float(open_m2 or 0))


OPEN_JOBS = Family("lisa_tags_open_jobs", "Removal jobs not done, cancelled or rejected.",
                   ("antenna",))
BACKLOG_M2 = Family("lisa_tags_backlog_m2", "Estimated m2 of graffiti waiting for removal "
                    "(open jobs).", ("antenna",))
OVERDUE_JOBS = Family("lisa_tags_overdue_jobs", "Open removal jobs past their deadline.",
                      ("antenna",))
REMOVED_M2 = Family("lisa_tags_removed_m2_total", "m2 of graffiti removed since 1 January "
                    "(Brussels time), read from the completed jobs.", ("antenna",),
                    kind="counter")


def gauges(session: Session, now: datetime) -> list[Reading]:
    """The crew's backlog per antenna, read when Prometheus scrapes. The m2 removed this year
    is a counter read from the jobs themselves, so a restart does not reset it and 1 January
    does (a counter reset, which rate() and increase() handle)."""
    is_open = Job.status.in_(domain.OPEN_STATUSES)
    year_start = datetime(now.astimezone(BRUSSELS).year, 1, 1, tzinfo=BRUSSELS)
    backlog = session.execute(
        select(Job.antenna_id, func.count(), func.coalesce(func.sum(Job.area_m2), 0.0))
        .where(is_open).group_by(Job.antenna_id)).all()
    return [
        OPEN_JOBS.rows((antenna, jobs) for antenna, jobs, _ in backlog),
        BACKLOG_M2.rows((antenna, m2) for antenna, _, m2 in backlog),
        OVERDUE_JOBS.rows(session.execute(
            select(Job.antenna_id, func.count()).where(is_open, Job.due_at < now)
            .group_by(Job.antenna_id))),
        REMOVED_M2.rows(session.execute(
            select(Job.antenna_id, func.coalesce(func.sum(Job.removed_m2), 0.0))
            .where(Job.status == domain.DONE, Job.completed_at >= year_start)
            .group_by(Job.antenna_id))),
    ]


# -- the crew ---------------------------------------------------------------------------------

def authorise_crew_read(identity: Identity) -> None:
    if not policy.may_read_crew(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not read the crew.")


def _antenna(identity: Identity) -> str:
    return identity.acting_antenna()


def crew_member_view(session: Session, member: CrewMember, today: date) -> View:
    """A member and the absences not over yet."""
    absences = session.scalars(select(CrewAbsence).where(
        CrewAbsence.member_id == member.id, CrewAbsence.last_day >= today)
        .order_by(CrewAbsence.first_day, CrewAbsence.id))
    return {"id": member.id, "name": member.name, "hours_per_day": member.hours_per_day,
            "active": member.active,
            "absences": [{"id": a.id, "first_day": a.first_day, "last_day": a.last_day}
                         for a in absences]}


def list_crew(session: Session, identity: Identity, now: datetime) -> list[View]:
    authorise_crew_read(identity)
    today = now.astimezone(BRUSSELS).date()
    members = session.scalars(select(CrewMember).where(
        CrewMember.antenna_id == _antenna(identity)).order_by(CrewMember.id))
    return [crew_member_view(session, member, today) for member in members]


def absent_on(session: Session, day: date, member_ids: list[int]) -> set[int]:
    return set(session.scalars(select(CrewAbsence.member_id).where(
        CrewAbsence.member_id.in_(member_ids), CrewAbsence.first_day <= day,
        CrewAbsence.last_day >= day)))


def _active_crew(session: Session, antenna: str) -> list[CrewMember]:
    return list(session.scalars(select(CrewMember).where(
        CrewMember.antenna_id == antenna, CrewMember.active).order_by(CrewMember.id)))


def crew_members(session: Session, antenna: str, names: list[str]) -> list[CrewMember]:
    """The active members named (any case, surrounding spaces ignored); an unknown name is a
    422 naming it."""
    known = {m.name.casefold(): m for m in _active_crew(session, antenna)}
    unknown = [name for name in names if name.strip().casefold() not in known]
    if unknown:
        raise ValidationFailed("Unknown crew member.", {"crew": [", ".join(unknown)]})
    return [known[name.strip().casefold()] for name in names]


def crew_present(session: Session, antenna: str, day: date,
                 names: list[str] | None) -> list[CrewMember]:
    """The active members present on `day`; or the members named, each of whom must be an
    active member present that day."""
    if names is None:
        members = _active_crew(session, antenna)
        absent = absent_on(session, day, [m.id for m in members])
        return [m for m in members if m.id not in absent]
    named = crew_members(session, antenna, names)
    absent = absent_on(session, day, [m.id for m in named])
    away = [m.name for m in named if m.id in absent]
    if away:
        raise ValidationFailed("Absent that day.",
                               {"crew": [f"{', '.join(away)}: absent on {day.isoformat()}."]})
    return named


# -- the day's plan ---------------------------------------------------------------------------

def authorise_plan(identity: Identity) -> None:
    if not policy.may_change(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not plan removal jobs.")


def plan_day(session: Session, identity: Identity, day: date, crew_names: list[str] | None,
             depot: tuple[float, float], anyway: bool = False) -> View:
    """The crew's day: the members present (or those named), the ready jobs and those already
    scheduled for the day. A day that is not a working day is said to be one, and has no plan
    unless `anyway`."""
    authorise_plan(identity)
    antenna = _antenna(identity)
    members = crew_present(session, antenna, day, crew_names)
    crew = [planning.CrewMember(m.name, m.hours_per_day) for m in members]
    rows = session.execute(select(Job, Site).join(Site).where(
        Job.antenna_id == antenna,
        (Job.status == domain.READY) | ((Job.status == domain.SCHEDULED)
                                        & (Job.scheduled_for == day)))).tuples().all()
    jobs = [planning.PlanJob(
        job_id=job.id, priority=job.priority, due_at=as_utc(job.due_at), area_m2=job.area_m2,
        minutes=domain.estimated_minutes(job.surface, job.area_m2, job.height_m),
        crew_needed=domain.crew_needed(job.height_m), lat=site.lat, lon=site.lon,
        neighbourhood=site.neighbourhood, scheduled_for=job.scheduled_for,
        created_at=as_utc(job.created_at), site_id=site.id) for job, site in rows]
    addresses = {job.id: site.address for job, site in rows}
    plan = planning.plan_day(day, crew, jobs, depot, anyway=anyway)
    return {"date": plan.day, "working_day": plan.working_day, "message": plan.message,
            "crew": plan.crew,
            "visits": [{**visit, "address": addresses[visit["job_id"]]} for visit in plan.visits],
            "left_out": plan.left_out, "minutes_available": plan.minutes_available,
            "minutes_planned": plan.minutes_planned, "travel_minutes": plan.travel_minutes,
            "m2_capacity": plan.m2_capacity, "m2_planned": plan.m2_planned}


# -- the owner contact access log ---------------------------------------------------------------

def job_for_contact_log(session: Session, identity: Identity, job_id: object) -> Job:
    """May this caller read access logs at all (403), and is there such a job (404): asked
    before the query is read."""
    if not policy.may_read_contact_log(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not read the contact access log.")
    job = session.get(Job, record_id(job_id, NotFound(NO_SUCH_JOB)))
    if job is None or job.antenna_id not in identity.antennas:
        raise NotFound(NO_SUCH_JOB)
    return job


def contact_access_page(session: Session, identity: Identity, job_id: object,
                        query: Mapping[str, Any]) -> View:
    """Who read the owner's contact on this job's consent record, when and why."""
    job = job_for_contact_log(session, identity, job_id)
    page = fetch_page(session, select(ContactAccessLog).where(
        ContactAccessLog.job_id == job.id).order_by(ContactAccessLog.id), query)
    return page.answer(lambda row: {"user": row.user, "role": row.role,
                                    "organisation": row.organisation, "purpose": row.purpose,
                                    "at": as_utc(row.at)})
