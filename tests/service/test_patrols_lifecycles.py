"""Rosters and swaps move state the one way every service does (shared/state_machine.py): each
move checked against the patrols' lifecycle tables and written to the record's history (who,
when, from, to, why). Scenarios played through the use cases on both backends."""
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from services.patrols import domain
from services.patrols import use_cases as patrols
from services.patrols.models import RosterHistory, SwapHistory
from shared.errors import InvalidTransition
from shared.identity import Identity
from tests.conftest import ANTENNA, migrated_database

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)   # a Monday
MONDAY = NOW.date() + timedelta(days=7)
PLANNER = Identity("wardencoord", "warden_coordinator", "prevention_service", (ANTENNA,))
NADIA = Identity("warden", "warden", "prevention_service", (ANTENNA,))
YOUSSEF = Identity("warden2", "warden", "prevention_service", (ANTENNA,))
PERIOD = {"first_day": MONDAY, "last_day": MONDAY + timedelta(days=4), "time_limit": 1.0}


def test_the_tables_say_who_moves_what():
    assert domain.ROSTER_LIFECYCLE.allows("draft", "published")
    assert not domain.ROSTER_LIFECYCLE.allows("superseded", "published")
    assert not domain.SWAP_LIFECYCLE.allows("offered", "approved")   # accepted first
    assert domain.SWAP_LIFECYCLE.final == frozenset({"approved", "refused"})


@pytest.fixture
def patrols_db(database_url_factory, memory_broker):
    with migrated_database("patrols", database_url_factory("patrols")) as database:
        with database.unit_of_work() as uow:
            gate = patrols.create_post(uow, PLANNER, {"name": "École de la Tulipe",
                                                      "kind": "school_gate"})
        for name, username in (("Nadia", "warden"), ("Youssef", "warden2")):
            with database.unit_of_work() as uow:
                patrols.create_warden(uow, PLANNER, {"name": name, "username": username,
                                                     "contract_hours": 38, "skills": ["fr"]})
        with database.unit_of_work() as uow:
            patrols.create_demand(uow, PLANNER, {"post_id": gate["id"], "weekday": 0,
                                                 "start": time(7, 45), "end": time(8, 30),
                                                 "required": 1})
        yield database


def history(database, model, key, record_id):
    with database.session() as session:
        return [(row.from_status, row.to_status, row.actor) for row in session.scalars(
            select(model).where(getattr(model, key) == record_id).order_by(model.id))]


def test_a_roster_is_drafted_published_and_superseded_with_its_history(patrols_db):
    def draft_and_publish():
        with patrols_db.unit_of_work() as uow:
            draft = patrols.solve(uow, PLANNER, PERIOD, NOW, "fwb")
        with patrols_db.unit_of_work() as uow:
            return patrols.publish(uow, PLANNER, draft["id"], NOW, "fwb")

    first = draft_and_publish()
    assert first["status"] == "published" and first["published_at"] is not None
    with pytest.raises(InvalidTransition), patrols_db.unit_of_work() as uow:
        patrols.publish(uow, PLANNER, first["id"], NOW, "fwb")        # not a draft any more
    second = draft_and_publish()
    assert history(patrols_db, RosterHistory, "roster_id", first["id"]) == [
        (None, "draft", "wardencoord"), ("draft", "published", "wardencoord"),
        ("published", "superseded", "wardencoord")]
    assert history(patrols_db, RosterHistory, "roster_id", second["id"])[-1] == \
        ("draft", "published", "wardencoord")


def test_a_swap_is_offered_accepted_and_decided_with_its_history(patrols_db):
    with patrols_db.unit_of_work() as uow:
        draft = patrols.solve(uow, PLANNER, PERIOD, NOW, "fwb")
    with patrols_db.unit_of_work() as uow:
        roster = patrols.publish(uow, PLANNER, draft["id"], NOW, "fwb")
    [shift] = roster["assignments"]
    giver, taker = (NADIA, YOUSSEF) if shift["warden"] == "Nadia" else (YOUSSEF, NADIA)
    with patrols_db.unit_of_work() as uow:
        swap = patrols.offer_swap(uow, giver, {"roster_id": roster["id"],
                                               "slot_id": shift["slot_id"]}, NOW)
    with pytest.raises(InvalidTransition), patrols_db.unit_of_work() as uow:
        patrols.decide_swap(uow, PLANNER, swap["id"], True, NOW, "fwb")   # not accepted yet
    with patrols_db.unit_of_work() as uow:
        patrols.accept_swap(uow, taker, swap["id"], NOW, "fwb")
    with patrols_db.unit_of_work() as uow:
        decided = patrols.decide_swap(uow, PLANNER, swap["id"], False, NOW, "fwb")
    assert decided["status"] == "refused" and decided["decided_at"] is not None
    with pytest.raises(InvalidTransition), patrols_db.unit_of_work() as uow:
        patrols.accept_swap(uow, taker, swap["id"], NOW, "fwb")          # decided for good
    assert history(patrols_db, SwapHistory, "swap_id", swap["id"]) == [
        (None, "offered", giver.user), ("offered", "accepted", taker.user),
        ("accepted", "refused", "wardencoord")]
