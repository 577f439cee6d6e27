"""``govhub quality``: data-quality suites, checks and Data Docs from the command line.

    govhub quality suites                  the suites (schemas/expectations), checked as they load
    govhub quality check [--day D]         day checks per source and kind (default: yesterday, CST)
    govhub quality batch --pending         batch checks of messages not checked yet (GOVHUB_QUALITY_BATCH=deferred)
    govhub quality batch --system S --message M   one message again
    govhub quality docs [--out DIR]        the Great Expectations Data Docs site

Exit status 2 for a bad argument or a bad suite file, 1 when a check found failures
(``--strict``).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import click
from sqlalchemy import select

from hub.cli.common import fail, json_option, open_engine, settings
from hub.core import clock
from hub.db.tables import ingest_message

# The commands defer `hub.quality.*`: the suites load python-stdnum (the code checks),
# and the checks pandas and Great Expectations, none of which `govhub --help` needs.


def load_suites():
    """Every suite, checked as it loads; a bad suite file is the user's to fix (exit 2)."""
    from hub.quality.suites import SuiteError, suites  # deferred: stdnum (GE loads inside)

    try:
        return suites()
    except SuiteError as exc:
        fail(f"{exc}\n(fix the suite file; `govhub quality suites` checks them all)", mask=False)


def yesterday() -> date:
    return (clock.now() - timedelta(days=1)).date()


@click.group("quality")
def quality() -> None:
    """数据质量: expectation suites per message kind, batch and day checks, Data Docs."""


@quality.command("suites")
@json_option("machine-readable output")
def list_suites(as_json: bool) -> None:
    """List the suites with their version, expectation count and rules (规则)."""
    rows = []
    for kind, s in sorted(load_suites().items()):
        rules = Counter(e.meta.rule for e in s.spec.expectations)
        rows.append(
            {
                "kind": kind,
                "label_zh": s.spec.meta.label_zh,
                "version": s.version,
                "expectations": len(s.spec.expectations),
                "rules": dict(sorted(rules.items())),
                "path": str(s.path),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(f"{'类型 kind':<14}{'规则集 suite':<22}{'版本 version':<14}{'期望数':>6}  规则 rules")
    for r in rows:
        click.echo(
            f"{r['kind']:<14}{r['label_zh']:<18}{r['version']:<14}{r['expectations']:>6}  "
            + ", ".join(f"{k}×{v}" if v > 1 else k for k, v in r["rules"].items())
        )


@quality.command("check")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="CST day, YYYY-MM-DD (default: yesterday)")
@click.option("--system", "systems", multiple=True, help="only this source system (repeatable)")
@click.option("--kind", "kinds", multiple=True, help="only this kind (repeatable)")
@json_option("machine-readable output")
@click.option("--strict", is_flag=True, help="exit 1 when anything failed")
def check(day, systems, kinds, as_json, strict) -> None:
    """Day checks (每日检查): suites on the day's stored records and feed health per source."""
    from hub.quality.daily import check_day, volumes, window_days  # deferred: stdnum, pandas, GE

    the_day = day.date() if day else yesterday()
    load_suites()
    engine = open_engine()
    vols = volumes(engine, the_day - window_days(), the_day)
    pairs = [p for p in vols if (not systems or p[0] in systems) and (not kinds or p[1] in kinds)]
    with click.progressbar(length=len(pairs), label=f"检查 {the_day}", file=sys.stderr) as bar:
        summaries = check_day(
            engine, the_day, systems=systems or None, kinds=kinds or None, on_pair=lambda s, k: bar.update(1), vols=vols
        )
    if as_json:
        click.echo(json.dumps(summaries, ensure_ascii=False, indent=2))
    else:
        if not summaries:
            click.echo(f"{the_day}: no source sent anything in the day or the 30 days before")
        for s in summaries:
            ok = not s["suite_failed"] and not s["feed_failed"]
            mark = click.style("通过 ok", fg="green") if ok else click.style("异常 failed", fg="red")
            click.echo(
                f"{s['day']}  {s['source_system']:<20}{s['kind']:<12}接收 {s.get('received', 0):>6}  "
                f"检查 {s['rows']:>6}  {mark}"
            )
            if s["suite_failed"]:
                click.echo(f"    规则未通过 suite: {', '.join(s['suite_failed'])}")
            if s["feed_failed"]:
                click.echo(f"    来源健康 feed health: {', '.join(s['feed_failed'])}")
    if strict and any(s["suite_failed"] or s["feed_failed"] for s in summaries):
        sys.exit(1)


@quality.command("batch")
@click.option("--pending", is_flag=True, help="every message without a batch check yet")
@click.option("--system", default=None, help="source system of --message")
@click.option("--message", "message_id", default=None, help="one message id (with --system)")
@click.option("--limit", default=1000, show_default=True, help="at most this many pending messages")
def batch(pending, system, message_id, limit) -> None:
    """Batch checks (批次检查) of ingested messages."""
    from hub.quality.batch import check_message, pending_messages  # deferred: stdnum, pandas, GE

    if pending == bool(message_id):
        fail("pass --pending, or --system and --message", mask=False)
    load_suites()
    engine = open_engine()
    if message_id:
        if not system:
            fail("--message needs --system", mask=False)
        m = ingest_message.c
        with engine.connect() as conn:
            kind = conn.execute(select(m.kind).where(m.source_system == system, m.message_id == message_id)).scalar()
        if kind is None:
            fail(f"no message {message_id} from {system}; `govhub stats` lists what was received", mask=False)
        todo = [(system, kind, message_id)]
    else:
        todo = list(pending_messages(engine, limit))
    failed = 0
    with click.progressbar(todo, label="批次检查", file=sys.stderr) as bar:
        for src, kind, mid in bar:
            run = check_message(engine, src, kind, mid)
            failed += bool(run and not run.success)
    click.echo(f"checked {len(todo)} message(s); {failed} with failed expectations (see quality_run)")


@quality.command("docs")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="site directory (default: $GOVHUB_HOME/quality/data_docs)",
)
@click.option("--sample", default=2000, show_default=True, help="latest records per kind to validate for the site")
@click.option("--no-validate", is_flag=True, help="suites only, no validation pages")
def docs(out, sample, no_validate) -> None:
    """Build the Great Expectations Data Docs site (规则文档)."""
    from hub.quality.docs import build  # deferred: stdnum, pandas, GE

    loaded = load_suites()
    out = out or settings().home / "quality" / "data_docs"
    engine = None if no_validate else open_engine()
    with click.progressbar(length=len(loaded), label="Data Docs", file=sys.stderr) as bar:
        index = build(out, engine, sample, on_kind=lambda k: bar.update(1))
    click.echo(f"Data Docs: {index}")
