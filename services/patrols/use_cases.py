"""What the patrols service does, one function per command: authorise, load, decide with the
pure domain, solver and checker, save, emit. Commands called by the API commit their unit of
work; those called by event handlers leave the commit to the handler. Reads are in views.py."""
import hashlib
import json
import secrets
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.patrols import checker, domain, policy, solver, views
from services.patrols.models import (
    Demand,
    FeedToken,
    HotspotIncident,
    Leave,
    Observation,
    PatrolLog,
    Post,
    Roster,
    RosterAssignment,
    RosterHistory,
    Swap,
    SwapHistory,
    Warden,
)
from shared import state_machine
from shared.calendar import BRUSSELS
from shared.clock import as_utc
from shared.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from shared.fields import record_id
from shared.identity import Identity
from shared.unit_of_work import UnitOfWork

View = dict[str, Any]
MAX_TIME_LIMIT = 30.0

# What a warden may signal, by incidents sub-category (public space only, no person).
OBSERVATION_KINDS = {
    "illegal_dumping": "cleanliness", "litter": "cleanliness", "graffiti_public": "cleanliness",
    "graffiti_private": "cleanliness", "syringes_found": "security",
    "group_nuisance": "security", "street_lighting": "road", "road_defect": "road",
    "other_request": "environment",
}


def _invalid(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field_name}: {message}", {field_name: [message]})


def _domain(exc: domain.DomainError) -> ValidationFailed:
    return _invalid(exc.field, exc.message)


# -- who may ------------------------------------------------------------------------------------

def authorise_plan(identity: Identity) -> str:
    if not policy.may_plan(identity.role):
        raise Forbidden(f"Role '{identity.role}' may not plan patrols.")
    return identity.acting_antenna()


def authorise_warden(identity: Identity) -> str:
    if not policy.is_warden(identity.role):
        raise Forbidden(f"Role '{identity.role}' is not a warden.")
    return identity.acting_antenna()


def _post(session: Session, antenna_id: str, post_id: object, field_name: str = "post_id"
          ) -> Post:
    number = record_id(post_id, _invalid(field_name, "unknown post"))
    post = session.get(Post, number)
    if post is None or post.antenna_id != antenna_id or not post.active:
        raise _invalid(field_name, f"unknown post {post_id}")
    return post


def _warden(session: Session, antenna_id: str, warden_id: object) -> Warden:
    number = record_id(warden_id, NotFound("No such warden."))
    warden = session.get(Warden, number)
    if warden is None or warden.antenna_id != antenna_id:
        raise NotFound("No such warden.")
    return warden


def _roster_move(session: Session, roster: Roster, target: str | None, by: Identity,
                 now: datetime, why: str | None = None) -> None:
    """Every status change of a roster (None: its first), checked and in its history."""
    _moved(session, domain.ROSTER_LIFECYCLE, roster, target, by, now, why,
           lambda step: session.add(RosterHistory(roster_id=roster.id, **step.row())))


def _swap_move(session: Session, swap: Swap, target: str | None, by: Identity, now: datetime,
               why: str | None = None) -> None:
    _moved(session, domain.SWAP_LIFECYCLE, swap, target, by, now, why,
           lambda step: session.add(SwapHistory(swap_id=swap.id, **step.row())))


def _moved(session: Session, lifecycle: state_machine.Lifecycle, record: Any,
           target: str | None, by: Identity, now: datetime, why: str | None,
           write: state_machine.Write) -> None:
    try:
        if target is None:
            state_machine.begin(lifecycle, record, record.status, by=by, at=now, write=write,
                                why=why)
        else:
            state_machine.move(lifecycle, record, target, by=by, at=now, why=why, write=write)
    except state_machine.MoveRefused as exc:
        raise InvalidTransition(str(exc)) from None


def _roster(session: Session, antenna_id: str, roster_id: object) -> Roster:
    number = record_id(roster_id, NotFound("No such roster."))
    roster = session.get(Roster, number)
    if roster is None or roster.antenna_id != antenna_id:
        raise NotFound("No such roster.")
    return roster


# -- posts, demand, wardens, leave ------------------------------------------------------------

def create_post(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any]) -> View:
    antenna_id = authorise_plan(identity)
    post = Post(antenna_id=antenna_id, name=data["name"], kind=data["kind"],
                address=data.get("address"), neighbourhood=data.get("neighbourhood"),
                lat=data.get("lat"), lon=data.get("lon"),
                skills=",".join(sorted(set(data.get("skills", [])))), active=True)
    uow.session.add(post)
    uow.session.flush()
    view = views.post_view(post)
    uow.commit()
    return view


def create_demand(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any]) -> View:
    """A window at a post; refused if it overlaps another window of the post on a shared day,
    or asks for more wardens than the team has."""
    antenna_id = authorise_plan(identity)
    session = uow.session
    post = _post(session, antenna_id, data["post_id"])
    team = len(session.scalars(select(Warden.id).where(Warden.antenna_id == antenna_id,
                                                       Warden.active)).all())
    try:
        domain.check_window(data["start"], data["end"])
        domain.check_required(data["required"], team)
    except domain.DomainError as exc:
        raise _domain(exc) from None
    new = domain.Demand(0, post.id, data["start"], data["end"], data["required"],
                        data.get("weekday"), data.get("on_date"), data.get("valid_from"),
                        data.get("valid_to"), data.get("school_days_only", False))
    existing = [views.demand_of(d) for d in session.scalars(
        select(Demand).where(Demand.post_id == post.id))]
    clash = domain.overlapping_windows(existing, new)
    if clash is not None:
        raise Conflict(f"The window overlaps window {clash.id} of this post "
                       f"({clash.start:%H:%M}-{clash.end:%H:%M}) on a day they share.",
                       {"start": [f"overlaps demand {clash.id}"]})
    demand = Demand(antenna_id=antenna_id, post_id=post.id, start=data["start"],
                    end=data["end"], required=data["required"], weekday=data.get("weekday"),
                    on_date=data.get("on_date"), valid_from=data.get("valid_from"),
                    valid_to=data.get("valid_to"),
                    school_days_only=data.get("school_days_only", False))
    session.add(demand)
    session.flush()
    view = views.demand_view(demand)
    uow.commit()
    return view


def create_warden(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any]) -> View:
    antenna_id = authorise_plan(identity)
    try:
        domain.check_contract_hours(data["contract_hours"])
    except domain.DomainError as exc:
        raise _domain(exc) from None
    overlap = set(data.get("desired_days", [])) & set(data.get("undesired_days", []))
    if overlap:
        raise _invalid("undesired_days", "a day cannot be both desired and undesired")
    if data.get("username") and uow.session.scalars(
            select(Warden).where(Warden.username == data["username"])).first():
        raise Conflict("This username already has a warden record.",
                       {"username": ["already used"]})
    warden = Warden(antenna_id=antenna_id, name=data["name"], username=data.get("username"),
                    contract_hours=data["contract_hours"],
                    skills=",".join(sorted(set(data.get("skills", [])))),
                    desired_days=",".join(str(d) for d in sorted(set(data.get("desired_days",
                                                                              [])))),
                    undesired_days=",".join(str(d) for d in sorted(set(
                        data.get("undesired_days", [])))), active=True)
    uow.session.add(warden)
    uow.session.flush()
    view = views.warden_view(warden, [])
    uow.commit()
    return view


def record_leave(uow: UnitOfWork, identity: Identity, warden_id: object,
                 data: Mapping[str, Any], now: datetime) -> View:
    antenna_id = authorise_plan(identity)
    warden = _warden(uow.session, antenna_id, warden_id)
    today = now.astimezone(BRUSSELS).date()
    if data["first_day"] < today:
        raise _invalid("first_day", "leave in the past cannot be planned around")
    if data["last_day"] < data["first_day"]:
        raise _invalid("last_day", "the leave ends before it starts")
    if (data["last_day"] - data["first_day"]).days > 366:
        raise _invalid("last_day", "at most a year at a time")
    uow.session.add(Leave(warden_id=warden.id, first_day=data["first_day"],
                          last_day=data["last_day"], recorded_at=now))
    uow.session.flush()
    view = views.warden_with_leave_logged(uow.session, identity, warden, now, "leave recorded")
    uow.commit()
    return view


# -- rosters ------------------------------------------------------------------------------------

def _published_assignments(session: Session, antenna_id: str, first: date, last: date
                           ) -> list[domain.Assignment]:
    rows = session.execute(
        select(RosterAssignment.slot_id, RosterAssignment.warden_id)
        .join(Roster, Roster.id == RosterAssignment.roster_id)
        .where(Roster.antenna_id == antenna_id, Roster.status == "published",
               Roster.first_day <= last, Roster.last_day >= first)).all()
    return [domain.Assignment(slot_id, warden_id) for slot_id, warden_id in rows
            if first <= date.fromisoformat(slot_id.split("@")[1]) <= last]


def solve(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any], now: datetime,
          authority: str) -> View:
    """A draft roster for the period. Published assignments in it stay pinned; with `replan`,
    they are the starting point instead, and each change costs (fewest changes)."""
    antenna_id = authorise_plan(identity)
    first, last = data["first_day"], data["last_day"]
    try:
        domain.check_period(first, last)
    except domain.DomainError as exc:
        raise _domain(exc) from None
    session = uow.session
    instance = views.instance(session, antenna_id, first, last, now, authority)
    published = _published_assignments(session, antenna_id, first, last)
    replan = data.get("replan", False)
    pinned = published if (published and not replan and data.get("keep_published", True)) \
        else []
    result = solver.solve(instance, time_limit=min(data.get("time_limit", 10.0),
                                                   MAX_TIME_LIMIT),
                          pinned=pinned, previous=published if replan else None)
    if result.status not in ("optimal", "feasible", "starting_roster"):
        raise Conflict(f"No roster found ({result.status}) within the time limit.",
                       {"time_limit": ["give the solver more time"]})
    if result.violations:   # never saved: the independent checker disagrees with the model
        raise Conflict("The roster breaks hard rules; it was not saved.",
                       {"roster": [v.message for v in result.violations]})
    roster = Roster(antenna_id=antenna_id, first_day=first, last_day=last, status="draft",
                    method=result.method, solver_status=result.status,
                    objective=result.objective, bound=result.bound, seconds=result.seconds,
                    changes=result.changes, breakdown=json.dumps(result.breakdown),
                    gaps=json.dumps(result.gaps, default=str),
                    dropped_pins=json.dumps(result.dropped_pins), created_by=identity.user,
                    created_at=now)
    session.add(roster)
    session.flush()
    _roster_move(session, roster, None, identity, now, f"{result.method}, {result.status}")
    slots = instance.slots_by_id
    for a in result.assignments:
        slot = slots[a.slot_id]
        session.add(RosterAssignment(roster_id=roster.id, slot_id=a.slot_id,
                                     post_id=slot.post_id, warden_id=a.warden_id,
                                     start=slot.start, end=slot.end))
    session.flush()
    view = views.roster_view(session, roster, instance)
    uow.commit()
    return view


def publish(uow: UnitOfWork, identity: Identity, roster_id: object, now: datetime,
            authority: str) -> View:
    """Publish a draft: checked again against today's data (leave recorded since the solve),
    earlier published rosters of the period superseded, `roster_published` emitted."""
    antenna_id = authorise_plan(identity)
    session = uow.session
    roster = _roster(session, antenna_id, roster_id)
    if roster.status != "draft":
        raise InvalidTransition(f"Roster {roster.id} is {roster.status}, not a draft.")
    instance = views.instance(session, antenna_id, roster.first_day, roster.last_day, now,
                              authority)
    assignments = views.assignments_of(session, roster.id)
    violations = [v for v in checker.check(instance, assignments) if v.rule != "unknown"]
    if violations:
        raise Conflict("The roster no longer keeps the rules (solve again or re-plan).",
                       {"roster": [v.message for v in violations]})
    for other in session.scalars(select(Roster).where(
            Roster.antenna_id == antenna_id, Roster.status == "published",
            Roster.first_day <= roster.last_day, Roster.last_day >= roster.first_day)):
        _roster_move(session, other, domain.SUPERSEDED, identity, now,
                     f"roster {roster.id} published for the period")
    _roster_move(session, roster, domain.PUBLISHED, identity, now)
    session.flush()
    required = sum(s.required for s in instance.slots)
    uow.emit("roster_published", {
        "roster_id": roster.id, "first_day": roster.first_day, "last_day": roster.last_day,
        "slots": len(instance.slots), "warden_slots_required": required,
        "warden_slots_covered": len(assignments),
        "uncovered_slots": len(json.loads(roster.gaps)), "published_at": now,
    }, antenna_id=antenna_id)
    view = views.roster_view(session, roster, instance)
    uow.commit()
    return view


# -- swaps --------------------------------------------------------------------------------------

def _me(session: Session, identity: Identity) -> Warden:
    warden = session.scalars(select(Warden).where(Warden.username == identity.user,
                                                  Warden.antenna_id.in_(identity.antennas))
                             ).first()
    if warden is None:
        raise NotFound("No warden record for this account.")
    return warden


def offer_swap(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any],
               now: datetime) -> View:
    authorise_warden(identity)
    session = uow.session
    me = _me(session, identity)
    roster = _roster(session, me.antenna_id, data["roster_id"])
    if roster.status != "published":
        raise _invalid("roster_id", "only a published roster's shifts can be swapped")
    if not session.scalars(select(RosterAssignment).where(
            RosterAssignment.roster_id == roster.id, RosterAssignment.slot_id == data["slot_id"],
            RosterAssignment.warden_id == me.id)).first():
        raise _invalid("slot_id", "not one of your shifts in this roster")
    swap = Swap(roster_id=roster.id, slot_id=data["slot_id"], from_warden_id=me.id,
                status=domain.OFFERED, created_at=now)
    session.add(swap)
    session.flush()
    _swap_move(session, swap, None, identity, now)
    view = views.swap_view(swap)
    uow.commit()
    return view


def _swap(session: Session, antenna_id: str, swap_id: object) -> Swap:
    number = record_id(swap_id, NotFound("No such swap."))
    swap = session.get(Swap, number)
    if swap is None or session.get_one(Roster, swap.roster_id).antenna_id != antenna_id:
        raise NotFound("No such swap.")
    return swap


def accept_swap(uow: UnitOfWork, identity: Identity, swap_id: object, now: datetime,
                authority: str) -> View:
    """Another warden takes the offered shift; what it would break is said now, not at
    approval."""
    authorise_warden(identity)
    session = uow.session
    me = _me(session, identity)
    swap = _swap(session, me.antenna_id, swap_id)
    if swap.status != "offered":
        raise InvalidTransition(f"Swap {swap.id} is {swap.status}.")
    if swap.from_warden_id == me.id:
        raise _invalid("swap_id", "you offered this shift")
    _check_swap(session, swap, me.id, now, authority)
    _swap_move(session, swap, domain.ACCEPTED, identity, now)
    swap.to_warden_id = me.id
    session.flush()
    view = views.swap_view(swap)
    uow.commit()
    return view


def _check_swap(session: Session, swap: Swap, to_warden: int, now: datetime,
                authority: str) -> list[domain.Assignment]:
    roster = session.get_one(Roster, swap.roster_id)
    instance = views.instance(session, roster.antenna_id, roster.first_day, roster.last_day,
                              now, authority)
    try:
        after = domain.swapped(views.assignments_of(session, roster.id), swap.slot_id,
                               swap.from_warden_id, to_warden)
    except domain.DomainError as exc:
        raise Conflict(exc.message) from None
    violations = [v for v in checker.check(instance, after)
                  if v.warden_id == to_warden and v.rule != "unknown"]
    if violations:
        raise Conflict("The swap would break a rule: " +
                       "; ".join(f"{v.rule}: {v.message}" for v in violations),
                       {"rules": [v.rule for v in violations]})
    return after


def decide_swap(uow: UnitOfWork, identity: Identity, swap_id: object, approve: bool,
                now: datetime, authority: str) -> View:
    """The coordinator approves (rules checked again) or refuses an accepted swap."""
    antenna_id = authorise_plan(identity)
    session = uow.session
    swap = _swap(session, antenna_id, swap_id)
    if swap.status != "accepted" or swap.to_warden_id is None:
        raise InvalidTransition(f"Swap {swap.id} is {swap.status}, not accepted.")
    if approve:
        _check_swap(session, swap, swap.to_warden_id, now, authority)
        row = session.scalars(select(RosterAssignment).where(
            RosterAssignment.roster_id == swap.roster_id,
            RosterAssignment.slot_id == swap.slot_id,
            RosterAssignment.warden_id == swap.from_warden_id)).one()
        row.warden_id = swap.to_warden_id
    _swap_move(session, swap, domain.APPROVED if approve else domain.REFUSED, identity, now)
    session.flush()
    view = views.swap_view(swap)
    uow.commit()
    return view


# -- calendar feeds -----------------------------------------------------------------------------

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_feed(uow: UnitOfWork, identity: Identity, team: bool, now: datetime) -> View:
    """A calendar subscription URL's secret: a warden's own schedule, or (warden coordinator)
    the whole team's. Shown once; only its hash is kept."""
    session = uow.session
    if team:
        antenna_id, warden_id = authorise_plan(identity), None
    else:
        authorise_warden(identity)
        me = _me(session, identity)
        antenna_id, warden_id = me.antenna_id, me.id
    token = secrets.token_urlsafe(32)
    feed = FeedToken(antenna_id=antenna_id, token_hash=token_hash(token), warden_id=warden_id,
                     created_by=identity.user, created_at=now)
    session.add(feed)
    session.flush()
    view = {"id": feed.id, "token": token, "path": f"/api/v1/patrols/calendar.ics?token={token}",
            "team": team, "created_at": now}
    uow.commit()
    return view


def revoke_feed(uow: UnitOfWork, identity: Identity, feed_id: object, now: datetime) -> View:
    session = uow.session
    number = record_id(feed_id, NotFound("No such feed."))
    feed = session.get(FeedToken, number)
    if feed is None or feed.created_by != identity.user or \
            feed.antenna_id not in identity.antennas:
        raise NotFound("No such feed.")
    feed.revoked_at = feed.revoked_at or now
    session.flush()
    view = {"id": feed.id, "revoked_at": feed.revoked_at}
    uow.commit()
    return view


# -- patrol logs --------------------------------------------------------------------------------

def log_patrol(uow: UnitOfWork, identity: Identity, data: Mapping[str, Any],
               now: datetime) -> View:
    """A completed patrol and what the warden signalled, by category (no free text, no
    person): `patrol_completed`, and one `observation_logged` per signal, which the incidents
    service turns into an incident."""
    authorise_warden(identity)
    session = uow.session
    me = _me(session, identity)
    post = _post(session, me.antenna_id, data["post_id"])
    started, ended = as_utc(data["started_at"]), as_utc(data["ended_at"])
    if ended <= started:
        raise _invalid("ended_at", "a patrol ends after it starts")
    if ended > now:
        raise _invalid("ended_at", "a patrol is logged once it is over")
    if (ended - started).total_seconds() > domain.MAX_DAILY_MINUTES * 60:
        raise _invalid("ended_at", "a patrol lasts at most 9 hours")
    for i, signal in enumerate(data.get("observations", [])):
        if signal["category"] not in OBSERVATION_KINDS:
            raise _invalid(f"observations.{i}.category",
                           f"one of {', '.join(sorted(OBSERVATION_KINDS))}")
    log = PatrolLog(antenna_id=me.antenna_id, warden_id=me.id, post_id=post.id,
                    started_at=started, ended_at=ended, recorded_at=now)
    session.add(log)
    session.flush()
    observations = []
    for signal in data.get("observations", []):
        observation = Observation(log_id=log.id, kind=OBSERVATION_KINDS[signal["category"]],
                                  category=signal["category"],
                                  observed_at=as_utc(signal.get("observed_at") or ended))
        session.add(observation)
        session.flush()
        observations.append(observation)
        uow.emit("observation_logged", views.observation_facts_of(observation, log, post),
                 antenna_id=me.antenna_id)
    uow.emit("patrol_completed", {
        "log_id": log.id, "post_id": post.id, "post_kind": post.kind,
        "neighbourhood": post.neighbourhood,
        "minutes": int((ended - started).total_seconds() // 60),
        "observations": len(observations), "ended_at": ended}, antenna_id=me.antenna_id)
    view = views.log_view(log, observations)
    uow.commit()
    return view


# -- incidents' events ----------------------------------------------------------------------

def count_hotspot_incident(uow: UnitOfWork, antenna_id: str, incident: Mapping[str, Any]
                           ) -> None:
    """An incident counts towards its neighbourhood's hotspot weight (the last 28 days); the
    same incident twice counts once."""
    if uow.session.get(HotspotIncident, incident["incident_id"]) is not None:
        return
    uow.session.add(HotspotIncident(incident_id=incident["incident_id"], antenna_id=antenna_id,
                                    neighbourhood=incident.get("neighbourhood"),
                                    reported_at=as_utc(incident["reported_at"])))
