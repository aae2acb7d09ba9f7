"""Reads of the patrols service: the instance a roster is solved for, views of posts, demand,
wardens, rosters, swaps and logs, a warden's own schedule, the shift ranking, the hotspot
weights and the iCalendar feeds. Reads of personal data (a warden's leave, the whole team's
schedule) say so in their names and write the access log."""
import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import icalendar
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.patrols import domain, policy, solver
from services.patrols.models import (
    AccessLog,
    Demand,
    FeedToken,
    HotspotIncident,
    Leave,
    Observation,
    PatrolLog,
    Post,
    Roster,
    RosterAssignment,
    Swap,
    Warden,
)
from services.patrols.reference import school_holidays
from shared.calendar import BRUSSELS, belgian_holidays
from shared.clock import as_utc
from shared.errors import Forbidden, NotFound
from shared.fields import record_id
from shared.identity import Identity
from shared.metrics import Family, Reading
from shared.paging import fetch_page

View = dict[str, Any]


def _codes(text: str) -> frozenset[str]:
    return frozenset(code for code in text.split(",") if code)


def _days(text: str) -> frozenset[int]:
    return frozenset(int(day) for day in text.split(",") if day)


def authorise_read(identity: Identity) -> str:
    if not policy.may_read_plans(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not read the patrol plans.")
    return identity.antennas[0] if identity.antennas else ""


def _log_access(session: Session, identity: Identity, what: str, purpose: str,
                now: datetime) -> None:
    session.add(AccessLog(antenna_id=identity.antennas[0] if identity.antennas else "",
                          user=identity.user, role=identity.role, what=what, purpose=purpose,
                          at=now))


# -- the instance -------------------------------------------------------------------------------

def demand_of(row: Demand) -> domain.Demand:
    return domain.Demand(row.id, row.post_id, row.start, row.end, row.required, row.weekday,
                         row.on_date, row.valid_from, row.valid_to, row.school_days_only)


def hotspots(session: Session, antenna_id: str, now: datetime) -> dict[str, int]:
    """Incidents per neighbourhood over the last 28 days."""
    since = now - timedelta(days=domain.HOTSPOT_WINDOW_DAYS)
    rows = session.execute(
        select(HotspotIncident.neighbourhood, func.count())
        .where(HotspotIncident.antenna_id == antenna_id, HotspotIncident.reported_at >= since,
               HotspotIncident.reported_at <= now, HotspotIncident.neighbourhood.is_not(None))
        .group_by(HotspotIncident.neighbourhood)).all()
    return {hood: count for hood, count in rows if hood is not None}


def instance(session: Session, antenna_id: str, first: date, last: date, now: datetime,
             authority: str) -> domain.Instance:
    posts = [domain.Post(p.id, p.name, p.kind, p.neighbourhood, _codes(p.skills), p.lat, p.lon)
             for p in session.scalars(select(Post).where(Post.antenna_id == antenna_id,
                                                         Post.active))]
    demands = [demand_of(d) for d in session.scalars(select(Demand).where(
        Demand.antenna_id == antenna_id))]
    closed = domain.no_school_days(school_holidays(authority),
                                   belgian_holidays(range(first.year, last.year + 1)),
                                   first, last)
    leave: dict[int, set[date]] = defaultdict(set)
    for row in session.scalars(select(Leave).join(Warden, Warden.id == Leave.warden_id).where(
            Warden.antenna_id == antenna_id, Leave.last_day >= first, Leave.first_day <= last)):
        day = max(row.first_day, first)
        while day <= min(row.last_day, last):
            leave[row.warden_id].add(day)
            day += timedelta(days=1)
    wardens = [domain.Warden(w.id, w.name, w.contract_hours, _codes(w.skills),
                             frozenset(leave[w.id]), _days(w.desired_days),
                             _days(w.undesired_days), w.active)
               for w in session.scalars(select(Warden).where(Warden.antenna_id == antenna_id)
                                        .order_by(Warden.id))]
    return domain.Instance(first, last, tuple(domain.expand(posts, demands, first, last,
                                                            closed)),
                           tuple(wardens), hotspots(session, antenna_id, now))


def assignments_of(session: Session, roster_id: int) -> list[domain.Assignment]:
    return [domain.Assignment(slot_id, warden_id) for slot_id, warden_id in session.execute(
        select(RosterAssignment.slot_id, RosterAssignment.warden_id)
        .where(RosterAssignment.roster_id == roster_id)
        .order_by(RosterAssignment.start, RosterAssignment.slot_id, RosterAssignment.warden_id))]


# -- views --------------------------------------------------------------------------------------

def post_view(post: Post) -> View:
    return {"id": post.id, "name": post.name, "kind": post.kind, "address": post.address,
            "neighbourhood": post.neighbourhood, "lat": post.lat, "lon": post.lon,
            "skills": sorted(_codes(post.skills))}


def demand_view(d: Demand) -> View:
    return {"id": d.id, "post_id": d.post_id, "start": d.start, "end": d.end,
            "required": d.required, "weekday": d.weekday, "on_date": d.on_date,
            "valid_from": d.valid_from, "valid_to": d.valid_to,
            "school_days_only": d.school_days_only}


def warden_view(w: Warden, leave: list[Leave] | None) -> View:
    view: View = {"id": w.id, "name": w.name, "username": w.username,
                  "contract_hours": w.contract_hours, "skills": sorted(_codes(w.skills)),
                  "desired_days": sorted(_days(w.desired_days)),
                  "undesired_days": sorted(_days(w.undesired_days)), "active": w.active}
    if leave is not None:
        view["leave"] = [{"first_day": row.first_day, "last_day": row.last_day}
                         for row in leave]
    return view


def warden_with_leave_logged(session: Session, identity: Identity, warden: Warden,
                             now: datetime, purpose: str) -> View:
    """With the leave days if the caller may read them (the read is logged)."""
    if not policy.may_read_leave(identity.role):
        return warden_view(warden, None)
    _log_access(session, identity, f"warden:{warden.id}:leave", purpose, now)
    leave = list(session.scalars(select(Leave).where(Leave.warden_id == warden.id)
                                 .order_by(Leave.first_day)))
    return warden_view(warden, leave)


def list_posts(session: Session, identity: Identity) -> list[View]:
    antenna_id = authorise_read(identity)
    return [post_view(p) for p in session.scalars(
        select(Post).where(Post.antenna_id == antenna_id, Post.active).order_by(Post.id))]


def list_demand(session: Session, identity: Identity, query: dict[str, Any]) -> View:
    antenna_id = authorise_read(identity)
    statement = select(Demand).where(Demand.antenna_id == antenna_id)
    if query.get("post_id"):
        statement = statement.where(Demand.post_id == query["post_id"])
    return fetch_page(session, statement.order_by(Demand.id), query).answer(demand_view)


def list_wardens_with_leave_logged(session: Session, identity: Identity,
                                   now: datetime) -> list[View]:
    antenna_id = authorise_read(identity)
    return [warden_with_leave_logged(session, identity, w, now, "team list")
            for w in session.scalars(select(Warden).where(Warden.antenna_id == antenna_id)
                                     .order_by(Warden.id))]


def roster_view(session: Session, roster: Roster, inst: domain.Instance | None = None
                ) -> View:
    rows = session.execute(
        select(RosterAssignment, Post.name, Warden.name)
        .join(Post, Post.id == RosterAssignment.post_id)
        .join(Warden, Warden.id == RosterAssignment.warden_id)
        .where(RosterAssignment.roster_id == roster.id)
        .order_by(RosterAssignment.start, RosterAssignment.slot_id, Warden.id)).all()
    gap = None if roster.bound is None else \
        max(0.0, (roster.bound - roster.objective) / max(1, abs(roster.bound)))
    view: View = {
        "id": roster.id, "first_day": roster.first_day, "last_day": roster.last_day,
        "status": roster.status, "method": roster.method, "solver_status": roster.solver_status,
        "objective": roster.objective, "bound": roster.bound, "gap": gap,
        "seconds": round(roster.seconds, 3), "changes": roster.changes,
        "breakdown": json.loads(roster.breakdown), "gaps": json.loads(roster.gaps),
        "dropped_pins": json.loads(roster.dropped_pins), "created_at": roster.created_at,
        "published_at": roster.published_at,
        "assignments": [{"slot_id": a.slot_id, "post_id": a.post_id, "post": post,
                         "warden_id": a.warden_id, "warden": warden, "start": a.start,
                         "end": a.end} for a, post, warden in rows]}
    if inst is not None:
        required = sum(s.required for s in inst.slots)
        view["coverage"] = 1.0 if not required else len(rows) / required
    return view


def get_roster(session: Session, identity: Identity, roster_id: object) -> View:
    antenna_id = authorise_read(identity)
    number = record_id(roster_id, NotFound("No such roster."))
    roster = session.get(Roster, number)
    if roster is None or roster.antenna_id != antenna_id:
        raise NotFound("No such roster.")
    return roster_view(session, roster)


def list_rosters(session: Session, identity: Identity, query: dict[str, Any]) -> View:
    antenna_id = authorise_read(identity)
    statement = select(Roster).where(Roster.antenna_id == antenna_id)
    if query.get("status"):
        statement = statement.where(Roster.status == query["status"])
    page = fetch_page(session, statement.order_by(Roster.id.desc()), query)
    return page.answer(lambda r: {k: v for k, v in roster_view(session, r).items()
                                  if k != "assignments"})


def candidates(session: Session, identity: Identity, roster_id: object, slot_id: str,
               now: datetime, authority: str) -> list[View]:
    """Who can take this shift, ranked (services/patrols/solver.py `candidates`)."""
    antenna_id = authorise_read(identity)
    number = record_id(roster_id, NotFound("No such roster."))
    roster = session.get(Roster, number)
    if roster is None or roster.antenna_id != antenna_id:
        raise NotFound("No such roster.")
    inst = instance(session, antenna_id, roster.first_day, roster.last_day, now, authority)
    if slot_id not in inst.slots_by_id:
        raise NotFound(f"No slot {slot_id!r} in this roster's period.")
    return solver.candidates(inst, assignments_of(session, roster.id), slot_id)


def _schedule_rows(session: Session, antenna_id: str, warden_id: int | None,
                   first: date | None = None, last: date | None = None) -> list[Any]:
    statement = (select(RosterAssignment, Post, Warden.name)
                 .join(Roster, Roster.id == RosterAssignment.roster_id)
                 .join(Post, Post.id == RosterAssignment.post_id)
                 .join(Warden, Warden.id == RosterAssignment.warden_id)
                 .where(Roster.antenna_id == antenna_id, Roster.status == "published"))
    if warden_id is not None:
        statement = statement.where(RosterAssignment.warden_id == warden_id)
    if first is not None:
        statement = statement.where(RosterAssignment.start >= datetime.combine(first,
                                                                               datetime.min.time()))
    if last is not None:
        statement = statement.where(RosterAssignment.start <
                                    datetime.combine(last + timedelta(days=1),
                                                     datetime.min.time()))
    return list(session.execute(statement.order_by(RosterAssignment.start,
                                                   RosterAssignment.slot_id)).all())


def _partners(session: Session, roster_slot: list[tuple[int, str]]) -> dict[tuple[int, str],
                                                                             list[str]]:
    if not roster_slot:
        return {}
    rows = session.execute(
        select(RosterAssignment.roster_id, RosterAssignment.slot_id, Warden.name)
        .join(Warden, Warden.id == RosterAssignment.warden_id)
        .where(RosterAssignment.slot_id.in_({s for _, s in roster_slot}))).all()
    found: dict[tuple[int, str], list[str]] = defaultdict(list)
    for roster_id, slot_id, name in rows:
        found[roster_id, slot_id].append(name)
    return found


def my_schedule(session: Session, identity: Identity, first: date | None,
                last: date | None) -> View:
    """The warden's own published shifts, with whom."""
    if not policy.is_warden(identity.role):
        raise Forbidden(f"Role '{identity.role}' has no schedule of its own.")
    me = session.scalars(select(Warden).where(Warden.username == identity.user,
                                              Warden.antenna_id.in_(identity.antennas))).first()
    if me is None:
        raise NotFound("No warden record for this account.")
    rows = _schedule_rows(session, me.antenna_id, me.id, first, last)
    partners = _partners(session, [(a.roster_id, a.slot_id) for a, _, _ in rows])
    return {"warden_id": me.id, "name": me.name, "shifts": [
        {"roster_id": a.roster_id, "slot_id": a.slot_id, "post_id": post.id, "post": post.name,
         "address": post.address, "start": a.start, "end": a.end,
         "with": sorted(n for n in partners[a.roster_id, a.slot_id] if n != me.name)}
        for a, post, _ in rows]}


def list_swaps(session: Session, identity: Identity) -> list[View]:
    antenna_id = identity.antennas[0] if identity.antennas else ""
    if not (policy.is_warden(identity.role) or policy.may_read_plans(identity.role)):
        raise Forbidden(f"Role '{identity.role}' may not read swaps.")
    statement = select(Swap).join(Roster, Roster.id == Swap.roster_id).where(
        Roster.antenna_id == antenna_id)
    return [swap_view(s) for s in session.scalars(statement.order_by(Swap.id))]


def swap_view(swap: Swap) -> View:
    return {"id": swap.id, "roster_id": swap.roster_id, "slot_id": swap.slot_id,
            "from_warden_id": swap.from_warden_id, "to_warden_id": swap.to_warden_id,
            "status": swap.status, "created_at": swap.created_at,
            "decided_at": swap.decided_at}


# -- logs ---------------------------------------------------------------------------------------

def observation_facts_of(observation: Observation, log: PatrolLog, post: Post) -> View:
    return {"observation_id": observation.id, "log_id": log.id, "kind": observation.kind,
            "category": observation.category, "post_id": post.id,
            "address": post.address or post.name, "neighbourhood": post.neighbourhood,
            "lat": post.lat, "lon": post.lon, "observed_at": as_utc(observation.observed_at)}


def observation_facts(session: Session, identity: Identity, observation_id: object) -> View:
    """For the incidents service checking an `observation_logged` event: the facts as stored."""
    if not policy.may_check_observation_facts(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not do this.")
    number = record_id(observation_id, NotFound("No such observation."))
    observation = session.get(Observation, number)
    if observation is None:
        raise NotFound("No such observation.")
    log = session.get_one(PatrolLog, observation.log_id)
    if log.antenna_id not in identity.antennas:
        raise NotFound("No such observation.")
    return {**observation_facts_of(observation, log, session.get_one(Post, log.post_id)),
            "antenna_id": log.antenna_id}


def log_view(log: PatrolLog, observations: list[Observation]) -> View:
    return {"id": log.id, "warden_id": log.warden_id, "post_id": log.post_id,
            "started_at": as_utc(log.started_at), "ended_at": as_utc(log.ended_at),
            "observations": [{"id": o.id, "kind": o.kind, "category": o.category,
                              "observed_at": as_utc(o.observed_at)} for o in observations]}


def list_logs(session: Session, identity: Identity, query: dict[str, Any]) -> View:
    """Every log for the readers of plans; a warden's own for a warden."""
    antenna_id = identity.antennas[0] if identity.antennas else ""
    statement = select(PatrolLog).where(PatrolLog.antenna_id == antenna_id)
    if policy.is_warden(identity.role):
        me = session.scalars(select(Warden.id).where(Warden.username == identity.user)).first()
        statement = statement.where(PatrolLog.warden_id == (me or -1))
    elif not policy.may_read_plans(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not read patrol logs.")
    page = fetch_page(session, statement.order_by(PatrolLog.id.desc()), query)
    by_log: dict[int, list[Observation]] = defaultdict(list)
    for o in session.scalars(select(Observation).where(
            Observation.log_id.in_([log.id for log in page.items]))):
        by_log[o.log_id].append(o)
    return page.answer(lambda log: log_view(log, by_log[log.id]))


def hotspot_view(session: Session, identity: Identity, now: datetime) -> View:
    antenna_id = authorise_read(identity)
    counts = hotspots(session, antenna_id, now)
    return {"window_days": domain.HOTSPOT_WINDOW_DAYS, "neighbourhoods": [
        {"neighbourhood": hood, "incidents": n, "bonus": domain.hotspot_bonus(n)}
        for hood, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]}


# -- iCalendar ----------------------------------------------------------------------------------

def calendar_feed(session: Session, token_hash: str, now: datetime) -> str:
    """The feed a subscription URL names (RFC 5545): a warden's published shifts, or the whole
    team's; a revoked or unknown token names nothing (NotFound). The team feed's reads are
    logged."""
    feed = session.scalars(select(FeedToken).where(FeedToken.token_hash == token_hash)).first()
    if feed is None or feed.revoked_at is not None:
        raise NotFound("No such calendar.")
    rows = _schedule_rows(session, feed.antenna_id, feed.warden_id,
                          first=(now - timedelta(days=60)).date())
    if feed.warden_id is None:
        session.add(AccessLog(antenna_id=feed.antenna_id, user=feed.created_by,
                              role="warden_coordinator", what="team calendar feed",
                              purpose="calendar subscription", at=now))
    cal = icalendar.Calendar()
    cal.add("prodid", "-//LISA//patrols//FR")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Patrouilles" if feed.warden_id is None else "Mes patrouilles")
    for a, post, warden_name in rows:
        event = icalendar.Event()
        event.add("uid", f"{a.roster_id}-{a.slot_id}-{a.warden_id}@lisa.patrols")
        event.add("dtstamp", now)
        event.add("dtstart", a.start.replace(tzinfo=BRUSSELS))
        event.add("dtend", a.end.replace(tzinfo=BRUSSELS))
        summary = post.name if feed.warden_id is not None else f"{post.name}: {warden_name}"
        event.add("summary", summary)
        if post.address:
            event.add("location", post.address)
        cal.add_component(event)
    return cal.to_ical().decode()


# -- what Prometheus reads at each scrape ----------------------------------------------------

UNCOVERED = Family("lisa_patrols_uncovered_slots", "Slots of the latest published roster with "
                   "fewer wardens than required.", ("antenna",))


def gauges(session: Session, now: datetime) -> list[Reading]:
    """Per antenna, the gaps of its most recently published roster (read from the database,
    so every replica and a restarted process report the same)."""
    latest: dict[str, Roster] = {}
    for roster in session.scalars(select(Roster).where(Roster.status == "published")
                                  .order_by(Roster.published_at)):
        latest[roster.antenna_id] = roster
    return [UNCOVERED.rows((antenna, len(json.loads(roster.gaps or "[]")))
                           for antenna, roster in latest.items())]
