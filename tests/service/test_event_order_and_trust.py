"""Every consumer ends in the same state whatever the order of an aggregate's events, and
believes an event only as far as the owner service confirms it. The real consumers (tags,
incidents) run in nameko containers on the embedded broker; the owner they ask over RPC is
replaced by what it would answer, so the test controls "the state of the source now"."""
from datetime import UTC, datetime, timedelta

import pytest
from kombu import Connection, Exchange
from nameko.testing.services import entrypoint_waiter, replace_dependencies
from sqlalchemy import select

from services.incidents import use_cases as incident_cases
from services.incidents.models import Incident
from services.incidents.service import IncidentsService
from services.tags.models import Job
from services.tags.service import TagsService
from shared import events
from shared.errors import NotFound
from shared.handlers import list_dead_letters
from shared.identity import Identity
from tests.conftest import ANTENNA, migrated_database

MEMORY = "lisa-memory://localhost/"
NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)
HANDLERS = {"incident_reported": "on_incident_reported", "incident_triaged":
            "on_incident_triaged", "incident_closed": "on_incident_closed",
            "job_scheduled": "on_job_scheduled", "job_completed": "on_job_completed"}


def deliver(container, body):
    exchange = Exchange(events.exchange_name(body["source"]), type="topic", durable=True)
    with entrypoint_waiter(container, HANDLERS[body["event_type"]]):
        with Connection(MEMORY) as connection:
            connection.Producer().publish(body, exchange=exchange,
                                          routing_key=body["event_type"], declare=[exchange],
                                          serializer="json")


# -- tags follows incidents ---------------------------------------------------------------------

def incident_facts(incident_id, category="graffiti_public", parent="graffiti"):
    return {"incident_id": incident_id, "ticket": f"LISA-2026-{incident_id:06d}",
            "category": category, "parent_category": parent, "phenomenon": None,
            "zone": "public_space", "partner": "cellule_tags", "neighbourhood": None}


def incident_event(event_type, incident_id, **facts):
    extra = {"incident_reported": {"channel": "desk", "reported_at": NOW, "sla_due_at": NOW},
             "incident_triaged": {"triaged_at": NOW, "sla_due_at": NOW},
             "incident_closed": {"final_status": facts.pop("final_status", "cancelled"),
                                 "reported_at": NOW, "closed_at": NOW, "within_sla": True}}
    return events.build("incidents", event_type, {**incident_facts(incident_id, **facts),
                                                  **extra[event_type]},
                        antenna_id=ANTENNA, correlation_id="test")


def incident_now(incident_id, status, category="graffiti_public", parent="graffiti",
                 history=2):
    """The incident as the incidents service would answer `incident_facts` now."""
    return {"id": incident_id, "ticket": f"LISA-2026-{incident_id:06d}",
            "antenna_id": ANTENNA, "category": category, "parent_category": parent,
            "status": status, "intake_organisation": "antenna_desk",
            "location": {"address": f"Rue Malibran {incident_id}, 1050 Ixelles",
                         "lat": 50.83, "lon": 4.3735, "neighbourhood": "Flagey"},
            "version": history}


@pytest.fixture
def tags(database_url_factory, memory_broker, container_factory, monkeypatch):
    with migrated_database("tags", database_url_factory("tags")) as database:
        monkeypatch.setenv("LISA_TAGS_DATABASE_URL", str(database.engine.url.render_as_string(
            hide_password=False)))
        container = container_factory(TagsService)
        incidents = replace_dependencies(container, "incidents")
        container.start()
        yield container, incidents, database


def jobs_of(database, incident_id):
    with database.session() as session:
        return [job.status for job in session.scalars(
            select(Job).where(Job.incident_id == incident_id))]


# (the pair of events, the incident as it is once both happened, the job that must follow)
TAGS_PAIRS = [
    (("incident_reported", {}), ("incident_closed", {"final_status": "cancelled"}),
     ("cancelled",), []),
    (("incident_reported", {}), ("incident_triaged", {"category": "noise", "parent": "nuisance"}),
     ("triaged", "noise", "nuisance"), []),
    (("incident_triaged", {}), ("incident_closed", {"final_status": "duplicate"}),
     ("duplicate",), []),
    (("incident_reported", {}), ("incident_triaged", {}), ("triaged",), ["ready"]),
    (("incident_triaged", {}), ("incident_closed", {"final_status": "closed"}),
     ("closed",), []),
]


@pytest.mark.parametrize("first, second, now, job", TAGS_PAIRS,
                         ids=[f"{a[0]}+{b[0]}->{'-'.join(n)}" for a, b, n, _ in TAGS_PAIRS])
def test_tags_ends_the_same_whatever_the_order_of_an_incidents_events(tags, first, second, now,
                                                                      job):
    container, incidents, database = tags
    finals = []
    for incident_id, order in ((101, (first, second)), (102, (second, first))):
        incidents.incident_facts.side_effect = lambda key, i=incident_id: incident_now(i, *now)
        for event_type, facts in order:
            deliver(container, incident_event(event_type, incident_id, **facts))
        finals.append([status for status in jobs_of(database, incident_id)
                       if status != "cancelled"])
    assert finals[0] == finals[1] == job
    assert list_dead_letters(MEMORY) == []


def test_tags_acts_on_the_newest_reading_of_an_incident_not_the_last_one_to_arrive(tags):
    """A slow reply may bring an older state than one already seen: it must not win."""
    container, incidents, database = tags
    incidents.incident_facts.side_effect = [incident_now(7, "cancelled", history=3),
                                 incident_now(7, "new", history=1)]
    deliver(container, incident_event("incident_closed", 7, final_status="cancelled"))
    deliver(container, incident_event("incident_reported", 7))
    assert jobs_of(database, 7) == []


def test_tags_rejects_an_incident_event_the_incidents_service_does_not_confirm(tags):
    container, incidents, database = tags
    incidents.incident_facts.side_effect = NotFound("No such incident.")
    deliver(container, incident_event("incident_reported", 404))
    incidents.incident_facts.side_effect = lambda key: {**incident_now(405, "new"),
                                                        "ticket": "LISA-X"}
    deliver(container, incident_event("incident_reported", 405))
    reasons = sorted(letter["reason"] for letter in list_dead_letters(MEMORY))
    assert reasons == [
        "rejected: incident 404 does not exist in antenna 'ixelles-tulipe'",
        "rejected: incident 405 is LISA-X of 'ixelles-tulipe', not LISA-2026-000405 of "
        "'ixelles-tulipe'"]
    assert jobs_of(database, 404) == jobs_of(database, 405) == []


def test_tags_asks_nothing_about_an_incident_it_never_followed(tags):
    """The hot path: a report that is not graffiti costs no RPC."""
    container, incidents, database = tags
    deliver(container, incident_event("incident_reported", 9, category="noise",
                                      parent="nuisance"))
    assert incidents.incident_facts.call_count == 0


# -- incidents follows removal jobs -------------------------------------------------------------

DESK = Identity("desk", "desk", "antenna_desk", (ANTENNA,))


@pytest.fixture
def incidents(database_url_factory, memory_broker, container_factory, monkeypatch):
    with migrated_database("incidents", database_url_factory("incidents")) as database:
        monkeypatch.setenv("LISA_INCIDENTS_DATABASE_URL", str(
            database.engine.url.render_as_string(hide_password=False)))
        container = container_factory(IncidentsService)
        tags_rpc = replace_dependencies(container, "tags")
        container.start()
        yield container, tags_rpc, database


def reported(database, category="graffiti_public") -> int:
    with database.unit_of_work() as uow:
        result = incident_cases.report(uow, DESK, {
            "category": category, "description": "Tag sur la porte", "channel": "desk",
            "location": {"address": "Rue Malibran 40, 1050 Ixelles", "lat": 50.83,
                         "lon": 4.3735}, "reporter": None}, NOW - timedelta(days=1), ANTENNA)
    return result["incident"]["id"]


def status_of(database, incident_id) -> str:
    with database.session() as session:
        return session.get(Incident, incident_id).status


def job_event(event_type, job_id, incident_id):
    facts = {"job_id": job_id, "incident_id": incident_id, "site_id": 1, "neighbourhood": None,
             "surface": "brick", "ownership": "public", "content": "ordinary", "area_m2": 2.0,
             "priority": 2, "due_at": None, "recurrence": False}
    extra = {"job_scheduled": {"scheduled_for": NOW.date(), "crew_size": 2},
             "job_completed": {"removed_m2": 2.0, "method": "chemical", "minutes_spent": 30,
                               "completed_at": NOW, "within_deadline": True}}
    return events.build("tags", event_type, {**facts, **extra[event_type]}, antenna_id=ANTENNA,
                        correlation_id="test")


def test_incidents_ends_the_same_whatever_the_order_of_a_jobs_events(incidents):
    container, tags_rpc, database = incidents
    finals = []
    for order in (("job_scheduled", "job_completed"), ("job_completed", "job_scheduled")):
        incident_id = reported(database)
        tags_rpc.job_facts.return_value = {
            "id": incident_id + 50, "incident_id": incident_id, "antenna_id": ANTENNA,
            "status": "done", "reached": ["created", "done", "ready", "scheduled"]}
        for event_type in order:
            deliver(container, job_event(event_type, incident_id + 50, incident_id))
        finals.append(status_of(database, incident_id))
    assert finals == ["resolved", "resolved"]
    assert list_dead_letters(MEMORY) == []


def test_a_forged_job_completed_moves_no_incident_and_is_dead_lettered(incidents):
    """The attack: job 999999 'done' for a burglary incident of this antenna."""
    container, tags_rpc, database = incidents
    burglary = reported(database, "burglary")
    graffiti = reported(database)
    tags_rpc.job_facts.side_effect = NotFound("No such removal job.")
    deliver(container, job_event("job_completed", 999999, burglary))
    tags_rpc.job_facts.side_effect = None
    tags_rpc.job_facts.return_value = {"id": 12, "incident_id": graffiti, "antenna_id": ANTENNA,
                                       "status": "done", "reached": ["done"]}
    deliver(container, job_event("job_completed", 12, burglary))     # a real job, not its own
    tags_rpc.job_facts.return_value = {"id": 13, "incident_id": burglary,
                                       "antenna_id": ANTENNA, "status": "done",
                                       "reached": ["done"]}
    deliver(container, job_event("job_completed", 13, burglary))     # tags itself confused
    tags_rpc.job_facts.return_value = {"id": 14, "incident_id": graffiti, "antenna_id": ANTENNA,
                                       "status": "ready", "reached": ["created", "ready"]}
    deliver(container, job_event("job_completed", 14, graffiti))     # not done at all
    deliver(container, job_event("job_scheduled", 14, graffiti))     # never scheduled
    assert status_of(database, burglary) == "new" and status_of(database, graffiti) == "new"
    reasons = [letter["reason"] for letter in list_dead_letters(MEMORY)]
    assert reasons == [
        "rejected: removal job 999999 does not exist in antenna 'ixelles-tulipe'",
        f"rejected: removal job 12 is of incident {graffiti} in 'ixelles-tulipe', not of "
        f"incident {burglary} in 'ixelles-tulipe'",
        f"rejected: incident {burglary} is burglary, not graffiti: removal job 13 is not one "
        "of its",
        "rejected: removal job 14 is ready, not done",
        "rejected: removal job 14 was never scheduled",
    ]
