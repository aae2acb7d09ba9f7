"""The Tulipe antenna's Gardiens de la Paix: three school gates, the Saturday market, the Flagey
area as a hotspot; twelve wardens (the demo account `warden` is one of them); a published
four-week roster from next Monday, with a few gaps it explains (only three wardens certified
for administrative sanctions, one of them on leave; the evening pair on Fridays). Made through
the same use cases as the API, as the demo's `wardencoord` account."""
import logging
from datetime import time, timedelta

from sqlalchemy import func, select

from services.patrols import use_cases
from services.patrols.models import Post
from services.patrols.service import school_authority
from shared.calendar import BRUSSELS
from shared.db import Database
from shared.identity import Identity
from shared.spec import DemoContext

log = logging.getLogger(__name__)

POSTS = [
    {"name": "École de la Tulipe (grille)", "kind": "school_gate",
     "address": "Rue de la Tulipe 12, 1050 Ixelles", "neighbourhood": "Tulipe",
     "lat": 50.8338, "lon": 4.3703},
    {"name": "École Malibran (grille)", "kind": "school_gate",
     "address": "Rue Malibran 60, 1050 Ixelles", "neighbourhood": "Flagey",
     "lat": 50.8307, "lon": 4.3728},
    {"name": "Athénée Scarron (grille)", "kind": "school_gate",
     "address": "Rue Scarron 25, 1050 Ixelles", "neighbourhood": "Fernand Cocq",
     "lat": 50.8322, "lon": 4.3689},
    {"name": "Marché du samedi, place Flagey", "kind": "market",
     "address": "Place Flagey, 1050 Ixelles", "neighbourhood": "Flagey", "lat": 50.8275,
     "lon": 4.3722, "skills": ["sanctions"]},
    {"name": "Place Flagey et abords", "kind": "hotspot",
     "address": "Place Flagey, 1050 Ixelles", "neighbourhood": "Flagey", "lat": 50.8280,
     "lon": 4.3725},
]

# (name, username, contract hours, skills, desired weekdays, undesired weekdays)
WARDENS = [
    ("Nadia", "warden", 38, ["fr", "nl", "sanctions"], [0, 1], [5]),
    ("Youssef", None, 38, ["fr", "first_aid", "sanctions"], [], [6]),
    ("Els", None, 38, ["fr", "nl"], [2], []),
    ("Mehdi", None, 30.4, ["fr", "first_aid"], [], [5, 6]),
    ("Sarah", None, 38, ["fr", "nl", "first_aid", "sanctions"], [5], []),
    ("Pieter", None, 19, ["nl", "fr"], [], []),
    ("Fatou", None, 38, ["fr"], [3, 4], []),
    ("Kevin", None, 38, ["fr", "first_aid"], [], [0]),
    ("Inès", None, 30.4, ["fr", "nl"], [], []),
    ("Tom", None, 38, ["nl", "fr"], [5, 6], []),
    ("Amina", None, 19, ["fr"], [], [4]),
    ("Bruno", None, 38, ["fr", "first_aid"], [], []),
]


def _demand(post_ids: list[int]) -> list[dict]:
    gates, market, flagey = post_ids[:3], post_ids[3], post_ids[4]
    out = []
    for gate in gates:
        for weekday in range(5):
            out.append({"post_id": gate, "weekday": weekday, "start": time(7, 45),
                        "end": time(8, 30), "required": 2, "school_days_only": True})
            closing = (time(11, 45), time(12, 30)) if weekday == 2 else (time(15, 15),
                                                                          time(16, 0))
            out.append({"post_id": gate, "weekday": weekday, "start": closing[0],
                        "end": closing[1], "required": 2, "school_days_only": True})
    out.append({"post_id": market, "weekday": 5, "start": time(7, 0), "end": time(13, 30),
                "required": 3})
    for weekday in range(6):
        out.append({"post_id": flagey, "weekday": weekday, "start": time(16, 30),
                    "end": time(20, 0), "required": 2})
    for weekday in (4, 5):
        out.append({"post_id": flagey, "weekday": weekday, "start": time(20, 30),
                    "end": time(23, 0), "required": 4})
    return out


def seed_demo(patrols_db: Database, context: DemoContext, time_limit: float = 5.0
              ) -> str | None:
    """Skipped if posts exist."""
    with patrols_db.session() as session:
        if session.scalar(select(func.count()).select_from(Post)):
            return None
    planner = Identity("wardencoord", "warden_coordinator", "gardiens_de_la_paix",
                       (context.antenna_id,))
    post_ids = []
    for post in POSTS:
        with patrols_db.unit_of_work() as uow:
            post_ids.append(use_cases.create_post(uow, planner, {"skills": [], **post})["id"])
    warden_ids = []
    for name, username, hours, skills, desired, undesired in WARDENS:
        with patrols_db.unit_of_work() as uow:
            warden_ids.append(use_cases.create_warden(uow, planner, {
                "name": name, "username": username, "contract_hours": hours,
                "skills": skills, "desired_days": desired,
                "undesired_days": undesired})["id"])
    for demand in _demand(post_ids):
        with patrols_db.unit_of_work() as uow:
            use_cases.create_demand(uow, planner, demand)
    today = context.now.astimezone(BRUSSELS).date()
    monday = today + timedelta(days=7 - today.weekday())
    with patrols_db.unit_of_work() as uow:   # Sarah (sanctions) away the second week
        use_cases.record_leave(uow, planner, warden_ids[4], {
            "first_day": monday + timedelta(days=7), "last_day": monday + timedelta(days=13)},
            context.now)
    with patrols_db.unit_of_work() as uow:
        roster = use_cases.solve(uow, planner, {
            "first_day": monday, "last_day": monday + timedelta(days=27),
            "time_limit": time_limit}, context.now, school_authority())
    with patrols_db.unit_of_work() as uow:
        use_cases.publish(uow, planner, roster["id"], context.now, school_authority())
    return (f"patrols: {len(POSTS)} posts, {len(WARDENS)} wardens, a published roster from "
            f"{monday} (4 weeks): {len(roster['assignments'])} shifts, "
            f"{len(roster['gaps'])} explained gaps")
