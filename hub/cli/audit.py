"""``govhub audit verify|checkpoint|export|archive``: the exchange log (存证) — re-check it,
sign its head, export one message's evidence package, archive and prune its old segment."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from sqlalchemy import func, select
from tqdm import tqdm

from hub.audit.objects import ObjectStore, retention_days
from hub.audit.sealcheck import pins_from_env
from hub.audit.signing import IdentityError
from hub.audit.verify import verify as verify_chain
from hub.cli.common import fail, json_option, open_engine, settings
from hub.db.engine import engine_for
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
            pins=pins_from_env(),
        )
    jobs.record(engine, VERIFY_JOB, res.holds, None if res.holds else f"seq {res.break_seq}: {res.problem}")
    if as_json:
        click.echo(json.dumps(res.as_dict(), ensure_ascii=False, indent=2))
    else:
        span = f"seq {res.first_seq}–{res.last_seq} ({res.first_at} – {res.last_at})" if res.checked else "no entries"
        click.echo(f"entries checked: {res.checked}, {span}")
        click.echo(f"objects checked: {res.objects_checked}, pruned by retention: {res.objects_pruned}")
        click.echo(f"checkpoints checked: {res.checkpoints_checked}")
        if res.holds:
            click.echo("the chain holds")
        else:
            click.echo(f"BREAK at seq {res.break_seq}: {res.problem}")
    if not res.holds:
        sys.exit(1)


@audit.command()
def checkpoint() -> None:
    """Sign the chain's head now (and time-stamp it, with a TSA configured)."""
    from hub.audit import checkpoint as checkpoints  # deferred: cryptography, the TSA client

    try:
        sealer = checkpoints.Sealer.from_env()
    except IdentityError as exc:
        fail(str(exc))
    cp = checkpoints.take(open_engine(), sealer)
    if cp is None:
        click.echo("the exchange log is empty: nothing to sign yet")
        return
    stamp = (
        "time-stamped"
        if "timestamp" in cp["signed"]
        else f"not time-stamped ({cp['stamp_error'] or 'no TSA configured'})"
    )
    click.echo(
        f"checkpoint #{cp['id']}: seq {cp['seq']} head {cp['head'][:16]}… signed by {sealer.hub!r} at {cp['at']}, {stamp}"
    )


@audit.command()
@click.argument("message_id")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="the package (.zip)")
@click.option("--seq", type=int, help="the entry to export when the message has several (a redelivery)")
def export(message_id, out, seq) -> None:
    """Write MESSAGE_ID's evidence package, for `python -m govhub_verify` (reads only)."""
    from hub.audit.export import ExportError
    from hub.audit.export import export as build

    try:
        data, summary = build(engine_for(settings().db_url), message_id, ObjectStore(settings().home / "objects"), seq)
    except ExportError as exc:
        fail(str(exc))
    out.write_bytes(data)
    click.echo(
        f"{out}: message {message_id!r} entry seq {summary['seq']}, {summary['entries']} entries up to checkpoint "
        f"seq {summary['checkpoint_seq']} ({'time-stamped' if summary['stamped'] else 'not time-stamped'}); "
        f"check it with: python -m govhub_verify {out} --cert HUB-CERT.pem"
    )


@audit.command()
@click.option("--older-than", type=int, help="days; default GOVHUB_AUDIT_RETENTION_DAYS (365)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="default $GOVHUB_HOME/archive")
def archive(older_than, out_dir) -> None:
    """Verify the log, package the sealed segment older than the retention period, then prune it."""
    from hub.audit.archive import ArchiveError
    from hub.audit.archive import archive as run_archive

    days = older_than if older_than is not None else retention_days()
    try:
        row = run_archive(
            open_engine(),
            ObjectStore(settings().home / "objects"),
            out_dir or settings().home / "archive",
            days,
            pins_from_env(),
        )
    except ArchiveError as exc:
        fail(str(exc))
    if row is None:
        click.echo(f"nothing to archive: no checkpoint seals entries older than {days} days")
        return
    click.echo(
        f"archived seq {row['first_seq']}–{row['last_seq']} ({row['entries']} entries, {row['objects']} messages' bytes) "
        f"to {row['path']} ({row['digest'][:23]}…); pruned from the log and the object store"
    )
