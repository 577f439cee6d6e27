"""The Alembic migrations build exactly the schema the models declare, on SQLite and
PostgreSQL, and running them again changes nothing."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hub.db.engine import current_revision, migrate
from hub.schema import metadata


def test_migrations_match_models(db_url, engine):
    migrate(db_url)  # second run: idempotent
    assert current_revision(db_url) is not None
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == [], diff
