"""The demo antenna's year of indicators: a year of history before the demo's `now`
(services/indicators/history.py, fixed seed), each event validated against its publisher's
schema and recorded exactly as the live consumer records it. Live events of the demo's own
incidents, jobs and referrals then arrive on top through the bus. Skipped if the store holds
events."""
from datetime import timedelta

from sqlalchemy import func, insert, select

from services.indicators import catalogue, domain, history, use_cases
from services.indicators.models import StoredEvent
from shared import events
from shared.db import Database
from shared.spec import DemoContext

DAYS = 365
PER_DAY = 6.0


def seed_demo(database: Database, context: DemoContext) -> str | None:
    with database.session() as session:
        if session.scalar(select(func.count()).select_from(StoredEvent)):
            return None
    known = catalogue.load()
    start = context.now - timedelta(days=DAYS)
    rows = []
    for generated in history.generate(start, DAYS, PER_DAY):
        if generated.occurred_at > context.now:
            continue
        envelope = events.build(generated.source, generated.event_type, generated.payload,
                                antenna_id=context.antenna_id, correlation_id="demo-history",
                                occurred_at=generated.occurred_at)
        rows.append({"event_id": envelope["event_id"], "source": generated.source,
                     "event_type": generated.event_type,
                     "schema_version": envelope["schema_version"],
                     "occurred_at": generated.occurred_at,
                     "month": domain.month_of(generated.occurred_at),
                     "antenna_id": context.antenna_id, "payload": envelope["payload"],
                     "recorded_at": context.now})
    with database.unit_of_work("demo-history") as uow:
        uow.session.execute(insert(StoredEvent), rows)
        use_cases.rebuild(uow.session, known)
        uow.commit()
    return f"indicators: a year of history ({len(rows)} events) for {context.antenna_id}"
