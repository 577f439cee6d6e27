"""``make bench-stats``: how long the performance refresh (绩效统计, ``performance_stats``
DAG) takes for one day's changes, at two library sizes side by side, on a fresh
PostgreSQL database per size (created and dropped here).

For each size: the library is filled with N cases, about 260 a day of history (a bigger
library is a longer history, ``synth.perf_cases``),
the first refresh computes everything (timed, for reference), then one day's worth of
changes lands — D cases applied that day plus D/100 late corrections to earlier cases — and
the incremental refresh is timed, with the process's peak memory. The day's cost must
not grow with the library: the two rows should read alike.

    python -m bench.stats_bench --sizes 100000,300000 --day-cases 5000 [--db postgresql://…]
"""

from __future__ import annotations

import json
import random
import resource
import time
from datetime import date, datetime, timedelta

import click
from sqlalchemy import func, select, update

from bench.__main__ import _database as fresh_database
from hub.core.config import ROOT
from hub.db.engine import engine_for, migrate
from hub.db.tables import LIBRARY
from hub.domains.performance import refresh
from hub.domains.performance.tables import perf_day
from synth.perf_cases import put, random_cases

DAY = date(2026, 11, 20)
PER_DAY = 260  # library cases per day of history: a bigger library is a longer history
NOW = datetime(2026, 11, 21, 1, 0)


def _fill(engine, n: int, rng: random.Random) -> None:
    days = max(1, n // PER_DAY)
    first = DAY - timedelta(days=days + 15)
    for start in range(0, n, 5000):
        rows = random_cases(rng, first, days, min(5000, n - start), NOW - timedelta(days=2), start_no=start)
        with engine.begin() as conn:
            put(conn, "case", rows)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(url: str, size: int, day_cases: int, seed: int) -> dict:
    migrate(url)
    engine = engine_for(url)
    rng = random.Random(seed)
    t0 = time.perf_counter()
    _fill(engine, size, rng)
    filled = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = refresh.refresh(engine, now=NOW - timedelta(days=1))
    full_s = time.perf_counter() - t0
    # the day: new cases applied on DAY, and late corrections of earlier cases
    day_rows = random_cases(rng, DAY, 1, day_cases, NOW, start_no=10_000_000)
    t = LIBRARY["case"]
    with engine.begin() as conn:
        put(conn, "case", day_rows)
        ids = [i for (i,) in conn.execute(select(t.c.id).where(t.c.status == "办结").limit(day_cases // 100))]
        conn.execute(update(t).where(t.c.id.in_(ids)).values(result_type="撤回", updated_at=NOW, version=2))
    before = _peak_mb()
    t0 = time.perf_counter()
    day = refresh.refresh(engine, now=NOW + timedelta(minutes=15))
    day_s = time.perf_counter() - t0
    with engine.connect() as conn:
        rows_day = conn.execute(select(func.count()).select_from(perf_day).where(perf_day.c.day == DAY)).scalar_one()
        rows_all = conn.execute(select(func.count()).select_from(perf_day)).scalar_one()
    engine.dispose()
    return {
        "library_cases": size,
        "fill_s": round(filled, 1),
        "full_refresh_s": round(full_s, 1),
        "full_refresh_days": len(full["days"]),
        "day_changes": day_cases + len(ids),
        "day_refresh_s": round(day_s, 2),
        "day_refresh_cases_read": day["cases"],
        "day_refresh_days": len(day["days"]),
        "perf_day_rows_of_the_day": rows_day,
        "perf_day_rows": rows_all,
        "peak_rss_mb": round(max(before, _peak_mb()), 1),
    }


@click.command()
@click.option("--sizes", default="100000,300000", show_default=True, help="library sizes, comma-separated")
@click.option("--day-cases", default=5000, show_default=True, help="cases applied on the measured day")
@click.option("--db", "admin_url", default="postgresql://postgres@127.0.0.1:5432/postgres", show_default=True)
@click.option("--seed", default=14, show_default=True)
def main(sizes: str, day_cases: int, admin_url: str, seed: int) -> None:
    results = []
    for size in (int(s) for s in sizes.split(",")):
        url, drop = fresh_database(admin_url)
        try:
            results.append(measure(url, size, day_cases, seed))
        finally:
            drop()
        r = results[-1]
        click.echo(
            f"library {r['library_cases']:>9,} cases | full refresh {r['full_refresh_s']:>7.1f}s "
            f"({r['full_refresh_days']} days) | one day: {r['day_changes']:,} changes → "
            f"{r['day_refresh_s']:.2f}s, {r['day_refresh_days']} days re-aggregated, "
            f"{r['perf_day_rows_of_the_day']:,} rows for the day | peak RSS {r['peak_rss_mb']:.0f} MB"
        )
    out = ROOT / "var" / "bench-stats.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    click.echo(f"wrote {out}")


if __name__ == "__main__":
    main()
