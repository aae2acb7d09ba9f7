"""The demo holds a year of prevention activity (issue 11): seeded after the incidents and
referrals demos as `make demo` seeds them, every prevention event type in the outbox, spread
over twelve months, every catalogue indicator non-zero over the year, and the demo's
neighbour-conflict incidents followed by mediation cases. Then the retention job on it."""
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from lisa import platform
from lisa.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from services.prevention import events, use_cases
from services.prevention.models import Accompaniment, MediationCase, MediationSession, Visit
from shared import migrations
from shared.db import Database
from shared.spec import DemoContext
from tests.conftest import ANTENNA
from tests.service.test_prevention_month import catalogue, evaluate


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("prevention-demo")
    now = datetime.now(UTC)
    context = DemoContext(ANTENNA, now, DEMO_ACCOUNTS, DEMO_PASSWORD)
    databases = {}
    try:
        for name in ("incidents", "referrals", "prevention"):
            spec = platform.spec(name)
            url = f"sqlite:///{tmp_path / name}.db"
            migrations.upgrade(spec, url)
            databases[name] = Database(spec.metadata, service=name).open(url)
            if spec.seed_reference is not None:
                with databases[name].session() as session:
                    spec.seed_reference(session, ANTENNA)
                    session.commit()
            spec.seed_demo(databases[name], context)
        yield context, databases["prevention"]
    finally:
        for database in databases.values():
            database.relay.close()
            database.engine.dispose()


def test_the_demo_holds_a_year_of_prevention_activity(demo):
    context, prevention = demo
    now = context.now
    with prevention.session() as session:
        bodies = [json.loads(body) for body in session.scalars(select(prevention.outbox.c.body))]
        cases = session.scalars(select(MediationCase)).all()
    assert {b["event_type"] for b in bodies} == set(events.PUBLISHES)
    months = {b["occurred_at"][:7] for b in bodies}
    assert len(months) >= 12
    assert all(b["occurred_at"] <= now.isoformat() for b in bodies)
    year = {}
    for code, entry in catalogue().items():
        values = [evaluate(entry["measure"], bodies, "month", month) for month in months]
        year[code] = [v for v in values if v]
    assert all(year.values()), [code for code, values in year.items() if not values]
    conflicts = [i for i in context.handed_on["incidents"]
                 if i["category_code"] == "neighbour_conflict"][:18]
    followed = {case.incident_id for case in cases if case.incident_id is not None}
    assert followed == {i["id"] for i in conflicts if (now - i["reported_at"]).days >= 2}
    # and a second seeding changes nothing
    assert platform.spec("prevention").seed_demo(prevention, context) is None


def test_the_retention_job_erases_the_sealed_text_of_ended_records_only(demo):
    context, prevention = demo
    with prevention.unit_of_work() as uow:
        purged = use_cases.purge(uow, context.now, 0)
    with prevention.session() as session:
        accompaniments = session.scalars(select(Accompaniment)).all()
        visits = session.scalars(select(Visit)).all()
        cases = session.scalars(select(MediationCase)).all()
        session_notes = {row.case_id: row.notes_sealed
                         for row in session.scalars(select(MediationSession))}
    ended = [a for a in accompaniments if a.closed_at is not None]
    assert ended and all(a.notes_sealed is None for a in ended)
    assert all(a.notes_sealed is not None for a in accompaniments if a.closed_at is None)
    done = [v for v in visits if v.status == "done"]
    assert done and all(v.address_sealed is None and v.report_sealed is None for v in done)
    assert all(v.address_sealed is not None for v in visits if v.status == "booked")
    closed = [c for c in cases if c.closed_at is not None]
    assert all(c.summary_sealed is None and session_notes.get(c.id) is None for c in closed)
    assert all(c.summary_sealed is not None for c in cases if c.closed_at is None)
    assert purged == len(ended) + len(done) + len(closed)
    assert all(v.premium_eligible is not None for v in done)   # the codes stay for the figures
    with prevention.unit_of_work() as uow:
        assert use_cases.purge(uow, context.now, 0) == 0      # nothing left to erase
