"""Lifecycles as scenarios: each a list of (action, expected status, or the refusal), played
through the use cases on both backends. Every history row a scenario leaves must be a move the
service's lifecycle table allows to that kind of actor (a person, or the platform itself)."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.tags import domain as tags_domain
from services.tags import use_cases as tags
from services.tags.models import Job, JobHistory
from shared.errors import InvalidTransition
from shared.identity import Identity
from tests.conftest import ANTENNA, migrated_database

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)   # a Monday
REFUSED = "refused"
CREW = Identity("karim", "tags", "cellule_tags", (ANTENNA,))


def play(scenario, act, status_of):
    for action, expected in scenario:
        before = status_of()
        if expected == REFUSED:
            with pytest.raises(InvalidTransition):
                act(action)
            assert status_of() == before, action
        else:
            act(action)
            assert status_of() == expected, action


def assert_moves_allowed(lifecycle, rows):
    """rows: (from, to, actor role) of a history; a row from a status to itself without a move
    in the table is a note (an assessment, a reminder)."""
    for from_status, to_status, role in rows:
        if from_status is None or (from_status == to_status
                                   and to_status not in lifecycle.moves[from_status]):
            continue
        assert lifecycle.allows(from_status, to_status, by_system=role == "service"), \
            (from_status, to_status, role)


# -- tags --------------------------------------------------------------------------------------

SITE = {"address": "Rue Goffart 12, 1050 Ixelles", "lat": 50.8324, "lon": 4.3726}
JOBS = {
    "public": {"site": SITE, "surface": "brick", "area_m2": 3, "height_m": 0,
               "ownership": "public", "content": "ordinary"},
    "private": {"site": {**SITE, "address": "Rue Malibran 40, 1050 Ixelles", "lat": 50.83,
                         "lon": 4.3735}, "surface": "brick", "area_m2": 3, "height_m": 0,
                "ownership": "private", "content": "ordinary"},
    "legal wall": {"site": {"address": "Place Flagey, 1050 Ixelles", "lat": 50.8268,
                            "lon": 4.3718}, "surface": "concrete", "area_m2": 3,
                   "height_m": 0, "ownership": "public", "content": "ordinary"},
}
TOMORROW = (NOW + timedelta(days=1)).date()
TAG_ACTIONS = {
    "schedule": (tags.schedule, {"date": TOMORROW, "crew": ["Karim"]}),
    "move to another day": (tags.schedule, {"date": TOMORROW + timedelta(days=1)}),
    "consent": (tags.record_consent, {"owner": "SPRL Malibran", "given_at": NOW,
                                      "waiver_reference": "W-1"}),
    "assess: private": (tags.assess, {"ownership": "private"}),
    "assess: public": (tags.assess, {"ownership": "public"}),
    "assess: 5 m2": (tags.assess, {"area_m2": 5}),
    "complete": (tags.complete, {"removed_m2": 3, "method": "chemical", "minutes_spent": 60,
                                 "crew": ["Karim"]}),
    "cancel": (tags.cancel, {"reason": "Already removed by the owner"}),
}
TAG_SCENARIOS = {
    "public job planned, moved and done": ("public", "ready", [
        ("schedule", "scheduled"), ("move to another day", "scheduled"), ("complete", "done"),
        ("cancel", REFUSED), ("schedule", REFUSED)]),
    "private job waits for the owner's waiver": ("private", "awaiting_consent", [
        ("schedule", REFUSED), ("assess: 5 m2", "awaiting_consent"), ("consent", "ready"),
        ("consent", REFUSED), ("schedule", "scheduled"), ("complete", "done")]),
    "found private on site, before and after planning": ("public", "ready", [
        ("assess: private", "awaiting_consent"), ("consent", "ready"),
        ("assess: public", "ready"), ("schedule", "scheduled"),
        ("assess: private", "scheduled"),           # the waiver is on record: still planned
    ]),
    "planned, then found private without a waiver": ("public", "ready", [
        ("schedule", "scheduled"), ("assess: private", "awaiting_consent"),
        ("complete", REFUSED), ("assess: public", "ready"), ("cancel", "cancelled"),
        ("consent", REFUSED)]),
    "a legal wall is rejected for good": ("legal wall", "rejected", [
        ("schedule", REFUSED), ("cancel", REFUSED), ("assess: 5 m2", REFUSED)]),
}


@pytest.fixture
def tags_db(database_url_factory, memory_broker):
    with migrated_database("tags", database_url_factory("tags")) as database:
        yield database


@pytest.mark.parametrize("name", TAG_SCENARIOS)
def test_a_removal_job_scenario(tags_db, name):
    kind, first, scenario = TAG_SCENARIOS[name]
    with tags_db.unit_of_work() as uow:
        job_id = tags.create_job(uow, CREW, JOBS[kind], NOW)["id"]

    def status_of():
        with tags_db.session() as session:
            return session.get(Job, job_id).status

    def act(action):
        command, data = TAG_ACTIONS[action]
        with tags_db.unit_of_work() as uow:
            command(uow, CREW, job_id, data, NOW)

    assert status_of() == first
    play(scenario, act, status_of)
    with tags_db.session() as session:
        rows = session.execute(select(JobHistory.from_status, JobHistory.to_status,
                                      JobHistory.actor_role).where(JobHistory.job_id == job_id)
                               .order_by(JobHistory.id)).all()
    assert_moves_allowed(tags_domain.LIFECYCLE, rows)
