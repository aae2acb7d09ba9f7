"""Lifecycles as scenarios: each a list of (action, expected status, or the refusal), played
through the use cases on both backends. Every history row a scenario leaves must be a move the
service's lifecycle table allows to that kind of actor (a person, or the platform itself)."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.incidents import domain as incidents_domain
from services.incidents import use_cases as incidents
from services.incidents.models import Incident, IncidentHistory
from services.referrals import domain as referrals_domain
from services.referrals import use_cases as referrals
from services.referrals.models import Referral, ReferralHistory
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
        with database.unit_of_work() as uow:    # the crew named in TAG_ACTIONS
            tags.add_crew_member(uow, COORDINATOR, {"name": "Karim", "hours_per_day": 7.6}, NOW)
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


# -- incidents --------------------------------------------------------------------------------

DESK = Identity("desk", "desk", "antenna_desk", (ANTENNA,))
COORDINATOR = Identity("coordinator", "coordinator", "prevention_service", (ANTENNA,))
REPORT = {"category": "graffiti_public", "description": "Tags sur l'abribus.",
          "channel": "desk", "location": {"address": "Rue de la Paix 3, 1050 Ixelles",
                                          "lat": 50.8348, "lon": 4.3678}}


def _status(target):
    return lambda uow, incident_id, now: incidents.change_status(
        uow, COORDINATOR, incident_id, {"status": target}, now)


def _job(target, status):
    """The tags service's removal job moving the incident (the platform's own moves)."""
    def act(uow, incident_id, now):
        incidents.follow_removal_job(uow, {"id": 7, "incident_id": incident_id,
                                           "antenna_id": ANTENNA, "status": status},
                                     target, f"removal job 7 {status}", now)
        uow.commit()
    return act


INCIDENT_ACTIONS = {
    "triage": lambda uow, i, now: incidents.triage(uow, COORDINATOR, i, {}, now),
    "re-route to street work": lambda uow, i, now: incidents.triage(
        uow, COORDINATOR, i, {"partner": "street_work"}, now),
    "re-route to the same partner": lambda uow, i, now: incidents.triage(
        uow, COORDINATOR, i, {"partner": "street_work"}, now),
    "start": _status("in_progress"), "resolve": _status("resolved"), "close": _status("closed"),
    "reopen": _status("reopened"), "cancel": _status("cancelled"),
    "job scheduled": _job("in_progress", "scheduled"), "job done": _job("resolved", "done"),
}
INCIDENT_SCENARIOS = {
    "triaged, re-routed, worked, closed, reopened": [
        ("start", REFUSED), ("triage", "triaged"), ("re-route to street work", "triaged"),
        ("re-route to the same partner", REFUSED), ("start", "in_progress"),
        ("triage", REFUSED), ("resolve", "resolved"), ("close", "closed"),
        ("reopen", "reopened"), ("resolve", "resolved")],
    "a removal job moves an untriaged incident, never a closed one": [
        ("job scheduled", "in_progress"), ("job done", "resolved"), ("close", "closed"),
        ("job scheduled", "closed"), ("job done", "closed")],
    "cancelled is final": [
        ("cancel", "cancelled"), ("triage", REFUSED), ("reopen", REFUSED),
        ("job scheduled", "cancelled")],
}


@pytest.fixture
def incidents_db(database_url_factory, memory_broker):
    with migrated_database("incidents", database_url_factory("incidents")) as database:
        yield database


@pytest.mark.parametrize("name", INCIDENT_SCENARIOS)
def test_an_incident_scenario(incidents_db, name):
    with incidents_db.unit_of_work() as uow:
        incident_id = incidents.report(uow, DESK, REPORT, NOW, ANTENNA)["incident"]["id"]

    def status_of():
        with incidents_db.session() as session:
            return session.get(Incident, incident_id).status

    def act(action):
        with incidents_db.unit_of_work() as uow:
            INCIDENT_ACTIONS[action](uow, incident_id, NOW)

    play(INCIDENT_SCENARIOS[name], act, status_of)
    with incidents_db.session() as session:
        rows = session.execute(select(IncidentHistory.from_status, IncidentHistory.to_status,
                                      IncidentHistory.actor_role).where(
            IncidentHistory.incident_id == incident_id).order_by(IncidentHistory.id)).all()
    assert_moves_allowed(incidents_domain.LIFECYCLE, rows)


# -- referrals --------------------------------------------------------------------------------

SENDER = Identity("sw", "street_worker", "street_work", (ANTENNA,))
RECEIVER = Identity("ad", "street_worker", "addiction_service", (ANTENNA,))
PERSON = {"receiver_service": "addiction_outreach", "subject": "person", "reason": "addiction",
          "urgency": "normal", "message": "Demande d'accompagnement discret.",
          "client_key": "SW-0001", "identity": None, "legal_basis": None,
          "consent": {"kind": "verbal", "given_at": NOW - timedelta(days=1), "expires_at": None}}


def _referral(command, identity, data=None):
    return lambda uow, referral_id, now: command(uow, identity, referral_id, data or {}, now)


def _timer(days):
    def act(uow, referral_id, now):
        referrals.remind_and_expire(uow, now + timedelta(days=days), 3, 10)
    return act


REFERRAL_ACTIONS = {
    "accept": _referral(referrals.accept, RECEIVER),
    "decline": _referral(referrals.decline, RECEIVER, {"reason": "Hors de notre zone."}),
    "contact made": _referral(referrals.contact_made, RECEIVER),
    "close: successful": _referral(referrals.close, RECEIVER, {"outcome": "successful"}),
    "close: no show": _referral(referrals.close, RECEIVER, {"outcome": "no_show"}),
    "sender withdraws": _referral(referrals.close, SENDER, {"outcome": "withdrawn"}),
    "consent withdrawn": _referral(referrals.withdraw_consent, SENDER),
    "a week passes": _timer(7), "three weeks pass": _timer(21),
}
REFERRAL_SCENARIOS = {
    "accepted, met, successful": [
        ("close: successful", REFUSED), ("accept", "accepted"), ("accept", REFUSED),
        ("close: successful", REFUSED), ("contact made", "contact_made"),
        ("three weeks pass", "contact_made"), ("close: successful", "closed"),
        ("decline", REFUSED)],
    "no answer: the platform lets it expire": [
        ("a week passes", "sent"), ("three weeks pass", "expired"), ("accept", REFUSED)],
    "withdrawn before an answer": [("sender withdraws", "closed"), ("accept", REFUSED)],
    "the person withdraws consent before an answer": [
        ("consent withdrawn", "closed"), ("consent withdrawn", REFUSED)],
    "declined is final": [("decline", "declined"), ("close: no show", REFUSED)],
}


@pytest.fixture
def referrals_db(database_url_factory, memory_broker):
    with migrated_database("referrals", database_url_factory("referrals")) as database:
        yield database


@pytest.mark.parametrize("name", REFERRAL_SCENARIOS)
def test_a_referral_scenario(referrals_db, name):
    with referrals_db.unit_of_work() as uow:
        referral_id = referrals.send(uow, SENDER, PERSON, NOW)["id"]

    def status_of():
        with referrals_db.session() as session:
            return session.get(Referral, referral_id).status

    def act(action):
        with referrals_db.unit_of_work() as uow:
            REFERRAL_ACTIONS[action](uow, referral_id, NOW)

    play(REFERRAL_SCENARIOS[name], act, status_of)
    with referrals_db.session() as session:
        rows = session.execute(select(ReferralHistory.from_status, ReferralHistory.to_status,
                                      ReferralHistory.actor_role).where(
            ReferralHistory.referral_id == referral_id).order_by(ReferralHistory.id)).all()
    assert rows[0][:2] == (None, "sent")
    assert [to for _, to, _ in rows][-1] == status_of()   # every move left its row
    assert_moves_allowed(referrals_domain.LIFECYCLE, rows)
