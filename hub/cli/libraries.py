"""``govhub libraries refresh``: the people, enterprise and project libraries (人员库, 企业库, 投资项目库)."""

from __future__ import annotations

import click
from sqlalchemy import delete

from adapters.errors import AdapterError
from hub.cli.common import counts_line, fail_adapter, open_engine, relay


@click.group()
def libraries() -> None:
    """The people, enterprise and project libraries (人员库, 企业库, 投资项目库)."""


@libraries.command("refresh")
@click.argument("system_id")
@click.option("--from-start", is_flag=True, help="forget the stored cursor and read the whole feed again")
def libraries_refresh(system_id, from_start) -> None:
    """Pull SYSTEM's change feed and merge it field by field by catalog/precedence.yaml."""
    # deferred: the merge stores through the ingest pipeline (psycopg, prometheus_client, lxml)
    from hub.domains.libraries.merge import refresh, refresh_cursor

    engine = open_engine()
    if from_start:
        with engine.begin() as conn:
            conn.execute(delete(refresh_cursor).where(refresh_cursor.c.system == system_id))
    try:
        counts = refresh(engine, system_id)
    except AdapterError as exc:
        fail_adapter(exc)
    relay(engine)
    click.echo(counts_line(counts))
