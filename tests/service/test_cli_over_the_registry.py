"""The CLI's commands loop over the registry: `migrate` gives every registered service its
database, `reencrypt` (or its old name) re-encrypts the content of every service that seals
some, `create-user` writes to the HTTP edge's users."""
from lisa import cli, platform


def test_migrate_reencrypt_and_create_user_follow_the_registry(var_dir, memory_broker, capsys):
    cli.main(["migrate"])
    assert {path.stem for path in var_dir.glob("*.db")} == set(platform.names())

    cli.main(["reencrypt"])
    cli.main(["reencrypt-referrals"])
    sealing = [spec.name for spec in platform.specs() if spec.seals_content]
    lines = capsys.readouterr().out.splitlines()
    assert sealing and [line.split(":")[0] for line in lines if "re-encrypted" in line] == \
        sealing * 2

    cli.main(["create-user", "--username", "nina", "--password", "a-long-password",
              "--role", "desk", "--organisation", "antenna_desk"])
    from sqlalchemy import select

    from services.gateway.models import User

    database = cli.database_for(platform.edge().name)
    with database.session() as session:
        assert session.scalar(select(User.role).where(User.username == "nina")) == "desk"
    database.engine.dispose()


def test_rebuild_projections_follows_the_registry(var_dir, memory_broker, capsys):
    cli.main(["migrate"])
    cli.main(["indicators-rebuild"])
    rebuilding = [spec.name for spec in platform.specs() if spec.rebuild_projections]
    lines = capsys.readouterr().out.splitlines()
    assert rebuilding == ["indicators"]
    assert [line.split(":")[0] for line in lines if "projections rebuilt" in line] == rebuilding
