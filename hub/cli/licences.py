"""``govhub licences catalogue load|diff``, ``sync`` and ``remind``: the licence catalogue (证照目录)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hub.cli.common import counts_line, dumps, fail, open_engine, relay

# Every command defers `hub.domains.licences`: it loads lxml, msgspec and python-stdnum (~70 ms).


@click.group()
def licences() -> None:
    """The licence catalogue (证照目录), sync to the province, expiry reminders."""


@licences.group("catalogue")
def licences_catalogue() -> None:
    """Versions of the licence catalogue."""


@licences_catalogue.command("load")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--operator", default="system", show_default=True)
def licences_catalogue_load(path, operator) -> None:
    from hub.domains.licences import LicenceCatalogueError, load_catalogue  # deferred: lxml, msgspec, stdnum

    try:
        counts = load_catalogue(open_engine(), path, operator=operator)
    except LicenceCatalogueError as exc:
        fail(str(exc))
    click.echo(counts_line(counts))


@licences_catalogue.command("diff")
@click.argument("code")
@click.argument("v1", type=int)
@click.argument("v2", type=int)
def licences_catalogue_diff(code, v1, v2) -> None:
    from hub.domains.licences import catalogue_diff  # deferred: lxml, msgspec, stdnum

    try:
        click.echo(dumps(catalogue_diff(open_engine(), code, v1, v2), indent=2))
    except LookupError as exc:
        fail(str(exc))


@licences.command("sync")
@click.argument("peer")
def licences_sync(peer) -> None:
    """Send locally issued licences to PEER (the province licence library)."""
    from hub.domains.licences import sync_to_province  # deferred: lxml, msgspec, stdnum

    click.echo(json.dumps(sync_to_province(open_engine(), peer), ensure_ascii=False))


@licences.command("remind")
@click.option("--days", default="30,7", show_default=True)
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]))
def licences_remind(days, today) -> None:
    """Raise licence.expiring events before expiry (once per licence and threshold)."""
    from hub.domains.licences import expiry_reminders  # deferred: lxml, msgspec, stdnum

    engine = open_engine()
    counts = expiry_reminders(engine, [int(d) for d in days.split(",")], today.date() if today else None)
    relay(engine)
    click.echo(json.dumps(counts, ensure_ascii=False))
