"""Outbound deliveries: ``govhub deliveries``, ``deliver`` and ``replay``.

govhub deliveries [--peer P] [--status S]   totals per peer and status, the latest records
govhub deliver [--peer P] [--loop]          send what is due now
govhub replay [--peer P] [--id N]... [--status defect]   dead letters (or defects) again, after a fix
govhub export --peer P --kind K --out FILE [--since --until]   a kind in the peer's format, to a file
"""

from __future__ import annotations

import json
import time

import click

from hub.cli.common import json_option, open_engine

STATUSES = ["pending", "acknowledged", "sent", "superseded", "dead", "defect"]


def done_line(done: dict) -> str:
    """What one delivery round did: ``sent 3, dead 1``, by outcome."""
    return ", ".join(f"{k} {v}" for k, v in sorted(done.items()))


@click.command()
@click.option("--peer")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--limit", default=30, show_default=True)
@json_option()
def deliveries(peer, status, limit, as_json) -> None:
    """Outbound deliveries: totals per peer and status, and the latest records."""
    from hub.outbound import delivery  # deferred: lxml and the peers' adapters

    engine = open_engine()
    totals = delivery.summary(engine)
    rows = delivery.listing(engine, peer=peer, status=status, limit=limit)
    if as_json:
        click.echo(json.dumps({"totals": totals, "deliveries": rows}, ensure_ascii=False, indent=2, default=str))
        return
    if not totals:
        click.echo("no deliveries")
        return
    click.echo("对端 peer            状态 status        数量 count  最早 oldest")
    for t in totals:
        click.echo(f"{t['peer']:<20} {t['status']:<16} {t['count']:>10,}  {t['oldest']}")
    click.echo("")
    for r in rows:
        click.echo(
            f"#{r['id']:<7} {r['peer']:<16} {r['kind']:<8} {r['record_key'][:40]:<40} v{r['record_version']:<3} "
            f"{r['status']:<12} tries={r['attempts']} {r['peer_ref'] or ''} {(r['last_error'] or '')[:80]}"
        )


@click.command()
@click.option("--peer")
@click.option("--loop", is_flag=True, help="keep delivering until interrupted")
def deliver(peer, loop) -> None:
    """Send due outbound deliveries now (the worker does this continuously)."""
    from hub.outbound.delivery import Deliverer  # deferred: lxml and the peers' adapters

    d = Deliverer(open_engine())
    try:
        while True:
            done = d.run_once(peer)
            if done:
                click.echo(done_line(done))
            if not loop:
                break
            time.sleep(1.0)
    finally:
        d.close()


@click.command()
@click.option("--peer")
@click.option("--id", "ids", type=int, multiple=True)
@click.option(
    "--status",
    type=click.Choice(["dead", "defect"]),
    default="dead",
    show_default=True,
    help="defect: records the peer's format could not express or the peer refused, written again",
)
def replay(peer, ids, status) -> None:
    """Send dead-letter deliveries again (after the peer or the data was fixed)."""
    # deferred: lxml and the peers' adapters
    from hub.outbound.delivery import Deliverer
    from hub.outbound.delivery import replay as requeue_dead

    engine = open_engine()
    n = requeue_dead(engine, peer=peer, ids=list(ids) or None, status=status)
    click.echo(f"{n} {status} deliveries queued again")
    if n:
        d = Deliverer(engine)
        try:
            done = d.run_once(peer)
        finally:
            d.close()
        click.echo(done_line(done) or "nothing due yet")


@click.command("export")
@click.option("--peer", required=True, help="the receiving system (catalog/systems.yaml)")
@click.option("--kind", required=True, help="case, licence, …")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="the file to write")
@click.option("--since", type=click.DateTime(), help="records changed from (CST)")
@click.option("--until", type=click.DateTime(), help="records changed before (CST)")
def export(peer, kind, out, since, until) -> None:
    """Write a kind's records in the peer's format to a file, as delivery would send them."""
    from pathlib import Path

    from hub.catalog.systems import CatalogError
    from hub.cli.common import fail
    from hub.model.dictionary import kinds
    from hub.outbound.export import export as write_export  # deferred: lxml

    if kind not in kinds():
        fail(f"unknown kind {kind!r}; known: {', '.join(sorted(kinds()))}")
    try:
        done = write_export(open_engine(), peer, kind, Path(out), since, until)
    except CatalogError as exc:
        fail(str(exc))
    click.echo(json.dumps(done.as_dict(), ensure_ascii=False, indent=2))
