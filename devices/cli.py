"""``govhub devices``: the hall-device gateway from the command line.

    govhub devices serve [--port 8090] [--lines-port 7070]   POST /devices/{vendor}, and the line protocol
    govhub devices check                                     load and check the vendor formats and the halls
    govhub devices stats 2026-03-02 [--hall ID] [--json]     queue statistics by hour, per window and item

Exit status 2 for a bad argument or a bad vendor / halls file.
"""

from __future__ import annotations

import json
from datetime import date

import click

from hub.cli.common import fail, json_option, open_engine, settings

# The commands defer the `devices` modules: the vendor and hall files load python-stdnum,
# and the gateway FastAPI and uvicorn, none of which `govhub --help` needs.


@click.group("devices")
def devices() -> None:
    """Hall devices (大厅设备): queue machines, window terminals, evaluation pads."""


@devices.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=int)
@click.option("--lines-port", type=int, help="also accept the line protocol (qline) on this TCP port")
@click.option(
    "--lines-host",
    default="127.0.0.1",
    show_default=True,
    help="address of the line protocol; the halls' network address when devices connect from there",
)
def serve(host, port, lines_port, lines_host) -> None:
    """Accept device events over HTTP (and TCP lines), store them once, publish them."""
    import uvicorn  # deferred: the ASGI server and the gateway's FastAPI app

    from devices.http import create_app

    engine = open_engine()
    app = create_app(settings(), engine, lines_port=lines_port, lines_host=lines_host)
    extra = f", lines on {lines_host}:{lines_port}" if lines_port else ""
    click.echo(f"govhub devices listening on http://{host}:{port}/devices/{{vendor}}{extra}", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True)


@devices.command()
def check() -> None:
    """Load every vendor format and the halls file; fail with file, line and key."""
    # deferred: python-stdnum (the national code checks)
    from devices.halls import HallsError, halls, halls_path
    from devices.vendors import VendorError, vendors

    try:
        found = vendors()
        hs = halls()
    except (VendorError, HallsError) as exc:
        fail(str(exc), mask=False)
    for v in found.values():
        click.echo(
            f"vendor {v.name:<12} {v.format:<6} {v.encoding:<8} {', '.join(sorted({t.kind for t in v.types.values()}))}"
        )
    keyed = sum(1 for h in hs.values() if h.api_key_sha256)
    click.echo(f"halls  {len(hs)} in {halls_path()} ({keyed} with a key)")


@devices.command()
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--hall")
@json_option()
def stats(day, hall, as_json) -> None:
    """Queue statistics of one day by hour: waiting, service, abandon rate."""
    from devices.stats import queue_stats  # deferred: python-stdnum

    result = queue_stats(open_engine(), date(day.year, day.month, day.day), hall)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    if not result.rows:
        click.echo("no queue events that day")
    else:
        click.echo(
            f"{'hall':<12} {'hour':<5} {'by':<6} {'tickets':>7} {'served':>6} {'abandon':>7} {'wait':>7} {'service':>7}  key"
        )
    for r in result.rows:  # the key (often Chinese) last, so the columns stay aligned
        click.echo(
            f"{r.hall:<12} {r.hour:02d}:00 {r.dimension:<6} {r.tickets:>7} {r.served:>6} {r.abandon_rate:>7.1%} "
            f"{_min(r.wait_avg_s):>7} {_min(r.service_avg_s):>7}  {r.key}"
        )
    for h, n in result.unmatched.items():
        click.echo(f"{h}: {n} tickets seen without their issued event")


def _min(seconds: int | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}m"
