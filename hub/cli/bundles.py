"""``govhub bundles split|join|resume``: bundle applications (套餐)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click

from hub.cli.common import fail, open_engine, relay


@click.group()
def bundles() -> None:
    """Bundle applications (套餐): split into department items, track, join."""


@bundles.command("split")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def bundles_split(file) -> None:
    """Store bundle applications from FILE (one JSON object or an array) and dispatch their parts."""
    from hub.domains.bundles import BundleError, split  # deferred: the ingest pipeline (psycopg, lxml...)

    try:
        apps = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as exc:
        fail(f"{file}: not JSON ({exc})")
    engine = open_engine()
    total: Counter = Counter()
    for app in apps if isinstance(apps, list) else [apps]:
        try:
            total.update(split(engine, app))
        except BundleError as exc:
            fail(str(exc))
    relay(engine)
    click.echo(", ".join(f"{k} {v}" for k, v in sorted(total.items())))


@bundles.command("join")
def bundles_join() -> None:
    """Derive each open bundle's status from its parts; publish the changes."""
    from hub.domains.bundles import join  # deferred: the ingest pipeline (psycopg, lxml...)

    engine = open_engine()
    counts = join(engine)
    relay(engine)
    click.echo(json.dumps(counts, ensure_ascii=False))


@bundles.command("resume")
def bundles_resume() -> None:
    """Finish bundle splits a crash interrupted."""
    from hub.domains.bundles import resume  # deferred: the ingest pipeline (psycopg, lxml...)

    engine = open_engine()
    counts = resume(engine)
    relay(engine)
    click.echo(json.dumps(counts, ensure_ascii=False))
