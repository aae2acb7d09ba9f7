"""The indicators service's consumers, in a nameko container on the embedded broker, on SQLite
and PostgreSQL: every measure kind gives its exact figure from events published on the services'
exchanges, in any order, duplicates counted once; unknown types and versions are set aside
(kept, counted), a lying event is dead-lettered; and the rebuild in SQL gives the live figures."""
import random
from datetime import UTC, datetime, timedelta

import pytest
from kombu import Connection, Exchange
from nameko.testing.services import entrypoint_waiter
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from lisa import platform
from services.indicators import catalogue, history, use_cases, views
from services.indicators.models import Cell, DistinctValue, SetAside, Span, StoredEvent
from services.indicators.service import handler_name
from shared import events
from shared.handlers import list_dead_letters
from shared.identity import Identity
from tests.conftest import ANTENNA, migrated_database

MEMORY = "lisa-memory://localhost/"
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)          # a Monday in March (Brussels: 10:00)
COORDINATOR = Identity("coord", "coordinator", "prevention_service", (ANTENNA,))
CATALOGUE = catalogue.load()


@pytest.fixture
def indicators(database_url_factory, memory_broker, container_factory, monkeypatch):
    with migrated_database("indicators", database_url_factory("indicators")) as database:
        monkeypatch.setenv("LISA_INDICATORS_DATABASE_URL", database.engine.url.render_as_string(
            hide_password=False))
        container = container_factory(platform.service_class("indicators"))
        container.start()
        yield container, database


def deliver(container, body, source=None, exchange_of=None):
    source = source or body["source"]
    exchange = Exchange(events.exchange_name(exchange_of or source), type="topic",
                        durable=True)
    with entrypoint_waiter(container, handler_name(exchange_of or source)):
        with Connection(MEMORY) as connection:
            connection.Producer().publish(body, exchange=exchange,
                                          routing_key=body["event_type"], declare=[exchange],
                                          serializer="json")


def incident(event_type, incident_id, at, **extra):
    facts = {"incident_id": incident_id, "ticket": f"LISA-2026-{incident_id:06d}",
             "category": extra.pop("category", "graffiti_public"),
             "parent_category": extra.pop("parent", "graffiti"), "phenomenon": None,
             "zone": "public_space", "partner": "cellule_tags",
             "neighbourhood": extra.pop("neighbourhood", "Tulipe")}
    more = {"incident_reported": {"channel": extra.pop("channel", "desk"), "reported_at": at,
                                  "sla_due_at": extra.pop("due", at + timedelta(days=5))},
            "incident_closed": {"final_status": extra.pop("final", "closed"),
                                "reported_at": at, "closed_at": at, "within_sla": True}}
    return events.build("incidents", event_type, {**facts, **more[event_type]},
                        antenna_id=ANTENNA, correlation_id="test", occurred_at=at)


def job(event_type, job_id, at, **extra):
    facts = {"job_id": job_id, "incident_id": None, "site_id": extra.pop("site", job_id),
             "neighbourhood": "Tulipe", "surface": "brick", "ownership": "public",
             "content": "tag", "area_m2": 3.0, "priority": 3,
             "due_at": extra.pop("due", at + timedelta(days=5)),
             "recurrence": extra.pop("recurrence", False)}
    more = {"job_created": {"status": "ready", "created_at": at},
            "job_completed": {"removed_m2": extra.pop("m2", 3.0), "method": "chemical",
                              "minutes_spent": 30, "completed_at": at,
                              "within_deadline": None}}
    return events.build("tags", event_type, {**facts, **more[event_type]},
                        antenna_id=ANTENNA, correlation_id="test", occurred_at=at)


def referral(event_type, referral_id, at, successful=None):
    facts = {"referral_id": referral_id, "sender_org": "street_work",
             "receiver_org": "addiction_service", "receiver_service": "addiction_outreach",
             "subject": "person", "reason": "addiction", "urgency": "normal",
             "status": "closed" if successful is not None else "sent", "at": at}
    if successful is not None:
        facts.update(outcome="x", successful=successful)
    return events.build("referrals", event_type, facts, antenna_id=ANTENNA,
                        correlation_id="test", occurred_at=at)


def figure(database, code, start="2026-03", **query):
    with database.session() as session:
        answer = views.series(session, CATALOGUE, COORDINATOR, code,
                              {"from": start, "filters": query.pop("filters", {}),
                               "group_by": query.pop("group_by", []), **query})
    return answer["points"]


def value(database, code, start="2026-03"):
    points = figure(database, code, start)
    assert len(points) == 1, points
    return points[0]


def test_every_measure_kind_from_events_on_the_bus(indicators):
    container, database = indicators
    sent = []

    def send(body):
        sent.append(body)
        deliver(container, body)

    # count (+ where): six reports, five at the desk; one reported in February
    for i in range(1, 7):
        send(incident("incident_reported", i, T0 + timedelta(hours=i),
                      channel="desk" if i <= 5 else "phone"))
    send(incident("incident_reported", 7, datetime(2026, 2, 27, tzinfo=UTC)))
    # median_duration / share_within: closures after 1, 2, 3, 4, 10 days (deadline 5 days);
    # incident 5's closure arrives before its report (order-tolerant: report sent above anyway)
    for i, days in zip(range(1, 6), (1, 2, 3, 4, 10), strict=True):
        send(incident("incident_closed", i, T0 + timedelta(hours=i, days=days)))
    send(incident("incident_closed", 6, T0 + timedelta(days=1), final="cancelled"))
    # sum / median / share on jobs, distinct on re-tagged sites
    for j, (m2, days) in enumerate([(2.5, 1), (4.0, 2), (1.5, 8), (3.0, 3), (6.0, 4)], start=1):
        send(job("job_completed", j, T0 + timedelta(days=days), m2=m2))   # end before start
        send(job("job_created", j, T0, recurrence=j <= 3, site=100 + min(j, 2)))
    # ratio: 7 closed referrals, 5 successful
    for r in range(1, 8):
        send(referral("referral_closed", r, T0 + timedelta(days=r), successful=r <= 5))
    # a duplicate delivery changes nothing
    deliver(container, sent[0])

    assert value(database, "INC-REPORTED")["value"] == 6
    assert value(database, "INC-REPORTED", "2026-02") == \
        {"period": "2026-02", "n": "<5", "value": None, "suppressed": True}
    assert value(database, "INC-DESK-REQUESTS")["value"] == 5
    assert value(database, "INC-RESOLUTION-MEDIAN")["value"] == 3.0          # days
    assert value(database, "INC-WITHIN-SLA")["value"] == 80.0                # 4 of 5
    assert value(database, "TAG-M2-REMOVED")["value"] == 17.0
    assert value(database, "TAG-REMOVAL-MEDIAN")["value"] == 3.0
    assert value(database, "TAG-WITHIN-SLA")["value"] == 80.0
    assert value(database, "REF-SUCCESS-RATE", "2026")["value"] == round(100 * 5 / 7, 2)
    # distinct: two sites (101, 102) re-tagged: under 5, so suppressed
    assert value(database, "TAG-RETAGGED-SITES", "2026-Q1") == \
        {"period": "2026-Q1", "n": "<5", "value": None, "suppressed": True}
    # suppression on a small group: INC-REPORTED by channel: "phone" has 1
    by_channel = figure(database, "INC-REPORTED", group_by=["channel"])
    assert {p["channel"]: p["n"] for p in by_channel} == {"desk": 5, "phone": "<5"}

    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(StoredEvent)) == len(sent)

    # the rebuild in SQL gives the same rows
    before = projections(database)
    with database.session() as session:
        use_cases.rebuild(session, CATALOGUE)
        session.commit()
    assert projections(database) == before


def projections(database):
    with database.session() as session:
        return {model.__tablename__: sorted(
            tuple(str(getattr(row, column.name)) for column in model.__table__.columns)
            for row in session.scalars(select(model)))
            for model in (Cell, DistinctValue, Span)}


def test_unknown_type_and_version_are_set_aside_and_a_lie_is_dead_lettered(indicators):
    container, database = indicators
    unknown = incident("incident_reported", 1, T0)
    unknown["event_type"] = "incident_levitated"
    newer = incident("incident_reported", 2, T0)
    newer["schema_version"] = 9
    before = REGISTRY.get_sample_value("lisa_indicators_events_set_aside_total",
                                       {"service": "indicators", "source": "incidents",
                                        "event_type": "incident_levitated"}) or 0
    deliver(container, unknown)
    deliver(container, newer)
    deliver(container, newer)                  # a duplicate is kept once
    with database.session() as session:
        kept = session.scalars(select(SetAside).order_by(SetAside.id)).all()
        assert [(k.event_type, k.schema_version) for k in kept] == \
            [("incident_levitated", 1), ("incident_reported", 9)]
        assert "not a known event type" in kept[0].reason
        assert session.scalar(select(func.count()).select_from(StoredEvent)) == 0
        page = views.set_aside_page(session, {"limit": 10, "offset": 0})
        assert page["total"] == 2
    assert REGISTRY.get_sample_value("lisa_indicators_events_set_aside_total",
                                     {"service": "indicators", "source": "incidents",
                                      "event_type": "incident_levitated"}) == before + 1

    # a "tags" event published on the incidents exchange is not believed
    lie = job("job_completed", 5, T0)
    deliver(container, lie, exchange_of="incidents")
    letters = list_dead_letters(MEMORY)
    assert [letter["event_id"] for letter in letters] == [lie["event_id"]]
    assert "rejected" in letters[0]["reason"]
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(StoredEvent)) == 0


def test_live_projection_in_any_order_equals_the_rebuild(database_url_factory, memory_broker):
    """Two months of generated history recorded live in a shuffled order, then rebuilt."""
    with migrated_database("indicators", database_url_factory("indicators")) as database:
        generated = list(history.generate(T0, 45, 5.0, seed=3))
        random.Random(4).shuffle(generated)
        with database.unit_of_work() as uow:
            for g in generated:
                envelope = events.build(g.source, g.event_type, g.payload, antenna_id=ANTENNA,
                                        correlation_id="t", occurred_at=g.occurred_at)
                use_cases.record(uow, CATALOGUE, events.parse(envelope), envelope["payload"],
                                 T0)
            uow.commit()
        live = projections(database)
        assert len(live["cells"]) > 50 and len(live["spans"]) > 100
        with database.session() as session:
            figures = views.target_vs_actual(session, CATALOGUE, COORDINATOR, "2026")
            use_cases.rebuild(session, CATALOGUE)
            session.commit()
        assert projections(database) == live
        with database.session() as session:
            assert views.target_vs_actual(session, CATALOGUE, COORDINATOR, "2026") == figures


def test_the_demo_holds_a_year_of_indicators(tmp_path, memory_broker):
    from services.indicators import demo
    from shared.spec import DemoContext

    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    with migrated_database("indicators", f"sqlite:///{tmp_path}/indicators.db") as database:
        context = DemoContext(ANTENNA, now, {}, "demo")
        assert "a year of history" in demo.seed_demo(database, context)
        assert demo.seed_demo(database, context) is None            # once only
        points = figure(database, "INC-REPORTED", "2025-12", to="2026-11")
        assert [p["period"] for p in points] == ["2025-12", *(f"2026-{m:02d}"
                                                              for m in range(1, 12))]
        assert all(p["n"] >= 100 for p in points[:-1])
        before = projections(database)
        with database.session() as session:
            use_cases.rebuild(session, CATALOGUE)
            session.commit()
        assert projections(database) == before


def test_the_dashboard_filters_by_state_where_an_indicator_has_one(indicators):
    container, database = indicators
    for i in range(1, 8):
        deliver(container, incident("incident_reported", i, T0))
        deliver(container, incident("incident_closed", i, T0 + timedelta(days=1),
                                    final="closed" if i <= 5 else "cancelled"))
    with database.session() as session:
        answer = views.dashboard(session, CATALOGUE, COORDINATOR,
                                 {"from": "2026-03", "state": "closed",
                                  "group_by": "final_status"})
    items = {item["code"]: item for item in answer["items"]}
    assert items["INC-CLOSED"]["total"] == {"n": 5, "value": 5.0, "suppressed": False}
    assert items["INC-CLOSED"]["groups"] == [{"group": "closed", "n": 5, "value": 5.0,
                                              "suppressed": False}]
    assert items["INC-REPORTED"] == {**items["INC-REPORTED"], "applicable": False,
                                     "reason": "no state dimension"}
