"""The tags service on SQLite and PostgreSQL: migrations, one job per incident, and a seeded
week of crew plans that respect capacity, deadlines and priorities."""
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from services.tags import domain, planning, use_cases, views
from services.tags.models import Job
from shared.calendar import BRUSSELS, add_working_days
from shared.identity import Identity
from tests.conftest import ANTENNA, migrated_database

CREW = Identity("karim", "tags", "cellule_tags", (ANTENNA,))
COORDINATOR = Identity("coordinator", "coordinator", "prevention_service", (ANTENNA,))
MONDAY = datetime(2026, 11, 9, 7, tzinfo=UTC)   # a week with 11 November in it
DEPOT = (50.8338, 4.3703)
STREETS = [("Rue de la Tulipe", "Tulipe", 50.8338, 4.3703),
           ("Rue Malibran", "Flagey", 50.8300, 4.3735),
           ("Rue Longue Vie", "Matonge", 50.8342, 4.3655),
           ("Rue Scarron", "Fernand Cocq", 50.8320, 4.3690)]


@pytest.fixture
def tags_db(database_url_factory, memory_broker):
    with migrated_database("tags", database_url_factory("tags")) as database:
        yield database



INCIDENT = {"ticket": "LISA-2026-000042", "intake_organisation": "antenna_desk",
            "location": {"address": "Rue Malibran 40, 1050 Ixelles", "lat": 50.83,
                         "lon": 4.3735, "neighbourhood": "Flagey"}}


def test_one_job_per_incident(tags_db):
    facts = {"incident_id": 42, "category": "graffiti_private"}
    for _ in range(3):
        with tags_db.unit_of_work() as uow:
            use_cases.create_from_incident(uow, facts, INCIDENT, ANTENNA, MONDAY)
            uow.commit()
    with tags_db.session() as session:
        jobs = session.scalars(select(Job)).all()
        assert [(j.incident_id, j.status, j.ownership) for j in jobs] == \
            [(42, "awaiting_consent", "private")]
        types = session.scalars(select(tags_db.outbox.c.event_type)).all()
    assert types == ["job_created"]


def test_consent_reminders(tags_db):
    with tags_db.unit_of_work() as uow:
        use_cases.create_from_incident(uow, {"incident_id": 7, "category": "graffiti_private"},
                                       INCIDENT, ANTENNA, MONDAY)
        uow.commit()
    with tags_db.unit_of_work() as uow:
        assert use_cases.remind_consents(uow, MONDAY + timedelta(days=7)) == 0
    with tags_db.unit_of_work() as uow:
        assert use_cases.remind_consents(uow, MONDAY + timedelta(days=15)) == 1
    with tags_db.unit_of_work() as uow:   # reminded once per 10 working days, not every hour
        assert use_cases.remind_consents(uow, MONDAY + timedelta(days=15, hours=1)) == 0


def seed_week(db, count=40, seed=2500):
    """A realistic week of incoming jobs: mostly public, some private with consent, a few
    offensive, some above 3 m."""
    rng = random.Random(seed)
    for n in range(count):
        street, hood, lat, lon = rng.choice(STREETS)
        ownership = rng.choices(["public", "private", "commercial"], [6, 3, 2])[0]
        content = rng.choices(["ordinary", "offensive", "hate"], [12, 2, 1])[0]
        created = MONDAY + timedelta(hours=rng.randint(0, 4 * 24))
        data = {"site": {"address": f"{street} {n + 1}, 1050 Ixelles",
                         "lat": lat + rng.uniform(-0.002, 0.002),
                         "lon": lon + rng.uniform(-0.002, 0.002), "neighbourhood": hood},
                "surface": rng.choice(domain.SURFACES), "area_m2": rng.choice([1, 2, 3, 5, 8]),
                "height_m": rng.choice([0, 1, 2, 4]), "ownership": ownership,
                "content": content, "photos": [], "notes": None}
        with db.unit_of_work() as uow:
            job = use_cases.create_job(uow, CREW, data, created)
        if domain.needs_consent(ownership) and rng.random() < 0.7:
            with db.unit_of_work() as uow:
                use_cases.record_consent(uow, CREW, job["id"], {
                    "owner": "Owner", "given_at": created, "waiver_reference": f"W-{n}"},
                    created + timedelta(hours=1))


def test_a_seeded_week_of_plans_is_valid(tags_db):
    for name in ("Karim", "Sofie", "Luc", "Ana"):
        with tags_db.unit_of_work() as uow:
            use_cases.add_crew_member(uow, COORDINATOR, {"name": name, "hours_per_day": 7.6},
                                      MONDAY)
    seed_week(tags_db)
    with tags_db.session() as session:
        awaiting = session.scalar(select(func.count()).select_from(Job).where(
            Job.status == domain.AWAITING_CONSENT))
    assert awaiting > 0
    day = MONDAY.astimezone(BRUSSELS).date()
    planned_days = completed = 0
    for _ in range(5):
        day = add_working_days(day, 1)
        now = datetime.combine(day, datetime.min.time(), BRUSSELS) + timedelta(hours=7)
        with tags_db.session() as session:
            plan = views.plan_day(session, CREW, day, None, DEPOT)
            ready = session.execute(select(Job).where(Job.status == domain.READY)).scalars()
            ranking = {j.id: (j.priority, j.due_at.timestamp() if j.due_at else float("inf"))
                       for j in ready}
        assert plan["m2_planned"] <= plan["m2_capacity"] == 4 * planning.M2_PER_MEMBER
        assert plan["minutes_planned"] <= plan["minutes_available"]
        planned = [v["job_id"] for v in plan["visits"]]
        assert len(set(planned)) == len(planned)
        assert all(entry["reason"] for entry in plan["left_out"])
        # priorities: a job left out for capacity never outranks every planned job
        for entry in plan["left_out"]:
            if "capacity" in entry["reason"] and planned:
                assert ranking[entry["job_id"]] >= min(ranking[j] for j in planned)
        # hate and offensive content waiting at the start of the day is planned that day
        urgent = [j for j, (priority, _) in ranking.items() if priority == 1]
        assert set(urgent) <= set(planned)
        for job_id in planned:
            with tags_db.unit_of_work() as uow:
                use_cases.schedule(uow, CREW, job_id, {"date": day, "crew": ["Karim", "Sofie"]},
                                   now)
            with tags_db.unit_of_work() as uow:
                use_cases.complete(uow, CREW, job_id, {
                    "removed_m2": 2.0, "method": "chemical", "minutes_spent": 45,
                    "crew": ["Karim", "Sofie"]}, now + timedelta(hours=8))
        assert planned or not ranking     # a day with ready work is never empty
        planned_days += bool(planned)
        completed += len(planned)
    assert planned_days >= 4
    with tags_db.session() as session:
        readings = {reading.family.name: reading.rows for reading in views.gauges(session, now)}
        next_year = {reading.family.name: reading.rows
                     for reading in views.gauges(session, now.replace(year=now.year + 1))}
    [((antenna,), removed)] = readings["lisa_tags_removed_m2_total"]
    assert antenna == ANTENNA and removed == 2.0 * completed
    assert next_year["lisa_tags_removed_m2_total"] == []   # a new year starts from 0
