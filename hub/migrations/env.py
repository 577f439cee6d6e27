"""Alembic environment: runs on the connection handed over by ``hub.db.engine.migrate``."""

from alembic import context
from sqlalchemy import create_engine

from hub.schema import metadata

config = context.config


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is None:
        url = config.get_main_option("sqlalchemy.url")
        assert url is not None, "hub.db.engine.alembic_config sets sqlalchemy.url"
        engine = create_engine(url)
        with engine.begin() as conn:
            _run(conn)
    else:
        _run(conn)


def _run(conn) -> None:
    context.configure(
        connection=conn,
        target_metadata=metadata,
        render_as_batch=conn.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
