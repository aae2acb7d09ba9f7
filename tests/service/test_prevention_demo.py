"""The demo holds a year of prevention activity (issue 11): seeded after the incidents and
referrals demos as `make demo` seeds them, every prevention event type in the outbox, spread
over twelve months, every catalogue indicator non-zero over the year, and the demo's
neighbour-conflict incidents followed by mediation cases."""
import json
from datetime import UTC, datetime

from sqlalchemy import select

from lisa import platform
from lisa.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from services.prevention import events
from services.prevention.models import MediationCase
from shared import migrations
from shared.db import Database
from shared.spec import DemoContext
from tests.conftest import ANTENNA
from tests.service.test_prevention_month import catalogue, evaluate


def test_the_demo_holds_a_year_of_prevention_activity(tmp_path):
    now = datetime.now(UTC)
    context = DemoContext(ANTENNA, now, DEMO_ACCOUNTS, DEMO_PASSWORD)
    databases = {}
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
    prevention = databases["prevention"]
    try:
        with prevention.session() as session:
            bodies = [json.loads(body) for body in session.scalars(
                select(prevention.outbox.c.body))]
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
        assert followed == {i["id"] for i in conflicts if
                            (now - i["reported_at"]).days >= 2} or not conflicts
        # and a second seeding changes nothing
        assert platform.spec("prevention").seed_demo(prevention, context) is None
    finally:
        for database in databases.values():
            database.relay.close()
            database.engine.dispose()
