"""Fault 4: a peer answering with 500s for a while, then slowly (beyond the client's
timeout, while it does process the request), then normally — outbound delivery of the
stored cases to a sandbox department system over REST.

What the peer sees is at-least-once: a request that timed out on our side may have been
processed on its side, so the same batch (same ``X-Message-Id``) arrives again and the
peer keeps it once. What the hub records is exactly once: one delivery row per record,
acknowledged once, with the peer's receipt id; the records arrive in order.
"""

from __future__ import annotations

import io
import time
from collections import Counter

import pytest
from sqlalchemy import select

from hub.db.tables import delivery
from hub.outbound.delivery import Deliverer
from hub.wiring import standard_pipeline
from sandbox.dept_rest import DeptState, make_app
from sandbox.server import run_in_thread
from tests.faults.ledger import account, check, make_messages
from tests.integration.conftest import catalog

SYSTEM = "dept-a"  # the test catalogue's 常熟市行政审批局 system, which reports to the peer
CLIENT_TIMEOUT = 1.0


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
            "endpoint": f"rest://127.0.0.1:{port}/api?push_path=/case&api_key_env=DEPT_PEER_KEY&retries=0"
            f"&timeout={CLIENT_TIMEOUT}",
        }
    )
    catalog.update("dept-a", report_to=["dept-peer"])
    yield state
    stop()


def _statuses(engine) -> Counter:
    with engine.connect() as conn:
        return Counter(r[0] for r in conn.execute(select(delivery.c.status)))


def _passes(d: Deliverer, seconds: float) -> int:
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        d.run_once()
        n += 1
        time.sleep(0.05)
    return n


def test_peer_answering_500s_then_slowly(peer, fault_engine):
    messages = make_messages("slow", seed=401, n_messages=3, per_message=20)
    pipe = standard_pipeline(fault_engine)
    for m in messages:
        pipe.ingest(io.BytesIO(m.body), SYSTEM, message_id=m.message_id)
    inbound = account(fault_engine, messages, "slow_peer", system=SYSTEM)
    expected = [k for m in messages for seq, k in enumerate(m.keys, 1) if seq not in m.defective]
    # back-off shrunk to test speed, so the attempt budget is raised to match (the default 8
    # attempts at 1 s doubling cover minutes, not a 1.5 s outage at 0.05 s)
    d = Deliverer(
        fault_engine,
        batch_size=10,
        base_backoff=0.05,
        max_backoff=0.2,
        max_attempts=100,
        breaker_threshold=3,
        breaker_cooldown=0.3,
    )
    peer.mode = "error"
    passes_500 = _passes(d, 1.5)
    assert peer.received == [] and _statuses(fault_engine)["acknowledged"] == 0
    peer.mode, peer.delay = "up", CLIENT_TIMEOUT + 0.5  # processes each request, but too late for us
    passes_slow = _passes(d, 4.0)
    peer.delay = 0.0
    for _ in range(200):
        d.run_once()
        if not _statuses(fault_engine)["pending"]:
            break
        time.sleep(0.05)
    d.close()
    with fault_engine.connect() as conn:
        rows = conn.execute(
            select(
                delivery.c.record_key,
                delivery.c.status,
                delivery.c.attempts,
                delivery.c.peer_ref,
                delivery.c.message_id,
            ).order_by(delivery.c.id)
        ).all()
    seen_twice = {mid: n for mid, n in peer.messages.items() if n > 1}
    figures = {
        **inbound,
        "delivery": {
            "records_to_deliver": len(expected),
            "acknowledged": _statuses(fault_engine)["acknowledged"],
            "statuses": dict(_statuses(fault_engine)),
            "peer_kept": len(peer.received),
            "peer_kept_distinct": len(set(peer.case_numbers())),
            "peer_requests_per_batch": dict(Counter(peer.messages.values())),
            "batches_the_peer_saw_more_than_once": len(seen_twice),
            "attempts_total": sum(r.attempts for r in rows),
            "passes_500": passes_500,
            "passes_slow": passes_slow,
            "client_timeout_s": CLIENT_TIMEOUT,
            "peer_delay_s": CLIENT_TIMEOUT + 0.5,
        },
    }
    check(figures)
    # exactly once, in order, at the peer; one acknowledged receipt per record at the hub
    assert peer.case_numbers() == expected
    assert [r.record_key for r in rows] == expected and all(r.status == "acknowledged" for r in rows)
    assert all(r.peer_ref == f"ACK-{r.message_id}" for r in rows)
    # the slow answers were processed by the peer and sent again: at-least-once on the wire
    assert seen_twice, "a timed-out request that the peer processed must have been sent again"
