"""The crew's day: which jobs, in which order, and why a ready job was left out. Pure: no I/O.

Model (stated so a coordinator can check a plan by hand):
- The crew travels together in the equipped van, from the antenna and back. The day lasts as long
  as the shortest shift among the members present. On site the work splits between members, so
  a job takes `estimated minutes / members`, at least its setup time.
- Work above 3 m needs the lift and at least two members.
- Each member can treat `M2_PER_MEMBER` m2 a day (products, water tank, drying times).
- Jobs are taken in order of priority (hate and offensive content, then public, then private),
  then deadline, then age; a job that does not fit is left out with the reason, and the next
  one is tried. Jobs already scheduled for the day come first.
- The order of visits is a route (OR-Tools routing) over travel time, with a penalty for
  changing neighbourhood, so work in one neighbourhood is grouped.
- Visits at one site (two jobs for what may be one graffiti reported twice) are flagged: they
  come back to back, and the crew checks before doing the work twice.
- A weekend day or a Belgian public holiday gets no plan unless asked for all the same.
"""
from dataclasses import dataclass, field
from datetime import date, datetime

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from services.tags import domain
from shared.calendar import day_off
from shared.geo import distance_m

M2_PER_MEMBER = 8.0
VAN_SPEED_KMH = 15.0           # Brussels streets, parking included
DETOUR_FACTOR = 1.3            # streets are not straight lines
MINUTES_WITHOUT_COORDINATES = 10
NEIGHBOURHOOD_CHANGE_MINUTES = 5
SHIFT_START_MINUTE = 8 * 60


@dataclass(frozen=True)
class CrewMember:
    name: str
    hours: float = 7.6


@dataclass(frozen=True)
class PlanJob:
    job_id: int
    priority: int
    due_at: datetime | None
    area_m2: float
    minutes: int                 # estimated person-minutes on site (domain.estimated_minutes)
    crew_needed: int
    lat: float | None
    lon: float | None
    neighbourhood: str | None
    scheduled_for: date | None = None
    created_at: datetime | None = None
    site_id: int | None = None


@dataclass
class Plan:
    day: date
    crew: list[str]
    working_day: bool = True
    message: str | None = None
    visits: list[dict] = field(default_factory=list)
    left_out: list[dict] = field(default_factory=list)
    minutes_available: int = 0
    minutes_planned: int = 0
    travel_minutes: int = 0
    m2_capacity: float = 0.0
    m2_planned: float = 0.0


def travel_minutes(a: tuple[float | None, float | None], b: tuple[float | None, float | None]
                   ) -> int:
    if None in a or None in b:
        return MINUTES_WITHOUT_COORDINATES
    metres = distance_m(a[0], a[1], b[0], b[1]) * DETOUR_FACTOR
    return int(round(metres / 1000 / VAN_SPEED_KMH * 60))


def on_site_minutes(job: PlanJob, members: int) -> int:
    return max(domain.SETUP_MINUTES, int(round(job.minutes / max(members, 1))))


def _ranking(day: date, job: PlanJob):
    already = 0 if job.scheduled_for == day else 1
    due = job.due_at.timestamp() if job.due_at else float("inf")
    created = job.created_at.timestamp() if job.created_at else 0
    return (already, job.priority, due, created, job.job_id)


def _tour_minutes(depot, jobs: list[PlanJob], order: list[int]) -> int:
    """Travel of a tour depot -> jobs in `order` -> depot, neighbourhood changes included."""
    points = [depot] + [(jobs[i].lat, jobs[i].lon) for i in order] + [depot]
    total = sum(travel_minutes(points[k], points[k + 1]) for k in range(len(points) - 1))
    changes = sum(1 for k in range(len(order) - 1)
                  if jobs[order[k]].neighbourhood != jobs[order[k + 1]].neighbourhood)
    return total + changes * NEIGHBOURHOOD_CHANGE_MINUTES


def _nearest_neighbour(depot, jobs: list[PlanJob]) -> list[int]:
    left, order, here = list(range(len(jobs))), [], depot
    while left:
        nearest = min(left, key=lambda i: (travel_minutes(here, (jobs[i].lat, jobs[i].lon)), i))
        order.append(nearest)
        left.remove(nearest)
        here = (jobs[nearest].lat, jobs[nearest].lon)
    return order


def route(depot, jobs: list[PlanJob], time_limit_ms: int = 500) -> list[int]:
    """Visit order minimising travel plus neighbourhood changes (OR-Tools routing, one van)."""
    if len(jobs) <= 1:
        return list(range(len(jobs)))
    points = [depot] + [(job.lat, job.lon) for job in jobs]
    hoods = [None] + [job.neighbourhood for job in jobs]
    manager = pywrapcp.RoutingIndexManager(len(points), 1, 0)
    routing = pywrapcp.RoutingModel(manager)

    def cost(from_index, to_index):
        a, b = manager.IndexToNode(from_index), manager.IndexToNode(to_index)
        change = NEIGHBOURHOOD_CHANGE_MINUTES if a and b and hoods[a] != hoods[b] else 0
        return travel_minutes(points[a], points[b]) * 60 + change * 60

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(cost))
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    parameters.time_limit.FromMilliseconds(time_limit_ms)
    solution = routing.SolveWithParameters(parameters)
    if solution is None:
        return _nearest_neighbour(depot, jobs)
    order, index = [], routing.Start(0)
    while not routing.IsEnd(index):
        node = manager.IndexToNode(index)
        if node:
            order.append(node - 1)
        index = solution.Value(routing.NextVar(index))
    ortools_order = order
    fallback = _nearest_neighbour(depot, jobs)
    # Guided local search is stopped by time; never return worse than the simple tour.
    if _tour_minutes(depot, jobs, fallback) < _tour_minutes(depot, jobs, ortools_order):
        return fallback
    return ortools_order


def plan_day(day: date, crew: list[CrewMember], jobs: list[PlanJob],
             depot: tuple[float, float], *, anyway: bool = False) -> Plan:
    """The plan of `day`; for a day that is not a working day, an empty one that says so,
    unless `anyway`."""
    off = day_off(day)
    if off is not None:
        message = f"{day.isoformat()} is not a working day ({off})"
        if not anyway:
            return Plan(day=day, crew=[], working_day=False,
                        message=f"{message}: nothing planned unless asked for all the same.")
    members = len(crew)
    plan = Plan(day=day, crew=[member.name for member in crew], working_day=off is None,
                message=f"{message}: planned as asked." if off is not None else None)
    plan.minutes_available = int(min((m.hours for m in crew), default=0) * 60)
    plan.m2_capacity = members * M2_PER_MEMBER
    chosen: list[PlanJob] = []
    work = 0
    for job in sorted(jobs, key=lambda j: _ranking(day, j)):
        reason = None
        if members == 0:
            reason = "no crew member available"
        elif job.crew_needed > members:
            reason = (f"needs {job.crew_needed} crew members (work above "
                      f"{domain.EQUIPMENT_HEIGHT_M:g} m), {members} available")
        elif plan.m2_planned + job.area_m2 > plan.m2_capacity:
            reason = (f"m2 capacity of the day reached ({plan.m2_planned:g} of "
                      f"{plan.m2_capacity:g} m2 planned, this job {job.area_m2:g} m2)")
        else:
            trial = chosen + [job]
            trial_work = work + on_site_minutes(job, members)
            trial_travel = _tour_minutes(depot, trial, _nearest_neighbour(depot, trial))
            if trial_work + trial_travel > plan.minutes_available:
                reason = (f"no time left in the day (needs {on_site_minutes(job, members)} min "
                          f"on site plus travel; "
                          f"{max(plan.minutes_available - work - trial_travel, 0)} min left)")
        if reason:
            plan.left_out.append({"job_id": job.job_id, "reason": reason})
            continue
        chosen.append(job)
        work += on_site_minutes(job, members)
        plan.m2_planned += job.area_m2
    order = route(depot, chosen)
    here, clock = depot, SHIFT_START_MINUTE
    for position, index in enumerate(order, start=1):
        job = chosen[index]
        travel = travel_minutes(here, (job.lat, job.lon))
        if position > 1 and chosen[order[position - 2]].neighbourhood != job.neighbourhood:
            travel += NEIGHBOURHOOD_CHANGE_MINUTES
        clock += travel
        plan.visits.append({
            "order": position, "job_id": job.job_id, "neighbourhood": job.neighbourhood,
            "travel_minutes": travel, "start": f"{clock // 60:02d}:{clock % 60:02d}",
            "on_site_minutes": on_site_minutes(job, members), "area_m2": job.area_m2,
            "priority": job.priority,
            "due_at": job.due_at.isoformat() if job.due_at else None,
            "same_site_as": [other.job_id for other in chosen if other is not job
                             and job.site_id is not None and other.site_id == job.site_id],
        })
        clock += on_site_minutes(job, members)
        here = (job.lat, job.lon)
    plan.travel_minutes = _tour_minutes(depot, chosen, order)
    plan.minutes_planned = work + plan.travel_minutes
    return plan
