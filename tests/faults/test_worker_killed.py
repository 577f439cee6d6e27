"""Fault 2: a worker is SIGKILLed at random moments while it consumes a stream of
messages (twice), and started again; on RabbitMQ and on the embedded transport.

A kill can land anywhere: while decoding, inside a batch's transaction (rolled back),
between two batches of one message (the first committed: its redelivery turns those
records into duplicates), or after the commit and before the ack. Unacknowledged
messages come back (RabbitMQ: the connection dies with the process; embedded: the lease
runs out). Afterwards every record is stored once or quarantined, none lost or doubled.
"""

from __future__ import annotations

import random
import time

import pytest
from sqlalchemy import func, select

from hub.bus import topology as bus
from hub.core.config import load_settings
from hub.db.tables import lineage
from hub.ingest.partitions import publish_inbound
from tests.faults.conftest import hub_env
from tests.faults.ledger import SYSTEM, account, check, make_messages, wait_settled

KILLS = 2


def _outcomes(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(lineage)).scalar_one()


@pytest.mark.parametrize("transport", ["rabbitmq", "embedded"])
def test_worker_sigkilled_mid_batch(transport, request, fault_db, fault_engine, tmp_path, workers):
    broker = (
        request.getfixturevalue("rabbit_url") if transport == "rabbitmq" else f"govhub+sqlite:///{tmp_path / 'bus.db'}"
    )
    messages = make_messages(f"kill-{transport}", seed=201, n_messages=30, per_message=25)
    env = hub_env(tmp_path, fault_db, broker)
    with bus.connect(load_settings(env)) as conn:
        bus.declare(conn)
        for m in messages:
            publish_inbound(conn, m.body, SYSTEM, m.message_id, kind="case", fmt="xml")
    rng = random.Random(2026)
    kills = []
    t0 = time.monotonic()
    for k in range(KILLS):
        before = _outcomes(fault_engine)
        w = workers(env, tmp_path / f"worker-{k}.log")
        while _outcomes(fault_engine) <= before:  # let it get going, then kill it at a random moment
            assert w.alive(), w.tail()
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.6))
        w.kill()
        kills.append({"at_s": round(time.monotonic() - t0, 2), "lineage_rows_then": _outcomes(fault_engine)})
    final = workers(env, tmp_path / "worker-final.log")
    settle = wait_settled(fault_engine, messages, timeout=120, worker=final)
    time.sleep(2.5)  # a redelivery still in flight (an embedded lease running out) is counted too
    assert final.stop() == 0, final.tail()
    figures = account(
        fault_engine,
        messages,
        f"worker_sigkill_{transport}",
        kills=kills,
        timing={"settled_after_last_kill_s": round(settle, 1)},
    )
    check(figures)
