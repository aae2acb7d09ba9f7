"""`make bench-patrols`: the roster solver at the size of a large commune. Forty wardens, thirty
posts, four weeks (from a fixed Monday, so school holidays and public holidays are the same in
every run), generated with a fixed seed:

- 14 school gates (opening and closing, school days only, pairs), 4 public-transport stops
  (weekday mornings, Dutch needed), 3 markets (one morning a week, 3 wardens
  certified for administrative sanctions), 5 hotspots (every evening but Sunday, pairs; Friday
  and Saturday late, 3), 4 parks (weekend middays), and two one-off evening events (4 wardens);
- wardens on 38, 30.4 or 19 hours, a quarter certified for sanctions, half speaking Dutch, a
  few with a week of leave, preferred and unwanted days.

CP-SAT (10 s limit, model building included in the seconds; at this size it re-solves the
greedy roster one day at a time, docs/adr/0021) against the greedy baseline on the same
instance: coverage (warden-slots filled over required), objective, bound, gap, seconds (the
solver's, and the whole call with the independent checker and the gap explanations); both
checked by the independent checker. Then one warden's week of absence: the
re-plan from the published roster, its seconds and changed assignments. Writes
bench/patrols_results.md and the table in the README between the patrols-bench markers.
"""
import os
import platform as host_platform
import random
import sys
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from services.patrols import checker, domain, solver
from services.patrols.reference import school_holidays
from shared.calendar import belgian_holidays

ROOT = Path(__file__).resolve().parent.parent
FIRST = date(2027, 1, 11)          # a Monday after the winter holidays
DAYS = 28
TIME_LIMIT = float(os.environ.get("LISA_BENCH_ROSTER_SECONDS", "10"))
SEED = int(os.environ.get("LISA_BENCH_ROSTER_SEED", "9"))
HOODS = ["Tulipe", "Flagey", "Fernand Cocq", "Matonge", "Châtelain", "Boondael"]


def build(seed: int = SEED) -> domain.Instance:
    rng = random.Random(seed)
    posts, demands = [], []

    def post(kind: str, skills=()) -> domain.Post:
        p = domain.Post(len(posts) + 1, f"{kind} {len(posts) + 1}", kind, rng.choice(HOODS),
                        frozenset(skills))
        posts.append(p)
        return p

    def weekly(p: domain.Post, weekday: int, start: time, end: time, required: int = 2,
               school: bool = False) -> None:
        demands.append(domain.Demand(len(demands) + 1, p.id, start, end, required, weekday,
                                     school_days_only=school))

    for _ in range(14):
        gate = post("school_gate")
        opening = time(7, 45) if rng.random() < 0.5 else time(8, 0)
        for weekday in range(5):
            weekly(gate, weekday, opening,
                   (datetime.combine(FIRST, opening) + timedelta(minutes=45)).time(),
                   school=True)
            closing = (time(11, 45), time(12, 30)) if weekday == 2 else (time(15, 15),
                                                                          time(16, 0))
            weekly(gate, weekday, *closing, school=True)
    for _ in range(4):
        stop = post("transport_stop", ["nl"])
        for weekday in range(5):
            weekly(stop, weekday, time(7, 45), time(9, 0))
    for i in range(3):
        market = post("market", ["sanctions"])
        weekly(market, [2, 5, 6][i], time(7, 0), time(13, 30), required=3)
    for _ in range(5):
        hotspot = post("hotspot")
        for weekday in range(6):
            weekly(hotspot, weekday, time(14, 0), time(20, 0), required=3)
        for weekday in (4, 5):
            weekly(hotspot, weekday, time(20, 30), time(23, 0), required=3)
    for _ in range(4):
        park = post("park")
        for weekday in (5, 6):
            weekly(park, weekday, time(10, 0), time(18, 0))
    events = [post("event"), post("event")]
    for i, event in enumerate(events):
        demands.append(domain.Demand(len(demands) + 1, event.id, time(18, 0), time(23, 0), 4,
                                     on_date=FIRST + timedelta(days=4 + 14 * i)))
    last = FIRST + timedelta(days=DAYS - 1)
    closed = domain.no_school_days(school_holidays("fwb"),
                                   belgian_holidays([FIRST.year, last.year]), FIRST, last)
    slots = domain.expand(posts, demands, FIRST, last, closed)
    wardens = []
    for i in range(40):
        skills = {"fr"}
        if i % 8 == 0:
            skills.add("sanctions")
        if i % 4 == 1:
            skills.add("nl")
        if rng.random() < 0.3:
            skills.add("first_aid")
        leave: frozenset[date] = frozenset()
        if i % 8 == 3:
            start = FIRST + timedelta(days=7 * rng.randrange(4))
            leave = frozenset(start + timedelta(days=d) for d in range(7))
        desired = frozenset(rng.sample(range(7), rng.randrange(3)))
        undesired = frozenset(rng.sample([d for d in range(7) if d not in desired],
                                         rng.randrange(2)))
        wardens.append(domain.Warden(i + 1, f"Warden {i + 1}",
                                     rng.choice([38.0, 30.4, 19.0]), frozenset(skills),
                                     leave, desired, undesired))
    hotspots = {hood: rng.randrange(0, 12) for hood in HOODS}
    return domain.Instance(FIRST, last, tuple(slots), tuple(wardens), hotspots)


def absent(instance: domain.Instance, warden_id: int, first: date) -> domain.Instance:
    """The same instance with one warden away for a week from `first`."""
    week = frozenset(first + timedelta(days=d) for d in range(7))
    wardens = tuple(domain.Warden(w.id, w.name, w.contract_hours, w.skills, w.leave | week,
                                  w.desired_days, w.undesired_days, w.active)
                    if w.id == warden_id else w for w in instance.wardens)
    return domain.Instance(instance.first_day, instance.last_day, instance.slots, wardens,
                           instance.hotspots)


def main() -> None:
    instance = build()
    required = sum(s.required for s in instance.slots)
    wall: dict[str, float] = {}
    started = clock.monotonic()
    greedy = solver.greedy(instance)
    wall["greedy"] = clock.monotonic() - started
    started = clock.monotonic()
    best = solver.solve(instance, time_limit=TIME_LIMIT)
    wall["cp_sat"] = clock.monotonic() - started
    if not best.assignments:
        sys.exit(f"CP-SAT returned no roster ({best.status}) in {best.seconds:.1f} s")
    for roster in (greedy, best):
        if checker.check(instance, roster.assignments):
            sys.exit(f"{roster.method}: the roster breaks hard rules")
    busiest = max({a.warden_id for a in best.assignments},
                  key=lambda w: sum(1 for a in best.assignments if a.warden_id == w))
    away = absent(instance, busiest, FIRST + timedelta(days=7))
    lost = sum(1 for a in best.assignments if a.warden_id == busiest
               and a.slot_id.split("@")[1] in {(FIRST + timedelta(days=7 + d)).isoformat()
                                               for d in range(7)})
    started = clock.monotonic()
    replan = solver.solve(away, time_limit=TIME_LIMIT, previous=best.assignments)
    wall["re-plan"] = clock.monotonic() - started
    if checker.check(away, replan.assignments):
        sys.exit("re-plan: the roster breaks hard rules")

    def row(r: solver.Roster, inst: domain.Instance, seconds: float, label: str = "") -> str:
        bound = f"{r.bound:,}" if r.bound is not None else "-"
        gap = f"{r.gap:.2%}" if r.gap is not None else "-"
        return (f"| {label or r.method} ({r.status}) | {r.coverage(inst):.1%} | {len(r.gaps)} | "
                f"{r.objective:,} | "
                f"{bound} | {gap} | {r.seconds:.2f} | {seconds:.2f} | "
                f"{r.first_solution_seconds or 0:.2f} |")

    def days(r: solver.Roster) -> str:
        d = r.days
        return (f"{d.get('solved', 0)} day models solved ({d.get('optimal', 0)} proved "
                f"optimal), {d.get('changed', 0)} changed the roster")

    label = f"re-plan, warden {busiest} away a week ({lost} shifts lost)"
    published = {(a.slot_id, a.warden_id) for a in best.assignments}
    replanned = {(a.slot_id, a.warden_id) for a in replan.assignments}
    removed, added = len(published - replanned), len(replanned - published)
    table = (
        "| roster | coverage (warden-slots) | slots short | objective | bound | gap | seconds "
        "| with checks and explanations, s | first solution, s |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
        f"{row(greedy, instance, wall['greedy'])}\n{row(best, instance, wall['cp_sat'])}\n"
        f"{row(replan, away, wall['re-plan'], label)}"
        "\n\n"
        f"CP-SAT: {days(best)}; its first solution is the greedy roster, so everything above "
        f"the greedy row is CP-SAT's. Re-plan: {days(replan)}.\n\n"
        f"Re-plan: **{replan.changes} changed assignments** against the published roster: "
        f"{removed} removed ({lost} of them the absent warden's) and {added} added (each lost "
        f"shift is one removal and at most one replacement: {2 * lost} without re-arranging "
        "anyone else; more additions than removals fill gaps the published roster had, on "
        "the days the absence touched).\n")
    load = os.getloadavg()[0]
    header = (f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores "
              f"(load average {load:.1f} at the end: the machine is shared), "
              f"Python {host_platform.python_version()}: 40 wardens, 30 posts, "
              f"{DAYS} days from {FIRST}, {len(instance.slots)} slots, {required} warden-slots "
              f"required; CP-SAT limit {TIME_LIMIT:g} s, model building included, one "
              "worker per day model.\n\n")
    (ROOT / "bench" / "patrols_results.md").write_text(
        "# Patrol rosters: CP-SAT against greedy (`make bench-patrols`)\n\n" + header + table)
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- patrols-bench:start -->", "<!-- patrols-bench:end -->"
    if start in readme and end in readme:
        head, rest = readme.split(start, 1)
        (ROOT / "README.md").write_text(f"{head}{start}\n{header}{table}{end}"
                                        f"{rest.split(end, 1)[1]}")
    print(header + table)
    breakdown = ", ".join(f"{k} {v:,}" for k, v in best.breakdown.items())
    print(f"CP-SAT score breakdown: {breakdown}")


if __name__ == "__main__":
    main()
