"""Reliable outbound delivery to a real HTTP peer (the sandbox department system):
a peer that is down for a while receives every record once it is back, in order per
case, and the receipts say so; refusals become dead letters that replay can resend."""

from __future__ import annotations

import io
import time
from collections import Counter

import pytest
from sqlalchemy import select

from hub.db.tables import delivery
from hub.outbound.delivery import Deliverer, replay
from hub.wiring import standard_pipeline
from sandbox.dept_rest import DeptState, make_app
from sandbox.server import run_in_thread
from synth.generator import Generator
from tests.helpers import xml_doc

DEPT = "常熟市行政审批局"


@pytest.fixture
def peer(catalog, monkeypatch):
    state = DeptState()
    base, stop = run_in_thread(make_app(state, api_key="dept-key"))
    monkeypatch.setenv("DEPT_PEER_KEY", "dept-key")
    port = base.rsplit(":", 1)[1]
    catalog.add(
        {
            "id": "dept-peer",
            "name": "常熟市卫健委业务系统",
            "level": "department",
            "region_code": "320581",
            "endpoint": f"rest://127.0.0.1:{port}/api?push_path=/case&api_key_env=DEPT_PEER_KEY&retries=0&timeout=5",
        }
    )
    catalog.update("dept-a", report_to=["dept-peer"])
    yield state
    stop()


def statuses(engine) -> Counter:
    with engine.connect() as conn:
        return Counter(r[0] for r in conn.execute(select(delivery.c.status)))


def drain(d: Deliverer, clock, rounds: int = 60) -> None:
    for _ in range(rounds):
        d.run_once()
        if not statuses(d.engine)["pending"]:
            return
        clock.advance(seconds=0.05)  # past the next backoff, without waiting for it


def test_peer_down_for_a_while_gets_everything_once_in_order(engine, peer, clock):
    cases = [r for r, _ in Generator(seed=31, departments=[DEPT]).records("case", 30)]
    pipe = standard_pipeline(engine)
    peer.mode = "down"
    pipe.ingest(io.BytesIO(xml_doc(cases, message_id="d1")), "dept-a")
    d = Deliverer(engine, batch_size=10, base_backoff=0.02, max_backoff=0.1, breaker_threshold=1000)
    assert d.run_once() == Counter(retry=10)  # the oldest batch fails and holds back the rest
    changed = [dict(c, case_name=c.get("case_name", "") + "（补正）") for c in cases[:5]]
    pipe.ingest(io.BytesIO(xml_doc(changed, message_id="d2")), "dept-a")
    for _ in range(3):
        clock.advance(seconds=0.12)
        d.run_once()
    assert peer.received == [] and statuses(engine) == Counter(pending=30, superseded=5)
    peer.mode = "up"
    drain(d, clock)
    got = peer.case_numbers()
    assert sorted(got) == sorted(c["case_no"] for c in cases)  # every case, exactly once
    # in the order of their current versions: the five corrected cases went out last
    assert got == [c["case_no"] for c in cases[5:] + cases[:5]]
    by_no = {r["case_no"]: r for r in peer.received}
    assert all(by_no[c["case_no"]]["case_name"].endswith("（补正）") for c in changed)  # the current version
    s = statuses(engine)
    assert s == Counter(acknowledged=30, superseded=5)
    with engine.connect() as conn:
        refs = [r[0] for r in conn.execute(select(delivery.c.peer_ref).where(delivery.c.status == "acknowledged"))]
    assert all(ref and ref.startswith("ACK-") for ref in refs)
    d.close()


def test_resending_a_batch_after_a_crash_is_the_same_message(engine, peer):
    cases = [r for r, _ in Generator(seed=32, departments=[DEPT]).records("case", 4)]
    standard_pipeline(engine).ingest(io.BytesIO(xml_doc(cases, message_id="c1")), "dept-a")
    d = Deliverer(engine, batch_size=10)
    d.run_once()
    replay_ids = []
    with engine.begin() as conn:  # as if the hub died after sending, before recording the receipt
        conn.execute(delivery.update().values(status="pending", attempts=0))
        replay_ids = [r[0] for r in conn.execute(select(delivery.c.message_id))]
    d.run_once()
    assert len(set(replay_ids)) == 1 and peer.messages[replay_ids[0]] == 2
    assert len(peer.received) == 4  # the peer saw the same message id twice and kept it once
    d.close()


def test_refused_records_become_dead_letters_and_replay_sends_them(engine, peer):
    cases = [r for r, _ in Generator(seed=33, departments=[DEPT]).records("case", 3)]
    standard_pipeline(engine).ingest(io.BytesIO(xml_doc(cases, message_id="r1")), "dept-a")
    peer.mode = "refuse"
    d = Deliverer(engine, batch_size=10)
    assert d.run_once() == Counter(dead=3)  # refused as a batch, then one by one
    with engine.connect() as conn:
        errors = [r[0] for r in conn.execute(select(delivery.c.last_error))]
    assert all("HTTP 400" in e for e in errors)
    peer.mode = "up"
    assert replay(engine, peer="dept-peer") == 3
    d.run_once()
    assert statuses(engine) == Counter(acknowledged=3) and len(peer.received) == 3
    d.close()


def test_circuit_breaker_stops_calling_a_failing_peer(engine, peer):
    cases = [r for r, _ in Generator(seed=34, departments=[DEPT]).records("case", 2)]
    standard_pipeline(engine).ingest(io.BytesIO(xml_doc(cases, message_id="b1")), "dept-a")
    peer.mode = "down"
    d = Deliverer(engine, batch_size=10, base_backoff=0.0, breaker_threshold=3, breaker_cooldown=60)
    for _ in range(6):
        d.run_once()
    with engine.connect() as conn:
        attempts = {r[0] for r in conn.execute(select(delivery.c.attempts))}
    assert attempts == {3}  # three failures opened the circuit; later passes did not call the peer
    d.close()
