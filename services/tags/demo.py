"""The demo crew (added as the coordinator adds members) and its backlog: a removal job per
demo graffiti incident (handed on by the incidents seeding), assessed, some private ones waiting
for the owner's consent, older ones scheduled and done, recent ones ready. Through the same use
cases as the API, with a fixed random seed."""
import random
from datetime import timedelta

from sqlalchemy import func, select

from services.tags import use_cases
from services.tags.domain import GRAFFITI
from services.tags.models import CrewMember, Job
from shared.calendar import BRUSSELS
from shared.db import Database
from shared.identity import Identity
from shared.spec import DemoContext

DEMO_CREW = ("Karim", "Sofie", "Luc", "Ana")
SURFACE_WEIGHTS = {"brick": 5, "painted": 4, "concrete": 3, "stone": 2, "metal": 2, "glass": 2,
                   "wood": 1, "other": 1}


def seed_crew(tags_db: Database, context: DemoContext) -> None:
    """Skipped if the crew has any member."""
    with tags_db.session() as session:
        if session.scalar(select(func.count()).select_from(CrewMember)):
            return
    coordinator = Identity("coordinator", "coordinator", "prevention_service",
                           (context.antenna_id,))
    for name in DEMO_CREW:
        with tags_db.unit_of_work() as uow:
            use_cases.add_crew_member(uow, coordinator, {"name": name, "hours_per_day": 7.6},
                                      context.now)


def seed_demo(tags_db: Database, context: DemoContext, seed: int = 2500) -> str | None:
    """Skipped if jobs exist."""
    seed_crew(tags_db, context)
    with tags_db.session() as session:
        if session.scalar(select(func.count()).select_from(Job)):
            return None
    antenna_id, today = context.antenna_id, context.now
    crew = Identity("karim", "tags", "cellule_tags", (antenna_id,))
    graffiti = [incident for incident in context.handed_on.get("incidents", ())
                if incident["parent_category"] == GRAFFITI]
    rng = random.Random(seed)
    surfaces, weights = zip(*SURFACE_WEIGHTS.items(), strict=True)
    created = 0
    for incident in sorted(graffiti, key=lambda i: i["reported_at"]):
        at = incident["reported_at"] + timedelta(minutes=5)
        with tags_db.unit_of_work(f"demo-job-{incident['id']}") as uow:
            job = use_cases.create_from_incident(uow, {"incident_id": incident["id"],
                                                       "category": incident["category_code"]},
                                                 incident, antenna_id, at)
            uow.commit()
        created += 1
        job_id = job.id
        at += timedelta(hours=rng.randint(2, 30))
        if at > today:
            continue
        with tags_db.unit_of_work() as uow:
            use_cases.assess(uow, crew, job_id, {
                "surface": rng.choices(surfaces, weights)[0],
                "area_m2": rng.choice([0.5, 1, 1.5, 2, 3, 4, 6, 8, 12]),
                "height_m": rng.choice([0, 0, 0, 1, 2, 4])}, at)
        if job.ownership != "public":
            if rng.random() > 0.65:
                continue  # still waiting for the owner's signed waiver
            at += timedelta(days=rng.randint(1, 4))
            if at > today:
                continue
            with tags_db.unit_of_work() as uow:
                use_cases.record_consent(uow, crew, job_id, {
                    "owner": rng.choice(["SPRL Boulangerie", "Copropriété Malibran 40",
                                         "M. Lambert", "Librairie du Viaduc"]),
                    "given_at": at, "waiver_reference": f"WAIVER-{job_id:04d}"}, at)
        at += timedelta(days=rng.randint(1, 4))
        if at > today + timedelta(days=2) or rng.random() < 0.15:
            continue  # ready, waiting for a plan
        day = at.astimezone(BRUSSELS).date()
        with tags_db.unit_of_work() as uow:
            use_cases.schedule(uow, crew, job_id, {"date": day, "crew": ["Karim", "Sofie"]}, at)
        if at + timedelta(hours=6) > today:
            continue
        with tags_db.unit_of_work() as uow:
            use_cases.complete(uow, crew, job_id, {
                "removed_m2": round(rng.uniform(0.5, 10), 1),
                "method": rng.choice(["pressure_washing", "chemical", "chemical",
                                      "paint_over"]),
                "minutes_spent": rng.randint(30, 180), "crew": ["Karim", "Sofie"]},
                at + timedelta(hours=6))
    return f"{created} graffiti removal jobs"
