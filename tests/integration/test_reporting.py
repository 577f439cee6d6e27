"""Incremental reporting upward by watermark: resumes after an outage, sends nothing
twice on reruns or overlapping runs, and backfills a date range on request."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.core import clock
from hub.db.tables import report_watermark
from hub.outbound import reporting
from hub.outbound.delivery import Deliverer
from hub.wiring import standard_pipeline
from sandbox.dept_rest import DeptState, make_app
from sandbox.server import run_in_thread
from synth.generator import Generator
from tests.helpers import xml_doc

DEPT = "常熟市行政审批局"


@pytest.fixture
def province(catalog, monkeypatch):
    monkeypatch.setattr(reporting, "SETTLE", timedelta(0))
    state = DeptState()
    base, stop = run_in_thread(make_app(state, api_key="prov-in"))
    monkeypatch.setenv("PROV_INBOUND_KEY", "prov-in")
    catalog.update(
        "prov", endpoint=f"rest://{base.split('://')[1]}/api?push_path=/case&api_key_env=PROV_INBOUND_KEY&retries=0"
    )
    yield state
    stop()


def _push(engine, seed, n, mid):
    cases = [r for r, _ in Generator(seed=seed, departments=[DEPT]).records("case", n)]
    standard_pipeline(engine).ingest(io.BytesIO(xml_doc(cases, message_id=mid)), "dept-a")
    return cases


def _acked(engine):
    with engine.connect() as conn:
        return tuple(conn.execute(select(report_watermark.c.acknowledged_at, report_watermark.c.acknowledged_id)).one())


def test_watermark_resume_rerun_and_backfill(engine, province):
    first = _push(engine, 51, 20, "r1")
    d = Deliverer(engine, base_backoff=0.0, breaker_threshold=1000)
    run = reporting.run(engine, "prov", "case", d)
    assert run.queued == 20 and run.delivered == {"acknowledged": 20}
    assert sorted(province.case_numbers()) == sorted(c["case_no"] for c in first)
    acked = _acked(engine)
    assert acked[0] is not None

    again = reporting.run(engine, "prov", "case", d)  # a rerun: nothing new, nothing sent
    assert again.queued == 0 and not again.delivered and len(province.received) == 20

    province.mode = "down"  # outage: the run queues, fails to deliver, the acknowledged watermark stays
    second = _push(engine, 52, 10, "r2")
    during = reporting.run(engine, "prov", "case", d)
    assert during.queued == 10 and during.delivered == {"retry": 10}
    assert _acked(engine) == acked
    overlap = reporting.run(engine, "prov", "case", d)  # an overlapping run queues nothing twice
    assert overlap.queued == 0

    province.mode = "up"
    after = reporting.run(engine, "prov", "case", d)
    assert after.delivered == {"acknowledged": 10}
    got = province.case_numbers()
    assert len(got) == 30 and len(set(got)) == 30  # every case once
    assert got[20:] == [c["case_no"] for c in second]
    assert _acked(engine) > acked

    start = clock.now() - timedelta(days=1)
    assert reporting.backfill(engine, "prov", "case", start, clock.now() + timedelta(seconds=1)) == 30
    d.run_once("prov")
    assert len(province.received) == 60  # the backfill re-sent everything, as asked
    d.close()


def test_other_regions_are_not_reported(engine, province, catalog):
    catalog.update("prov", region_code="320200")  # the peer now covers 无锡 only
    _push(engine, 53, 5, "r3")
    assert reporting.run(engine, "prov", "case").queued == 0
