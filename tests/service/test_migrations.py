"""Every service's migrations build exactly the schema its models describe, on SQLite and on
PostgreSQL (type mismatches between models and migrations show only on PostgreSQL)."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lisa import platform
from tests.conftest import migrated_database


@pytest.mark.parametrize("service", platform.names())
def test_migrations_match_the_models(service, database_url_factory, memory_broker):
    metadata = platform.spec(service).metadata
    with migrated_database(service, database_url_factory(service)) as database:
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
