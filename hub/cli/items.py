"""The item catalogue (事项库): ``govhub sync items`` and ``govhub catalog versions|diff``.

govhub sync items SYSTEM                 pull the item catalogue, version and diff it
govhub catalog versions|diff ITEM        an item's versions; field diff between two
"""

from __future__ import annotations

import json

import click

from adapters.errors import AdapterError
from hub.cli.common import fail, fail_adapter, json_option, open_engine, relay


@click.group()
def sync() -> None:
    """Pull from the systems that publish to the hub (what the DAGs schedule)."""


@sync.command("items")
@click.argument("system_id")
def sync_items(system_id) -> None:
    """Pull the item catalogue from SYSTEM, store changed versions, publish the diff."""
    from hub.domains import items  # deferred: the ingest pipeline (psycopg, prometheus_client, lxml)

    engine = open_engine()
    try:
        counts = items.sync_items(engine, system_id)
    except AdapterError as exc:
        fail_adapter(exc)
    relay(engine)
    click.echo(
        f"{counts['pulled']} items pulled: {counts['new']} new, {counts['changed']} changed, "
        f"{counts['withdrawn']} withdrawn; {counts['quarantined']} quarantined"
    )


@click.group()
def catalog() -> None:
    """The item catalogue's versions (事项版本)."""


@catalog.command("versions")
@click.argument("item_code")
def catalog_versions(item_code) -> None:
    from hub.domains import items  # deferred: the ingest pipeline (psycopg, prometheus_client, lxml)

    vs = items.versions(open_engine(), item_code)
    if not vs:
        fail(f"no item {item_code} in the catalogue")
    for v in vs:
        click.echo(
            f"version {v['item_version']:<6} revision {v['revision']:<3} {v['status']:<4} updated {v['updated_at']}"
            f"  {len(v['revisions'])} earlier revision(s) in the history"
        )


@catalog.command("diff")
@click.argument("item_code")
@click.option("--from", "v_from", required=True, help="item version (as the province numbers them)")
@click.option("--to", "v_to", required=True)
@json_option()
def catalog_diff(item_code, v_from, v_to, as_json) -> None:
    """Field-level differences between two versions of an item (版本比对)."""
    from hub.domains import items  # deferred: the ingest pipeline (psycopg, prometheus_client, lxml)

    try:
        diff = items.diff_versions(open_engine(), item_code, v_from, v_to)
    except LookupError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(diff, ensure_ascii=False, indent=2))
        return
    if not diff:
        click.echo("no differences")
    for field, d in diff.items():
        click.echo(f"{d['label']} ({field}):\n  - {d['from']}\n  + {d['to']}")
