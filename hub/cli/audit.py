"""``govhub audit verify``: re-check the exchange log (存证) over the database."""

from __future__ import annotations

import json
import sys
from datetime import date

import click
from sqlalchemy import func, select
from tqdm import tqdm

from hub.audit.objects import ObjectStore, retention_days
from hub.audit.verify import verify as verify_chain
from hub.cli.common import json_option, open_engine, settings
from hub.db.tables import exchange_log
from hub.ops import jobs
from hub.ops.metrics import VERIFY_JOB


@click.group()
def audit() -> None:
    """The tamper-evident exchange log: every message in and every delivery out."""


@audit.command()
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="first day (UTC) to check")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="last day (UTC) to check, included")
@json_option()
def verify(start, end, as_json) -> None:
    """Recompute every entry's hash and link, in order, and the stored bytes' digests.
    Prints what holds and the first break; exits 1 on a break."""
    engine = open_engine()
    d0: date | None = start.date() if start else None
    d1: date | None = end.date() if end else None
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(exchange_log)).scalar_one()
    with tqdm(total=total, unit="entry", disable=as_json or not sys.stderr.isatty(), leave=False) as bar:
        res = verify_chain(
            engine,
            d0,
            d1,
            objects=ObjectStore(settings().home / "objects"),
            retention_days=retention_days(),
            progress=bar.update,
        )
    jobs.record(engine, VERIFY_JOB, res.holds, None if res.holds else f"seq {res.break_seq}: {res.problem}")
    if as_json:
        click.echo(json.dumps(res.as_dict(), ensure_ascii=False, indent=2))
    else:
        span = f"seq {res.first_seq}–{res.last_seq} ({res.first_at} – {res.last_at})" if res.checked else "no entries"
        click.echo(f"entries checked: {res.checked}, {span}")
        click.echo(f"objects checked: {res.objects_checked}, pruned by retention: {res.objects_pruned}")
        if res.holds:
            click.echo("the chain holds")
        else:
            click.echo(f"BREAK at seq {res.break_seq}: {res.problem}")
    if not res.holds:
        sys.exit(1)
