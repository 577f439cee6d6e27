"""``govhub report quality``: write the data-quality report (数据质量报告) as a
self-contained HTML page and/or JSON (shape: schemas/report/quality_report.schema.json)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click


@click.command("quality")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="write the HTML page here")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="write the JSON here")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 366), help="length of the trend period")
@click.option("--to", "day_to", type=click.DateTime(["%Y-%m-%d"]), help="last day of the period (default: today, CST)")
@click.option("--min-volume", default=20, show_default=True, type=click.IntRange(0),
              help="records a source needs in the period to be ranked among the worst offenders")
def quality(html_path, json_path, days, day_to, min_volume) -> None:
    """The data-quality report: per source system and kind, received / stored /
    duplicate / quarantined and pass rate, defects by reason with masked examples, the
    daily trend, the worst-offending sources and the expectation-suite results.

    Without --html and --json, the day's pair is kept under
    $GOVHUB_HOME/reports/quality/<day>.html and .json (as the daily DAG keeps them)."""
    from hub.core import clock
    from hub.cli.main import _engine, _settings
    from hub.quality import report as quality_report
    from hub.quality.charts import percent

    engine = _engine()
    day: date = day_to.date() if day_to else clock.now().date()
    if not html_path and not json_path:
        directory = quality_report.daily_dir(_settings().home)
        html_path, json_path = directory / f"{day.isoformat()}.html", directory / f"{day.isoformat()}.json"
    data = quality_report.build(engine, day_to=day, days=days, min_volume=min_volume)
    written = quality_report.write(data, html_path, json_path)
    t = data["totals"]
    click.echo(f"数据质量报告 quality report {data['period']['from']} .. {data['period']['to']}: "
               f"received {t['received']:,}, stored {t['stored']:,}, duplicate {t['duplicate']:,}, "
               f"quarantined {t['quarantined']:,}, pass rate {percent(t['pass_rate'])}")
    if not data["consistency"]["ok"]:
        click.echo(click.style("warning: ", fg="yellow", bold=True) + "the counters behind `govhub stats` and the "
                   f"lineage disagree in {len(data['consistency']['mismatches'])} places (listed in the report)", err=True)
    for p in written:
        click.echo(f"wrote {p}")
