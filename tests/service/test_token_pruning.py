"""The gateway's hourly timer forgets API tokens expired or revoked more than the retention
period ago (LISA_TOKEN_RETENTION_DAYS, default 30), and failed logins the throttle no longer
counts; live tokens and recent ones stay."""
from datetime import UTC, datetime, timedelta

from nameko.testing.services import worker_factory
from nameko.timer import Timer
from sqlalchemy import select

from services.gateway import auth
from services.gateway.models import ApiToken, LoginFailure
from services.gateway.service import GatewayService
from tests.conftest import ANTENNA, migrated_database

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


def test_expired_and_revoked_tokens_are_pruned_after_the_retention(database_url_factory,
                                                                   memory_broker):
    with migrated_database("gateway", database_url_factory("gateway")) as database:
        with database.session() as session:
            user = auth.create_user(session, "desk", "demo", "desk", "antenna_desk", [ANTENNA])
            rows = {  # name: (expires, revoked at)
                "live": (NOW + timedelta(hours=2), None),
                "expired recently": (NOW - timedelta(days=29), None),
                "expired long ago": (NOW - timedelta(days=31), None),
                "revoked recently": (NOW + timedelta(hours=1), NOW - timedelta(days=2)),
                "revoked long ago": (NOW + timedelta(days=400), NOW - timedelta(days=31)),
            }
            for name, (expires, revoked_at) in rows.items():
                session.add(ApiToken(token_hash=auth.token_digest(name), user_id=user.id,
                                     created_at=NOW - timedelta(days=40), expires_at=expires,
                                     revoked=revoked_at is not None, revoked_at=revoked_at))
            session.add_all([LoginFailure(username="desk", address="10.0.0.1",
                                          at=NOW - timedelta(minutes=minutes))
                             for minutes in (1, 14, 16, 600)])
            session.commit()

        gateway = worker_factory(GatewayService, db=database, clock=lambda: NOW)
        gateway.prune_tokens()

        with database.session() as session:
            kept = set(session.scalars(select(ApiToken.token_hash)))
            failures = len(session.scalars(select(LoginFailure)).all())
    assert kept == {auth.token_digest(name) for name in
                    ("live", "expired recently", "revoked recently")}
    assert failures == 2


def test_pruning_is_a_timer_of_the_gateway():
    [timer] = [e for e in getattr(GatewayService.prune_tokens, "nameko_entrypoints", ())
               if isinstance(e, Timer)]
    assert timer.interval == 3600


def test_revoking_records_when(embedded_platform):
    api = embedded_platform
    token = api.token("desk")
    assert api.call("POST", "/api/v1/auth/revoke",
                    headers={"Authorization": f"Bearer {token}"}).status_code == 200
    from lisa import cli

    database = cli.database_for("gateway")
    with database.session() as session:
        revoked = session.get(ApiToken, auth.token_digest(token))
        assert revoked.revoked and revoked.revoked_at is not None
    database.engine.dispose()
