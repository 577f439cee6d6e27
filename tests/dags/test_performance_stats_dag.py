"""The performance_stats DAG runs to success and leaves the day figures of the cases it read."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from hub.domains.performance.refresh import GRACE
from hub.domains.performance.tables import perf_day, perf_watermark
from synth.perf_cases import DEPTS, case_row, put

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_performance_stats_dag_aggregates_the_changed_cases(run_dag, engine, clock):
    now = clock.now().replace(microsecond=0)
    applied = datetime(2026, 11, 2, 9, 30)
    with engine.begin() as conn:
        put(conn, "case", [case_row(i, DEPTS[i % 2], applied, now) for i in range(6)])
    proc = run_dag("performance_stats")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "state=success" in proc.stdout + proc.stderr, proc.stdout[-2000:]
    with engine.connect() as conn:
        assert conn.execute(select(func.sum(perf_day.c.received))).scalar() == 6
        mark = conn.execute(select(perf_watermark.c.read_at).where(perf_watermark.c.source == "case")).scalar()
        assert now - GRACE <= mark < now  # held back by the grace: a late commit is read next time
