"""Daily reconciliation (对账) against the sandbox sharing platform on a real port: cases
reported upward are compared per item and day with what the platform holds; a lost case
and an unexpected one become discrepancy rows, once, and resolve when fixed."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from hub.core import clock
from hub.db.tables import metadata
from hub.outbound import reporting
from hub.outbound.reconcile import reconcile, reconcile_discrepancy
from hub.wiring import standard_pipeline
from sandbox.server import run_in_thread
from sandbox.sharing_rest import SharingState, make_app
from synth.generator import Generator
from tests.helpers import xml_doc

PEER = "sz-sharing"
DAY = clock.now().date() - timedelta(days=40)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@pytest.fixture
def platform(engine, catalog, monkeypatch):
    metadata.create_all(engine, tables=[reconcile_discrepancy])
    monkeypatch.setattr(reporting, "SETTLE", timedelta(0))
    monkeypatch.setenv("SHARING_TEST_KEY", "sharing-key")
    state = SharingState()
    base, stop = run_in_thread(make_app(state))
    catalog.add(
        {
            "id": PEER,
            "name": "苏州市政务数据共享平台（沙箱）",
            "level": "city",
            "region_code": "320500",
            "endpoint": f"rest://{base.split('://')[1]}/api?push_path=/case&pull_path=/updates"
            f"&api_key_env=SHARING_TEST_KEY&retries=0",
        }
    )
    yield state
    stop()


def _shifted(value, delta: timedelta):
    """Every time in a case moved by ``delta`` (the case's own order is kept)."""
    if isinstance(value, dict):
        return {k: _shifted(v, delta) for k, v in value.items()}
    if isinstance(value, list):
        return [_shifted(v, delta) for v in value]
    if isinstance(value, str) and _DATETIME.match(value):
        return (datetime.fromisoformat(value) + delta).strftime("%Y-%m-%d %H:%M:%S")
    return value


def _cases_on(day: date, seed: int, n: int) -> list[dict]:
    out = []
    for rec, _ in Generator(seed=seed, departments=["常熟市行政审批局"]).records("case", n):
        out.append(_shifted(rec, timedelta(days=(day - date.fromisoformat(rec["apply_time"][:10])).days)))
    return out


def _discrepancies(engine) -> list[dict]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(select(reconcile_discrepancy).order_by(reconcile_discrepancy.c.item_code)).mappings()
        ]


def test_reconcile_finds_missing_and_unexpected_cases_once(engine, platform):
    cases = _cases_on(DAY, seed=81, n=12) + _cases_on(DAY - timedelta(days=1), seed=82, n=3)
    standard_pipeline(engine).ingest(io.BytesIO(xml_doc(cases, message_id="rc-1")), "dept-a")
    assert reporting.run(engine, PEER, "case").delivered == {"acknowledged": 15}
    per_item = Counter(c["item_code"] for c in cases[:12])
    assert len(per_item) == 2

    agreed = reconcile(engine, PEER, DAY)
    assert agreed == {"items": 2, "matched": 2, "mismatched": 0, "opened": 0, "resolved": 0, "ours": 12, "theirs": 12}
    assert reconcile(engine, PEER, DAY - timedelta(days=2))["items"] == 0
    assert _discrepancies(engine) == []

    # the platform lost one case of the first item and holds one of the second we never sent
    first, second = sorted(per_item)
    lost = next(c for c in cases[:12] if c["item_code"] == first)
    stray = {**next(c for c in cases[:12] if c["item_code"] == second), "case_no": "SHR-UNKNOWN-0001"}
    platform.forget(lost["case_no"])
    platform.hold(stray)
    found = reconcile(engine, PEER, DAY)
    assert found == {"items": 2, "matched": 0, "mismatched": 2, "opened": 2, "resolved": 0, "ours": 12, "theirs": 12}
    rows = _discrepancies(engine)
    assert [
        (r["item_code"], r["ours_count"], r["theirs_count"], r["missing_sample"], r["extra_sample"], r["status"])
        for r in rows
    ] == [
        (first, per_item[first], per_item[first] - 1, [lost["case_no"]], [], "open"),
        (second, per_item[second], per_item[second] + 1, [], ["SHR-UNKNOWN-0001"], "open"),
    ]
    assert all(r["ours_digest"] != r["theirs_digest"] and r["day"] == DAY for r in rows)

    again = reconcile(engine, PEER, DAY)  # a rerun updates the same rows
    assert again["mismatched"] == 2 and again["opened"] == 0
    assert [(r["id"], r["detected_at"]) for r in _discrepancies(engine)] == [(r["id"], r["detected_at"]) for r in rows]

    # one of the two is fixed: its row resolves, the other stays open
    platform.hold(lost)
    fixed = reconcile(engine, PEER, DAY)
    assert fixed["mismatched"] == 1 and fixed["resolved"] == 1
    assert [r["status"] for r in _discrepancies(engine)] == ["resolved", "open"]


def test_undelivered_cases_are_not_ours(engine, platform):
    cases = _cases_on(DAY, seed=83, n=4)
    standard_pipeline(engine).ingest(io.BytesIO(xml_doc(cases, message_id="rc-2")), "dept-a")
    platform.mode = "down"  # queued, not delivered: the platform does not hold them, and we do not claim it should
    assert reporting.run(engine, PEER, "case").delivered == {"retry": 4}
    platform.mode = "up"
    assert reconcile(engine, PEER, DAY) == {
        "items": 0,
        "matched": 0,
        "mismatched": 0,
        "opened": 0,
        "resolved": 0,
        "ours": 0,
        "theirs": 0,
    }
