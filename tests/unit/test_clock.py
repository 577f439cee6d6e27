"""hub.core.clock: the wall clock in CST by default; frozen and ticking clocks for tests;
GOVHUB_CLOCK for a child process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from hub.core import clock
from hub.core.config import ROOT


def test_the_wall_clock_is_naive_cst():
    with clock.using(clock.SYSTEM):
        assert clock.is_system() and clock.environ() == {}
        wall = datetime.now(UTC).astimezone(clock.CST).replace(tzinfo=None)
        assert clock.now().tzinfo is None and abs(clock.now() - wall) < timedelta(seconds=5)


def test_a_frozen_clock_moves_only_when_told():
    c = clock.FrozenClock("2026-11-22T10:00:00")
    with clock.using(c):
        assert not clock.is_system()
        assert clock.now() == datetime(2026, 11, 22, 10) and clock.today() == date(2026, 11, 22)
        c.advance(seconds=1.5)
        assert clock.now() == datetime(2026, 11, 22, 10, 0, 1, 500000)
        c.advance(timedelta(days=1), hours=1)
        assert clock.now() == datetime(2026, 11, 23, 11, 0, 1, 500000)
        c.set(date(2025, 1, 1))
        assert clock.now() == datetime(2025, 1, 1)
        c.set(datetime(2025, 1, 1, 2, tzinfo=UTC))  # aware: converted to CST
        assert clock.now() == datetime(2025, 1, 1, 10)


def test_a_ticking_clock_runs_on_from_its_start():
    c = clock.TickingClock(datetime(2027, 12, 31, 23, 59, 59))
    with clock.using(c):
        first = clock.now()
        time.sleep(0.05)
        assert first < clock.now() < datetime(2027, 12, 31, 23, 59, 59) + timedelta(seconds=5)
        c.advance(seconds=2)
        assert clock.today() == date(2028, 1, 1)


def test_using_puts_the_previous_clock_back():
    before = clock.current()
    with pytest.raises(RuntimeError), clock.using(clock.FrozenClock("2025-01-01")):
        raise RuntimeError
    assert clock.current() is before


def test_govhub_clock_parses_and_rejects():
    assert clock.parse_env(None) is None and clock.parse_env(" ") is None
    started = clock.parse_env("2026-11-22T10:00:00").now()
    assert timedelta(0) <= started - datetime(2026, 11, 22, 10) < timedelta(seconds=5)
    # TIME@UNIX: that time at that instant, so 30 s later it reads 30 s on
    anchored = clock.parse_env("2026-11-22T10:00:00@1000", wall=1030.0).now()
    assert timedelta(seconds=30) <= anchored - datetime(2026, 11, 22, 10) < timedelta(seconds=35)
    with pytest.raises(ValueError, match="GOVHUB_CLOCK"):
        clock.parse_env("next tuesday")


def test_a_child_process_reads_the_time_this_process_reads():
    c = clock.FrozenClock("2025-01-01T10:00:00")
    with clock.using(c):
        env = {**os.environ, "PYTHONPATH": str(ROOT), **clock.environ()}
    code = "from hub.core import clock; print(clock.now().isoformat())"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    child = datetime.fromisoformat(out.stdout.strip())
    assert timedelta(0) <= child - datetime(2025, 1, 1, 10) < timedelta(seconds=30)


def test_a_dag_run_checks_the_day_before_its_data_interval_ends():
    from types import SimpleNamespace

    from hub.ops.airflow_support import run_day, run_time

    utc = UTC
    # Airflow 3's cron timetable: the interval is the scheduled instant (00:00 UTC = 08:00 CST)
    scheduled = datetime(2026, 12, 4, 0, 0, tzinfo=utc)
    ctx = {"data_interval_start": scheduled, "data_interval_end": scheduled, "logical_date": scheduled}
    assert run_time(ctx) == datetime(2026, 12, 4, 8) and run_day(ctx, days_back=1) == date(2026, 12, 3)
    # an interval timetable: [03 00:00, 04 00:00) UTC, due when it closes
    ctx = {
        "data_interval_start": scheduled - timedelta(days=1),
        "data_interval_end": scheduled,
        "logical_date": scheduled - timedelta(days=1),
    }
    assert run_day(ctx, days_back=1) == date(2026, 12, 3)
    # 17:00 UTC is already the next day in CST
    assert run_day({"logical_date": datetime(2025, 1, 1, 17, tzinfo=utc)}) == date(2025, 1, 2)
    # a manual run without a logical date: its run_after; none at all: the hub clock
    assert run_day({"dag_run": SimpleNamespace(run_after=datetime(2027, 12, 31, 1, tzinfo=utc))}, 1) == date(
        2027, 12, 30
    )
    with clock.using(clock.FrozenClock("2025-01-01T10:00:00")):
        assert run_day({"logical_date": None}, days_back=1) == date(2024, 12, 31)
