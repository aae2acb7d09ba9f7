"""Alembic, one migration history per service (the folder its spec names)."""
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from shared import config
from shared.db import normalise_url
from shared.spec import ServiceSpec


def alembic_config(spec: ServiceSpec, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(spec.migrations))
    cfg.set_main_option("sqlalchemy.url",
                        (url or config.database_url(spec.name)).replace("%", "%%"))
    return cfg


def ensure_database(url: str) -> None:
    """Create a service's PostgreSQL database if it does not exist yet (SQLite creates itself)."""
    parsed = make_url(normalise_url(url))
    if not parsed.drivername.startswith("postgresql"):
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT",
                          poolclass=NullPool)
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
        ).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def upgrade(spec: ServiceSpec, url: str | None = None) -> None:
    url = url or config.database_url(spec.name)
    ensure_database(url)
    command.upgrade(alembic_config(spec, url), "head")


def run_env(target_metadata) -> None:
    """Body of every service's migrations/env.py."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url") or ""
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
