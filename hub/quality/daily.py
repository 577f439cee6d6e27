"""Day scope (每日数据质量检查): per source system and kind, for one CST day.

For every (source, kind) that sent anything in the day or the trailing window:

1. the kind's suite on the day's stored records — library rows of that source last
   updated that day — as a ``quality_run`` row (scope ``daily``, suite = the kind);
2. feed health against the trailing ``baseline_days`` (thresholds in the suite file's
   ``meta.feed_health``), as a second row (suite ``feed_health``) whose results use the
   same shape, with these rules:

   - ``feed_silent`` — the source's median day (days of the same type: working day or
     rest day, by the official calendar) reaches ``silent_min_daily`` and it sent nothing;
   - ``feed_volume_drop`` / ``feed_volume_jump`` — the day's volume below
     ``volume_drop_ratio`` or above ``volume_jump_ratio`` times that median;
   - ``quarantine_rate_jump`` — the quarantined share rose by ``quarantine_rate_jump``;
   - ``null_rate_jump`` — a column's null share rose by ``null_rate_jump`` (per column).

   Volumes and quarantine rates come from ``lineage`` (every received record), null
   rates from the library rows updated each day. A check without enough history (fewer
   than ``min_baseline_days`` comparable days, fewer than ``min_rows`` records) is not
   evaluated, and is not listed.

Reruns replace the day's rows (idempotent). Scans: ``lineage`` over the window once per
run (it has no index on ``received_at``: one sequential scan a day), each library's
``updated_at`` index per source.
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine, func, select

from hub.db.tables import LIBRARY, lineage
from hub.model.calendar import CalendarError, default_calendar
from hub.model.dictionary import Kind
from hub.model.dictionary import kind as dictionary_kind
from hub.ops import stats
from hub.quality.checks import SuiteRun, env_for, run_suite, store_run
from hub.quality.suites import FeedHealth, LoadedSuite, suites
from hub.quality.suites import suite as suite_for

log = logging.getLogger("govhub.quality")
FEED_SUITE = "feed_health"
MAX_ROWS = 100_000  # records of one source and day a suite run holds in memory


def _day(v) -> date:
    return v if isinstance(v, date) and not isinstance(v, datetime) else date.fromisoformat(str(v)[:10])


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())


def volumes(engine: Engine, first: date, last: date) -> dict[tuple[str, str], dict[date, Counter]]:
    """(source, kind) → day → outcome counts, from lineage."""
    lo, hi = _bounds(first, last)
    d = func.date(lineage.c.received_at).label("d")
    q = (
        select(lineage.c.source_system, lineage.c.kind, d, lineage.c.outcome, func.count())
        .where(lineage.c.received_at >= lo, lineage.c.received_at < hi, stats.CURRENT_LINEAGE)
        .group_by(lineage.c.source_system, lineage.c.kind, d, lineage.c.outcome)
    )
    out: dict[tuple[str, str], dict[date, Counter]] = defaultdict(lambda: defaultdict(Counter))
    with engine.connect() as conn:
        for src, kind, day, outcome, n in conn.execute(q):
            out[(src, kind)][_day(day)][outcome] += n
    return out


def null_counts(
    engine: Engine, kind: str, source: str, first: date, last: date
) -> dict[date, tuple[int, dict[str, int]]]:
    """day → (rows, column → non-null count) of the library rows the source last updated that day."""
    t = LIBRARY[kind]
    cols = [f.name for f in dictionary_kind(kind).scalars]
    lo, hi = _bounds(first, last)
    d = func.date(t.c.updated_at).label("d")
    q = (
        select(d, func.count(), *[func.count(t.c[c]) for c in cols])
        .where(t.c.source_system == source, t.c.updated_at >= lo, t.c.updated_at < hi)
        .group_by(d)
    )
    with engine.connect() as conn:
        return {_day(r[0]): (r[1], dict(zip(cols, r[2:]))) for r in conn.execute(q)}


def day_records(engine: Engine, kind: str, source: str, day: date, limit: int = MAX_ROWS) -> list[dict]:
    k = dictionary_kind(kind)
    t = LIBRARY[kind]
    lo, hi = _bounds(day, day)
    q = (
        select(*[t.c[f.name] for f in k.fields])
        .where(t.c.source_system == source, t.c.updated_at >= lo, t.c.updated_at < hi)
        .order_by(t.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [{n: v for n, v in r._mapping.items() if v is not None} for r in conn.execute(q)]


def _workday_fn() -> Callable[[date], bool]:
    try:
        cal = default_calendar()
    except CalendarError:
        cal = None

    def is_workday(d: date) -> bool:
        if cal is not None:
            try:
                return cal.is_workday(d)
            except CalendarError:
                pass
        return d.weekday() < 5

    return is_workday


def _entry(
    expectation: str,
    rule: str,
    column: str | None,
    ok: bool,
    unexpected: int,
    elements: int,
    label: str,
    observed,
    baseline,
) -> dict:
    return {
        "expectation": expectation,
        "rule": rule,
        "column": column,
        "success": ok,
        "unexpected_count": unexpected,
        "element_count": elements,
        "examples": [],
        "label_zh": label,
        "observed_value": observed,
        "baseline": baseline,
    }


def feed_health(
    suite: LoadedSuite,
    day: date,
    vols: dict[date, Counter],
    nulls: dict[date, tuple[int, dict[str, int]]],
    is_workday: Callable[[date], bool],
) -> SuiteRun:
    """The feed-health checks of one source and kind for ``day`` (pure: no I/O)."""
    fh: FeedHealth = suite.feed_health
    k = dictionary_kind(suite.kind)
    window = [day - timedelta(days=i) for i in range(fh.baseline_days, 0, -1)]
    seen = [d for d in window if sum(vols.get(d, Counter()).values())] + [d for d in window if d in nulls]
    first = min(seen) if seen else None
    history = [d for d in window if first is not None and d >= first]
    received = {d: sum(vols.get(d, Counter()).values()) for d in history + [day]}
    today = received[day]
    run = SuiteRun(FEED_SUITE, suite.version, suite.kind, today)
    same_type = [d for d in history if is_workday(d) == is_workday(day)]
    if len(same_type) >= fh.min_baseline_days:
        median = statistics.median(received[d] for d in same_type)
        kind_of_day = "工作日" if is_workday(day) else "休息日"
        run.results.extend(_volume_checks(fh, today, median, kind_of_day))
    run.results.extend(_quarantine_rate_checks(fh, day, vols, history, received))
    run.results.extend(_null_rate_checks(fh, k, day, nulls, history))
    run.results.sort(key=lambda e: (e["success"], e["rule"]))
    return run


def _volume_checks(fh: FeedHealth, today: int, median: float, kind_of_day: str) -> list[dict]:
    """Silence, drop and jump of the day's volume against the median of comparable days."""
    n = fh.baseline_days
    out = []
    if median >= fh.silent_min_daily:
        out.append(
            _entry(
                "expect_source_not_silent",
                "feed_silent",
                None,
                today > 0,
                int(today == 0),
                today,
                f"来源未中断：近{n}日同类{kind_of_day}中位数{median:g}条，当日不应为0",
                today,
                median,
            )
        )
    if median >= fh.volume_min_daily:
        out.append(
            _entry(
                "expect_daily_volume_not_to_drop",
                "feed_volume_drop",
                None,
                today == 0 or today >= fh.volume_drop_ratio * median,
                int(0 < today < fh.volume_drop_ratio * median),
                today,
                f"当日数据量不低于近{n}日同类{kind_of_day}中位数的{fh.volume_drop_ratio:.0%}",
                today,
                median,
            )
        )
        out.append(
            _entry(
                "expect_daily_volume_not_to_jump",
                "feed_volume_jump",
                None,
                today <= fh.volume_jump_ratio * median,
                int(today > fh.volume_jump_ratio * median),
                today,
                f"当日数据量不超过近{n}日同类{kind_of_day}中位数的{fh.volume_jump_ratio:g}倍",
                today,
                median,
            )
        )
    return out


def _quarantine_rate_checks(
    fh: FeedHealth, day: date, vols: dict[date, Counter], history: list[date], received: dict[date, int]
) -> list[dict]:
    """The day's quarantined share against the baseline's, when both have enough records."""
    today = received[day]
    base_recv = sum(received[d] for d in history)
    if not (today >= fh.min_rows and base_recv >= fh.min_rows):
        return []
    base_q = sum(vols.get(d, Counter())["quarantined"] for d in history) / base_recv
    q_today = vols.get(day, Counter())["quarantined"]
    rate = q_today / today
    return [
        _entry(
            "expect_quarantine_rate_within_baseline",
            "quarantine_rate_jump",
            None,
            rate - base_q < fh.quarantine_rate_jump,
            q_today,
            today,
            f"隔离率较近{fh.baseline_days}日上升不超过{fh.quarantine_rate_jump:.0%}",
            round(rate, 4),
            round(base_q, 4),
        )
    ]


def _null_rate_checks(
    fh: FeedHealth, k: Kind, day: date, nulls: dict[date, tuple[int, dict[str, int]]], history: list[date]
) -> list[dict]:
    """Each column's null share of the day against the baseline's, when both have enough rows."""
    rows_today, nonnull_today = nulls.get(day, (0, {}))
    base_rows = sum(nulls[d][0] for d in history if d in nulls)
    if not (rows_today >= fh.min_rows and base_rows >= fh.min_rows):
        return []
    out = []
    for f in k.scalars:
        base_rate = 1 - sum(nulls[d][1][f.name] for d in history if d in nulls) / base_rows
        rate = 1 - nonnull_today[f.name] / rows_today
        out.append(
            _entry(
                "expect_column_null_rate_within_baseline",
                "null_rate_jump",
                f.name,
                rate - base_rate < fh.null_rate_jump,
                rows_today - nonnull_today[f.name],
                rows_today,
                f"{f.label}空值率较近{fh.baseline_days}日上升不超过{fh.null_rate_jump:.0%}",
                round(rate, 4),
                round(base_rate, 4),
            )
        )
    return out


def check_day(
    engine: Engine,
    day: date,
    *,
    systems: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    on_pair: Callable[[str, str], None] | None = None,
    vols: dict | None = None,
) -> list[dict]:
    """Run the day's suites and feed-health checks for every (source, kind) with data in
    the window; store ``quality_run`` rows; return one summary per pair. ``vols``: the
    window's :func:`volumes`, when the caller already read them."""
    wanted_systems = set(systems) if systems else None
    wanted_kinds = set(kinds) if kinds else None
    if vols is None:
        vols = volumes(engine, day - window_days(), day)
    is_workday = _workday_fn()
    env = env_for(engine)
    out = []
    for src, kind in sorted(vols):
        if (wanted_systems and src not in wanted_systems) or (wanted_kinds and kind not in wanted_kinds):
            continue
        if kind not in LIBRARY:
            continue
        suite = suite_for(kind)
        fh = suite.feed_health
        summary = {
            "source_system": src,
            "kind": kind,
            "day": day.isoformat(),
            "rows": 0,
            "suite_failed": [],
            "feed_failed": [],
        }
        records = day_records(engine, kind, src, day)
        if records:
            run = run_suite(suite, records, env)
            store_run(engine, run, "daily", src, day=day)
            summary["rows"], summary["suite_failed"] = run.rows, sorted(run.failed_rules())
        nulls = null_counts(engine, kind, src, day - timedelta(days=fh.baseline_days), day)
        feed = feed_health(suite, day, vols[(src, kind)], nulls, is_workday)
        store_run(engine, feed, "daily", src, day=day)
        summary["received"] = feed.rows
        summary["feed_failed"] = sorted(
            {f"{r['rule']}:{r['column']}" if r["column"] else r["rule"] for r in feed.results if not r["success"]}
        )
        if summary["suite_failed"] or summary["feed_failed"]:
            log.warning(
                "quality %s %s/%s: suite failed %s; feed health failed %s",
                day,
                src,
                kind,
                summary["suite_failed"],
                summary["feed_failed"],
            )
        out.append(summary)
        if on_pair:
            on_pair(src, kind)
    return out


def window_days() -> timedelta:
    """How far back the longest baseline of any suite reaches."""
    return timedelta(days=max(s.feed_health.baseline_days for s in suites().values()))
