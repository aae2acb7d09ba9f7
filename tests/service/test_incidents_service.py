"""The incidents service on each backend: migrations, concurrency, access log, and its nameko
entrypoints driven with nameko's testing tools."""
import re
from datetime import UTC, datetime

import eventlet
import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import func, select

from services.incidents import use_cases, views
from services.incidents.models import ContactAccessLog, metadata
from services.incidents.service import IncidentsService
from shared.db import Database
from shared.errors import InvalidTransition, NotFound, Unauthenticated
from shared.identity import CONTEXT_KEY, Identity
from tests.conftest import ANTENNA, migrated_database

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
DESK = Identity("desk", "desk", "antenna_desk", (ANTENNA,))
COORDINATOR = Identity("coordinator", "coordinator", "prevention_service", (ANTENNA,))
POLICE = Identity("police", "police", "police_zone", (ANTENNA,))
REPORT = {"category": "graffiti_public", "description": "Tags sur l'abribus.",
          "channel": "desk", "location": {"address": "Rue de la Paix 3, 1050 Ixelles",
                                          "lat": 50.8348, "lon": 4.3678},
          "reporter": {"name": "M. Peeters", "phone": "+32 2 600 11 22",
                       "may_contact": True, "share_with_police": False}}


@pytest.fixture
def incidents_db(database_url_factory, memory_broker):
    with migrated_database("incidents", database_url_factory("incidents")) as database:
        yield database



def test_reference_data_seeding_is_idempotent(incidents_db):
    with incidents_db.session() as session:
        before = views.list_categories(session)
        use_cases.seed_reference_data(session)
        session.commit()
        assert views.list_categories(session) == before
    assert len([c for c in before if c["parent_code"] is None]) == 8
    assert len(before) == 8 + 19


def get(uow, identity, incident_id):
    """GET /incidents/{id} as the service answers it: the contact access log committed."""
    view = views.incident_by_key_with_contact_logged(uow.session, identity, incident_id, NOW)
    uow.commit()
    return view


def report(db, identity=DESK, payload=REPORT, now=NOW):
    with db.unit_of_work() as uow:
        return use_cases.report(uow, identity, payload, now, ANTENNA)["incident"]


def test_concurrent_reports_get_unique_consecutive_tickets(incidents_db):
    threads = [eventlet.spawn(report, incidents_db) for _ in range(20)]
    tickets = sorted(thread.wait()["ticket"] for thread in threads)
    assert tickets == [f"LISA-2026-{n:06d}" for n in range(1, 21)]


def test_ticket_numbers_restart_each_year(incidents_db):
    report(incidents_db, now=datetime(2026, 12, 31, 12, tzinfo=UTC))
    first_of_2027 = report(incidents_db, now=datetime(2027, 1, 2, 12, tzinfo=UTC))
    assert first_of_2027["ticket"] == "LISA-2027-000001"


def test_two_triagers_cannot_both_move_one_incident(incidents_db):
    incident_id = report(incidents_db)["id"]

    def triage():
        try:
            with incidents_db.unit_of_work() as uow:
                use_cases.triage(uow, COORDINATOR, incident_id, {}, NOW)
            return "ok"
        except InvalidTransition:
            return "refused"

    results = sorted(thread.wait() for thread in [eventlet.spawn(triage) for _ in range(2)])
    assert results == ["ok", "refused"]


def access_log(db) -> list[tuple[str, str]]:
    with db.session() as session:
        return [(row.user, row.purpose) for row in session.scalars(
            select(ContactAccessLog).order_by(ContactAccessLog.id))]


def test_every_read_of_a_contact_is_logged_and_hidden_reads_are_not(incidents_db):
    incident_id = report(incidents_db)["id"]
    assert access_log(incidents_db) == [("desk", "intake")]
    with incidents_db.unit_of_work() as uow:
        assert get(uow, POLICE, incident_id)["reporter"] is None
    with incidents_db.unit_of_work() as uow:
        assert get(uow, COORDINATOR, incident_id)["reporter"]["name"]
    assert access_log(incidents_db) == [("desk", "intake"), ("coordinator", "view incident")]


def test_triage_reclassification_reroutes_and_recomputes_the_sla(incidents_db):
    incident = report(incidents_db)
    with incidents_db.unit_of_work() as uow:
        view = use_cases.triage(uow, COORDINATOR, incident["id"],
                                {"category": "graffiti_offensive"}, NOW)
    assert view["category_code"] == "graffiti_offensive"
    assert view["sla_due_at"] < incident["sla_due_at"]  # 1 working day instead of 5
    with incidents_db.session() as session:
        outbox = incidents_db.outbox
        types = session.scalars(select(outbox.c.event_type).order_by(outbox.c.id)).all()
    assert types == ["incident_reported", "incident_triaged"]


# -- the nameko service itself ------------------------------------------------------------------

@pytest.fixture
def incidents_container(incidents_db, container_factory, monkeypatch):
    monkeypatch.setenv("LISA_INCIDENTS_DATABASE_URL", str(incidents_db.engine.url.render_as_string(
        hide_password=False)))
    container = container_factory(IncidentsService)
    container.start()
    return container


def test_report_through_the_rpc_entrypoint(incidents_container, identity_context):
    with entrypoint_hook(incidents_container, "report",
                         context_data=identity_context("desk")) as report_rpc:
        result = report_rpc(REPORT)
    assert re.fullmatch(r"LISA-\d{4}-000001", result["incident"]["ticket"])
    with entrypoint_hook(incidents_container, "list",
                         context_data=identity_context("coordinator", "prevention_service")
                         ) as list_rpc:
        assert list_rpc({})["total"] == 1


def test_unsigned_identity_header_is_refused(incidents_container):
    forged = {CONTEXT_KEY: "eyJyb2xlIjoiY29vcmRpbmF0b3IifQ.bm90LWEtbWFj"}
    with entrypoint_hook(incidents_container, "list", context_data=forged) as list_rpc:
        with pytest.raises(Unauthenticated):
            list_rpc({})


def test_no_identity_is_refused(incidents_container):
    with entrypoint_hook(incidents_container, "report") as report_rpc:
        with pytest.raises(Unauthenticated):
            report_rpc(REPORT)
    with incidents_container_db(incidents_container) as session:
        assert session.scalar(select(func.count()).select_from(metadata.tables["incidents"])) \
            == 0


def incidents_container_db(container):
    database = next(d for d in container.dependencies if isinstance(d, Database))
    return database.session()


def test_a_redelivered_report_request_creates_one_incident(incidents_db):
    with incidents_db.unit_of_work() as uow:
        first = use_cases.report(uow, DESK, REPORT, NOW, ANTENNA, "gateway.report.abc")
    with incidents_db.unit_of_work() as uow:
        again = use_cases.report(uow, DESK, REPORT, NOW, ANTENNA, "gateway.report.abc")
    assert first["incident"]["ticket"] == again["incident"]["ticket"]
    with incidents_db.session() as session:
        assert session.scalar(select(func.count()).select_from(incidents_db.outbox)) == 1


def test_contacts_are_erased_after_the_retention_period(incidents_db):
    from datetime import timedelta

    kept = report(incidents_db)["id"]
    closed = report(incidents_db)["id"]
    with incidents_db.unit_of_work() as uow:
        use_cases.triage(uow, COORDINATOR, closed, {}, NOW)
    for status in ("resolved", "closed"):
        with incidents_db.unit_of_work() as uow:
            use_cases.change_status(uow, COORDINATOR, closed, {"status": status}, NOW)
    with incidents_db.session() as session:
        assert use_cases.purge_contacts(session, NOW + timedelta(days=89), 90) == 0
        assert use_cases.purge_contacts(session, NOW + timedelta(days=91), 90) == 1
    with incidents_db.unit_of_work() as uow:
        assert get(uow, COORDINATOR, closed)["reporter"] is None
        assert get(uow, COORDINATOR, kept)["reporter"]["name"] == "M. Peeters"


def test_incident_facts_are_the_get_views_facts_with_its_version_and_no_contact(incidents_db):
    """What the tags service checks an incident's events against (one statement, ADR 0034)."""
    incident = report(incidents_db)
    with incidents_db.unit_of_work() as uow:
        use_cases.triage(uow, COORDINATOR, incident["id"], {"category": "graffiti_offensive"},
                         NOW)
    with incidents_db.unit_of_work() as uow:
        full = get(uow, COORDINATOR, incident["id"])
    with incidents_db.session() as session:
        facts = views.incident_facts(session, COORDINATOR, incident["id"])
        with pytest.raises(NotFound):   # another antenna's incident: as if it did not exist
            views.incident_facts(session, Identity("x", "coordinator", "prevention_service",
                                                   ("elsewhere",)), incident["id"])
        with pytest.raises(NotFound):
            views.incident_facts(session, COORDINATOR, incident["id"] + 1000)
    assert facts == {key: full[key] for key in ("id", "ticket", "antenna_id", "parent_category",
                                                "status", "intake_organisation", "location")} | \
        {"category": "graffiti_offensive", "version": len(full["history"])}
    assert facts["version"] == 2 and "reporter" not in facts
