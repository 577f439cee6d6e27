"""Reporting upward and checking it: ``govhub report run|backfill|quality`` and ``govhub reconcile``.

govhub report run PEER                   report upward (融通上报) by watermark
govhub report backfill PEER --from --to  re-send a date range
govhub report quality [--html P --json P]   the data-quality report (数据质量报告)
govhub report performance [--from --to --every --by]   the performance report (绩效统计报告)
govhub reconcile PEER [--day D]          per item and day, what we sent vs what the peer holds (对账)
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import click

from adapters.errors import AdapterError
from hub.cli.common import counts_line, fail_adapter, open_engine, settings
from hub.cli.performance import report_performance
from hub.core import clock
from hub.quality import report as quality_report
from hub.quality.charts import percent

day_type = click.DateTime(["%Y-%m-%d"])


@click.group()
def report() -> None:
    """Report records upward (融通上报) by watermark; backfill a date range; the data-quality report."""


@report.command("run")
@click.argument("peer")
@click.option("--kind", default="case", show_default=True)
def report_run(peer, kind) -> None:
    from hub.outbound import reporting  # deferred: lxml and the peers' adapters

    r = reporting.run(open_engine(), peer, kind)
    click.echo(json.dumps(r.as_dict(), ensure_ascii=False))


@report.command("backfill")
@click.argument("peer")
@click.option("--kind", default="case", show_default=True)
@click.option("--from", "start", required=True, type=day_type)
@click.option("--to", "end", required=True, type=day_type, help="exclusive")
def report_backfill(peer, kind, start, end) -> None:
    """Queue every record changed in [FROM, TO) again for PEER, and deliver."""
    # deferred: lxml and the peers' adapters
    from hub.outbound import reporting
    from hub.outbound.delivery import Deliverer

    engine = open_engine()
    n = reporting.backfill(engine, peer, kind, start, end)
    d = Deliverer(engine)
    try:
        done = d.run_once(peer)
    finally:
        d.close()
    click.echo(f"{n} records queued again for {peer}; delivered now: {dict(done)}")


@report.command("quality")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="write the HTML page here")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="write the JSON here")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 366), help="length of the trend period")
@click.option("--to", "day_to", type=day_type, help="last day of the period (default: today, CST)")
@click.option(
    "--min-volume",
    default=20,
    show_default=True,
    type=click.IntRange(0),
    help="records a source needs in the period to be ranked among the worst offenders",
)
def report_quality(html_path, json_path, days, day_to, min_volume) -> None:
    """The data-quality report: per source system and kind, received / stored /
    duplicate / quarantined and pass rate, defects by reason with masked examples, the
    daily trend, the worst-offending sources and the expectation-suite results.

    Without --html and --json, the day's pair is kept under
    $GOVHUB_HOME/reports/quality/<day>.html and .json (as the daily DAG keeps them)."""
    engine = open_engine()
    day: date = day_to.date() if day_to else clock.now().date()
    if not html_path and not json_path:
        directory = quality_report.daily_dir(settings().home)
        html_path, json_path = directory / f"{day.isoformat()}.html", directory / f"{day.isoformat()}.json"
    data = quality_report.build(engine, day_to=day, days=days, min_volume=min_volume)
    written = quality_report.write(data, html_path, json_path)
    t = data["totals"]
    click.echo(
        f"数据质量报告 quality report {data['period']['from']} .. {data['period']['to']}: "
        f"received {t['received']:,}, stored {t['stored']:,}, duplicate {t['duplicate']:,}, "
        f"quarantined {t['quarantined']:,}, pass rate {percent(t['pass_rate'])}"
    )
    if not data["consistency"]["ok"]:
        click.echo(
            click.style("warning: ", fg="yellow", bold=True) + "the counters behind `govhub stats` and the "
            f"lineage disagree in {len(data['consistency']['mismatches'])} places (listed in the report)",
            err=True,
        )
    for p in written:
        click.echo(f"wrote {p}")


@click.command()
@click.argument("peer")
@click.option("--day", type=day_type, help="default: yesterday (China Standard Time)")
def reconcile(peer, day) -> None:
    """Compare per item what was delivered to PEER for a day with what it holds (对账)."""
    from hub.outbound.reconcile import reconcile as run_reconcile  # deferred: the catalogue's pydantic models

    the_day = day.date() if day else (clock.now() - timedelta(days=1)).date()
    try:
        counts = run_reconcile(open_engine(), peer, the_day)
    except AdapterError as exc:
        fail_adapter(exc)
    click.echo(f"{the_day}: " + counts_line(counts))


report.add_command(report_performance)  # govhub report performance (hub/cli/performance.py)
