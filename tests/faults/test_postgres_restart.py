"""Fault 3: the (private) PostgreSQL cluster is restarted while a worker is committing.

First a crash restart (``pg_ctl -m immediate``) while the worker holds a batch's
transaction open (it is paused at ``before_commit``, so the moment is certain); then a
clean restart at a random moment, with the database away for two seconds. The worker
must put the message back unacknowledged, back off, and go on with fresh connections
(the engine's pool pings before use) — in the same process, without a restart.
"""

from __future__ import annotations

import random
import time

from sqlalchemy import func, select

from hub.bus import topology as bus
from hub.core.config import load_settings
from hub.db.tables import lineage
from hub.ingest.partitions import publish_inbound
from tests.faults.conftest import hub_env
from tests.faults.ledger import SYSTEM, account, check, make_messages, wait_settled


def _rows(engine) -> int:
    for _ in range(50):  # the test's own pool also meets the restarted server
        try:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(lineage)).scalar_one()
        except Exception:  # noqa: BLE001 — still starting
            time.sleep(0.2)
    raise AssertionError("the private PostgreSQL did not come back")


def test_postgres_restarted_mid_batch(private_pg, rabbit_url, fault_db, fault_engine, tmp_path, workers):
    messages = make_messages("pg", seed=301, n_messages=30, per_message=25)
    marker = tmp_path / "in-transaction"
    env = hub_env(
        tmp_path, fault_db, rabbit_url, GOVHUB_FAULT_PAUSE="before_commit:3:1", GOVHUB_FAULT_MARKER=str(marker)
    )
    with bus.connect(load_settings(env)) as conn:
        bus.declare(conn)
        for m in messages:
            publish_inbound(conn, m.body, SYSTEM, m.message_id, kind="case", fmt="xml")
    worker = workers(env, tmp_path / "worker.log")
    t0 = time.monotonic()
    while not marker.exists():
        assert worker.alive(), worker.tail()
        assert time.monotonic() - t0 < 60, "the worker never reached a commit"
        time.sleep(0.05)
    first_at = time.monotonic() - t0
    private_pg.restart(mode="immediate")  # kills the backend holding the open transaction
    committed_before_second = _rows(fault_engine)
    while _rows(fault_engine) < committed_before_second + 50:  # it recovered and went on
        assert worker.alive(), worker.tail()
        assert time.monotonic() - t0 < 90, f"no progress after the first restart: {worker.tail()}"
        time.sleep(0.1)
    time.sleep(random.Random(3).uniform(0.0, 0.5))
    second_at = time.monotonic() - t0
    private_pg.restart(mode="fast", down_for=2.0)
    settle = wait_settled(fault_engine, messages, timeout=120, worker=worker)
    assert worker.alive(), "the worker must survive both restarts in the same process"
    assert worker.stop() == 0, worker.tail()
    log = worker.log.read_text(errors="replace")
    figures = account(
        fault_engine,
        messages,
        "postgres_restart",
        timing={
            "crash_restart_at_s": round(first_at, 1),
            "clean_restart_at_s": round(second_at, 1),
            "down_for_s": 2.0,
            "settled_after_s": round(settle, 1),
        },
        database_restarts=2,
        worker_processes=1,
        messages_put_back=log.count("database unavailable"),
    )
    check(figures)
    assert figures["messages_put_back"] >= 1, "the batch in the killed transaction must have been put back"
