"""Fault 5: the same message delivered many times — 50 copies of one message id on the
bus, another sent 10 times, and a file of defective records sent 10 times, consumed by two
workers at once (so copies are processed concurrently, racing each other inside the
database); on PostgreSQL + RabbitMQ and on SQLite + the embedded transport. Each record
is stored once or quarantined once; every other copy of it is a duplicate."""

from __future__ import annotations

import time

import pytest

from hub.bus import topology as bus
from hub.core.config import load_settings
from hub.db.engine import engine_for, migrate
from hub.ingest.partitions import publish_inbound
from hub.ops.stats import counts
from tests.faults.conftest import hub_env
from tests.faults.ledger import SYSTEM, account, check, make_messages, wait_settled

COPIES = {0: 10, 1: 50, 2: 10}


@pytest.mark.parametrize("backend", ["postgresql+rabbitmq", "sqlite+embedded"])
def test_same_message_delivered_many_times(backend, request, tmp_path, workers):
    if backend == "postgresql+rabbitmq":
        db_url, broker = request.getfixturevalue("fault_db"), request.getfixturevalue("rabbit_url")
    else:
        db_url, broker = f"sqlite:///{tmp_path / 'hub.db'}", f"govhub+sqlite:///{tmp_path / 'bus.db'}"
        migrate(db_url)
    fault_engine = engine_for(db_url)
    # a resent file of nothing but defective records first: with no key to collide on, only
    # the hub's own bookkeeping can keep two racing copies from quarantining a record twice
    messages = make_messages("redeliver-bad", seed=502, n_messages=1, per_message=10, defect_rate=1.0) + make_messages(
        "redeliver", seed=501, n_messages=2, per_message=40, defect_rate=0.15
    )
    # each worker holds its first batch's transaction open for a second: the first two copies
    # are then classified and written side by side, neither seeing the other's rows
    env = hub_env(tmp_path, db_url, broker, GOVHUB_FAULT_PAUSE="before_commit:1:1")
    pair = [workers(env, tmp_path / f"worker-{k}.log") for k in (1, 2)]
    with bus.connect(load_settings(env)) as conn:
        bus.declare(conn)
        deadline = time.monotonic() + 90
        # both consuming before the first copy goes out, so the first copies race each other
        while not _both_consuming(conn, pair, backend):
            assert time.monotonic() < deadline and all(w.alive() for w in pair), [w.tail() for w in pair]
            time.sleep(0.2)
        for n, m in enumerate(messages):  # copies back to back: each worker takes one of the same message
            for _ in range(COPIES[n]):
                publish_inbound(conn, m.body, SYSTEM, m.message_id, kind="case", fmt="xml")
    copies = sum(COPIES[n] * m.size for n, m in enumerate(messages))
    wait_settled(fault_engine, messages, timeout=120, worker=pair[0])
    deadline = time.monotonic() + 120
    while counts(fault_engine)["total"]["received"] < copies:  # every copy taken, not just the first
        assert time.monotonic() < deadline, f"only {counts(fault_engine)['total']} of {copies} records counted"
        assert all(w.alive() for w in pair), [w.tail() for w in pair]
        time.sleep(0.3)
    for w in pair:
        assert w.stop() == 0, w.tail()
    figures = account(
        fault_engine,
        messages,
        f"redelivery_{backend.split('+')[0]}",
        copies_sent=sum(COPIES.values()),
        records_in_all_copies=copies,
        workers=2,
        backend=backend,
    )
    check(figures)
    # every copy counted; the embedded transport may hand a copy out once more when its lease
    # runs out while a worker waits for the write lock (at-least-once): that too is a duplicate
    assert figures["received"] >= copies and figures["duplicate"] == figures["received"] - figures["records_sent"]
    if backend == "postgresql+rabbitmq":
        assert figures["received"] == copies


def _both_consuming(conn, pair, backend) -> bool:
    if backend == "postgresql+rabbitmq":
        # every worker subscribes to govhub.workers (how they share the partitions)
        return bus.WORKERS_QUEUE(conn.default_channel).queue_declare(passive=True).consumer_count >= 2
    # the embedded transport cannot tell: each worker says so on its first line
    return all("worker consuming" in w.tail() for w in pair)
