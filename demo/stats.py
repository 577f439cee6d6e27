"""The demo's statistics step: the performance figures (绩效统计) brought up to date from
everything the demo stored, the report written (HTML and JSON) for the demo's period, and
its headline figures printed — every number from ``perf_day``, as ``govhub report
performance`` would print it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from sqlalchemy import Engine, func, select

from hub.domains.performance import refresh, report
from hub.domains.performance.tables import perf_case
from hub.quality.charts import percent


def run(engine: Engine, home: Path) -> dict:
    done = refresh.refresh(engine)
    with engine.connect() as conn:
        first, last = conn.execute(select(func.min(perf_case.c.apply_day), func.max(perf_case.c.apply_day))).one()
    if first is None:
        click.echo("绩效统计 performance: no cases to count")
        return {"cases": 0}
    first, last = (d if isinstance(d, date) else date.fromisoformat(str(d)) for d in (first, last))
    data = report.build(engine, first, last, "month", ("dept",), refresh_first=False)
    stem = f"{first.isoformat()}_{last.isoformat()}"
    directory = home / "reports" / "performance"
    html, js = report.write(data, directory / f"{stem}.html", directory / f"{stem}.json")
    t = data["totals"]
    click.echo(
        click.style("绩效统计 performance ", bold=True)
        + f"{first} .. {last} ({done['cases']:,} cases read, {len(done['days'])} days aggregated): "
        f"received {t['received']:,}, accepted {t['accepted']:,}, finished {t['finished']:,}, "
        f"on time {percent(t['on_time_rate'])} ({t['on_time']:,} on time, {t['overdue']:,} overdue), "
        f"avg {t['avg_working_days'] or 0:.1f} working days, 即办件 {percent(t['immediate_rate'])}, "
        f"网办 {percent(t['online_rate'])}"
    )
    click.echo(click.style("绩效统计报告 performance report: ", bold=True) + f"{html}  (JSON: {js.name} next to it)")
    return {"html": str(html), "json": str(js), "totals": t}
