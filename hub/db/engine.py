"""Database engines and schema migrations (Alembic), for SQLite and PostgreSQL alike."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the worker, the CLI and the API read while one of them writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def alembic_config(url: str) -> Config:
    # alembic (and its Mako templates) loads only when migrating, not in every process that opens the database
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# The key of the PostgreSQL advisory lock every migration takes (any constant bigint; this
# one is "govhub" in ASCII), so processes starting at once migrate one after another.
MIGRATION_LOCK = 0x676F76687562


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (idempotent).

    On PostgreSQL the upgrade runs under a transaction-scoped advisory lock: processes
    starting at once on an empty database (two Airflow tasks, a worker and the API) take
    turns, and the later ones find the schema current instead of failing on a duplicate
    ``alembic_version`` row. SQLite serialises writers by itself."""
    from alembic import command  # deferred: only when migrating

    engine = engine_for(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def head_revision(url: str) -> str | None:
    """The newest revision of the hub's migrations."""
    from alembic.script import ScriptDirectory  # deferred: only when migrating

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def ensure_schema(url: str) -> None:
    """Migrate only when the schema is behind: a process that finds it current (the
    usual case once ``govhub init`` has run) does not touch ``alembic_version`` at all."""
    if current_revision(url) != head_revision(url):
        migrate(url)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext  # deferred: only when migrating

    with engine_for(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
