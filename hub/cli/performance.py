"""``govhub report performance``: the performance report (绩效统计报告) as HTML and JSON.

govhub report performance [--from D --to D] [--every day|month|quarter|year]
                          [--by department|item|window|post|region ...] [--region CODE] [--dept CODE]
                          [--html P] [--json P] [--no-refresh]
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from hub.cli.common import fail, open_engine, settings
from hub.core import clock
from hub.core.errors import InputError
from hub.quality.charts import percent

day_type = click.DateTime(["%Y-%m-%d"])


@click.command("performance")
@click.option("--from", "start", type=day_type, help="first day (default: the first day of the month of --to)")
@click.option("--to", "end", type=day_type, help="last day, included (default: today, CST)")
@click.option(
    "--every", default="month", show_default=True, type=click.Choice(["day", "month", "quarter", "year"]), help="period"
)
@click.option(
    "--by",
    "by",
    multiple=True,
    default=("department",),
    show_default=True,
    type=click.Choice(["department", "dept", "item", "window", "post", "handler", "region"]),
    help="breakdown (repeat for several); post = the handler's staff number (工号)",
)
@click.option("--region", "regions", multiple=True, help="only this division code (or prefix, e.g. 3205); repeatable")
@click.option("--dept", "depts", multiple=True, help="only this department (统一社会信用代码); repeatable")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="write the HTML page here")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="write the JSON here")
@click.option(
    "--no-refresh", is_flag=True, help="report the figures as they are, without bringing them up to date first"
)
def report_performance(start, end, every, by, regions, depts, html_path, json_path, no_refresh) -> None:
    """Service figures per period and group: received, accepted, finished, on-time and
    overdue (working-day calendar, 调休 included, special procedures excluded), handling
    time, 即办件 and online shares, satisfaction, supervision alerts, hall queues. The
    indicators are those of catalog/performance_indicators.yaml.

    Without --html and --json, the pair is kept under
    $GOVHUB_HOME/reports/performance/<from>_<to>.html and .json."""
    from hub.domains.performance import report  # deferred: the calendar package

    last: date = end.date() if end else clock.now().date()
    first: date = start.date() if start else last.replace(day=1)
    if not html_path and not json_path:
        directory = settings().home / "reports" / "performance"
        stem = f"{first.isoformat()}_{last.isoformat()}"
        html_path, json_path = directory / f"{stem}.html", directory / f"{stem}.json"
    try:
        data = report.build(
            open_engine(), first, last, every, tuple(by), refresh_first=not no_refresh, regions=regions, depts=depts
        )
    except InputError as exc:
        fail(str(exc))
    t = data["totals"]
    click.echo(
        f"绩效统计 performance {first} .. {last}: received {t['received']:,}, finished {t['finished']:,}, "
        f"on time {percent(t['on_time_rate'])}, overdue {t['overdue']:,}, satisfaction {percent(t['satisfaction_rate'])}"
    )
    for p in report.write(data, html_path, json_path):
        click.echo(f"wrote {p}")
