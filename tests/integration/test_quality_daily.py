"""Day-level checks (hub/quality/daily.py) on 30 days of history built from lineage and
library rows: a source that goes silent, a column whose null rate jumps and a jump in
quarantined records are flagged; an ordinary day is not; reruns replace their rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from hub.db.tables import lineage
from hub.quality.daily import check_day
from hub.quality.models import quality_run
from synth.generator import Generator
from tests.integration.test_quality_batch import put_library

pytestmark = pytest.mark.slow

DAY = date(2026, 3, 2)
PER_DAY = 120  # a department that normally sends over a hundred cases a day


def _lineage(engine, day: date, keys: list[str], outcome: str = "stored", source: str = "dept-a") -> None:
    at = datetime.combine(day, datetime.min.time()) + timedelta(hours=10)
    with engine.begin() as conn:
        conn.execute(
            insert(lineage),
            [
                {
                    "source_system": source,
                    "kind": "case",
                    "message_id": f"m-{day}-{outcome}",
                    "seq": i + 1,
                    "record_key": key,
                    "received_at": at,
                    "payload_hash": f"p{i}",
                    "mapping": "canonical/xml",
                    "schema_version": "case/1",
                    "outcome": outcome,
                    "detail": "new" if outcome == "stored" else "field_enum",
                }
                for i, key in enumerate(keys)
            ],
        )


def _day_of_cases(engine, g: Generator, day: date, n: int = PER_DAY, drop: str | None = None) -> None:
    cases = [g.case() for _ in range(n)]
    for c in cases:
        if drop:
            c.pop(drop, None)
    put_library(
        engine, "case", cases, source="dept-a", at=datetime.combine(day, datetime.min.time()) + timedelta(hours=10)
    )
    _lineage(engine, day, [c["case_no"] for c in cases])


@pytest.fixture
def history(engine):
    g = Generator(seed=201, departments=["常熟市行政审批局"])
    put_library(engine, "item", [g.item() for _ in range(len(g._dept_items))], source="prov")
    for back in range(30, 0, -1):
        _day_of_cases(engine, g, DAY - timedelta(days=back))
    return g


def _feed(engine, day: date) -> dict:
    with engine.connect() as conn:
        row = conn.execute(
            select(quality_run).where(
                quality_run.c.day == day, quality_run.c.suite == "feed_health", quality_run.c.source_system == "dept-a"
            )
        ).one()
    return dict(row._mapping)


def test_a_silent_source_is_flagged_and_an_ordinary_day_is_not(engine, history):
    [ordinary] = check_day(engine, DAY - timedelta(days=1), kinds=["case"])
    assert ordinary["feed_failed"] == [] and ordinary["suite_failed"] == [] and ordinary["rows"] == PER_DAY
    feed = _feed(engine, DAY - timedelta(days=1))
    assert feed["success"] and {r["rule"] for r in feed["results"]} >= {
        "feed_silent",
        "feed_volume_drop",
        "null_rate_jump",
    }

    [silent] = check_day(engine, DAY, kinds=["case"])
    assert silent["feed_failed"] == ["feed_silent"] and silent["rows"] == 0
    feed = _feed(engine, DAY)
    assert not feed["success"] and feed["rows"] == 0
    entry = next(r for r in feed["results"] if r["rule"] == "feed_silent")
    assert not entry["success"] and entry["observed_value"] == 0 and entry["baseline"] == PER_DAY and entry["label_zh"]
    with engine.connect() as conn:  # no suite row for a day without records
        assert (
            conn.execute(
                select(func.count())
                .select_from(quality_run)
                .where(quality_run.c.day == DAY, quality_run.c.suite == "case")
            ).scalar_one()
            == 0
        )


def test_a_null_rate_jump_and_a_quarantine_jump_are_flagged(engine, history):
    _day_of_cases(engine, history, DAY, drop="item_name")
    _lineage(engine, DAY, [f"bad-{i}" for i in range(60)], outcome="quarantined")
    [s] = check_day(engine, DAY, kinds=["case"])
    assert s["feed_failed"] == ["null_rate_jump:item_name", "quarantine_rate_jump"]
    assert s["suite_failed"] == []  # item_name is optional: only the day-over-day comparison sees it
    feed = _feed(engine, DAY)
    jump = next(r for r in feed["results"] if r["rule"] == "null_rate_jump" and not r["success"])
    assert jump["column"] == "item_name" and jump["observed_value"] == 1.0 and jump["baseline"] == 0.0
    assert jump["unexpected_count"] == PER_DAY and jump["element_count"] == PER_DAY

    check_day(engine, DAY, kinds=["case"])  # a rerun replaces, it does not add
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(quality_run).where(quality_run.c.day == DAY)).scalar_one()
            == 2
        )
