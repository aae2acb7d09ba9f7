"""The demo antenna's patrols: Tulipe's posts, twelve wardens, a published four-week roster that
keeps every hard rule (the independent checker) and explains its few gaps; seeding twice makes
nothing twice."""
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from lisa.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from services.patrols import checker, demo, views
from services.patrols.models import Post, Roster, Warden
from shared.spec import DemoContext
from tests.conftest import ANTENNA, migrated_database

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


@pytest.fixture
def patrols_db(tmp_path, memory_broker):
    with migrated_database("patrols", f"sqlite:///{tmp_path / 'patrols'}.db") as database:
        yield database


def test_the_demo_has_posts_wardens_and_a_published_roster_with_explained_gaps(patrols_db):
    context = DemoContext(ANTENNA, NOW, DEMO_ACCOUNTS, DEMO_PASSWORD)
    summary = demo.seed_demo(patrols_db, context, time_limit=3)
    assert summary and "12 wardens" in summary
    assert demo.seed_demo(patrols_db, context, time_limit=3) is None   # once
    with patrols_db.session() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 5
        assert session.scalar(select(func.count()).select_from(Warden)) == 12
        [roster] = session.scalars(select(Roster)).all()
        assert roster.status == "published"
        assert (roster.last_day - roster.first_day).days == 27
        instance = views.instance(session, ANTENNA, roster.first_day, roster.last_day, NOW,
                                  "fwb")
        assignments = views.assignments_of(session, roster.id)
        assert checker.check(instance, assignments) == []
        view = views.roster_view(session, roster, instance)
    assert 0 < len(view["gaps"]) < len(instance.slots) // 4
    assert all(gap["why"] for gap in view["gaps"])
    assert {gap["main_reason"] for gap in view["gaps"]} <= {
        "skill", "leave", "busy", "rest", "daily_hours", "contract_hours", "pair"}
    assert any(a["warden"] == "Nadia" for a in view["assignments"])   # the `warden` account
