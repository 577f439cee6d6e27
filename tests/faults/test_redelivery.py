"""Fault 5: the same message delivered many times — 50 copies of one message id on the
bus, consumed by two workers at once (so some copies are processed concurrently, racing
each other inside the database), plus another sent 10 times and a file of defective records sent 10 times. Each record is
stored once or quarantined once; every other copy of it is a duplicate."""

from __future__ import annotations

import time

from hub import bus
from hub.config import load_settings
from hub.stats import counts
from tests.faults.conftest import hub_env
from tests.faults.ledger import SYSTEM, account, check, make_messages, wait_settled

COPIES = {0: 10, 1: 50, 2: 10}


def test_same_message_delivered_many_times(rabbit_url, fault_db, fault_engine, tmp_path, workers):
    # a resent file of nothing but defective records first: with no key to collide on, only
    # the hub's own bookkeeping can keep two racing copies from quarantining a record twice
    messages = (make_messages("redeliver-bad", seed=502, n_messages=1, per_message=10, defect_rate=1.0)
                + make_messages("redeliver", seed=501, n_messages=2, per_message=40, defect_rate=0.15))
    # each worker holds its first batch's transaction open for a second: the first two copies
    # are then classified and written side by side, neither seeing the other's rows
    env = hub_env(tmp_path, fault_db, rabbit_url, GOVHUB_FAULT_PAUSE="before_commit:1:1")
    pair = [workers(env, tmp_path / f"worker-{k}.log") for k in (1, 2)]
    with bus.connect(load_settings(env)) as conn:
        bus.declare(conn)
        deadline = time.monotonic() + 90
        # both consuming before the first copy goes out, so the first copies race each other
        while bus.INBOUND_QUEUE(conn.default_channel).queue_declare(passive=True).consumer_count < 2:
            assert time.monotonic() < deadline and all(w.alive() for w in pair), [w.tail() for w in pair]
            time.sleep(0.2)
        for n, m in enumerate(messages):  # copies back to back: each worker takes one of the same message
            for _ in range(COPIES[n]):
                bus.publish_inbound(conn, m.body, SYSTEM, m.message_id, kind="case", fmt="xml")
    copies = sum(COPIES[n] * m.size for n, m in enumerate(messages))
    wait_settled(fault_engine, messages, timeout=120, worker=pair[0])
    deadline = time.monotonic() + 120
    while counts(fault_engine)["total"]["received"] < copies:  # every copy taken, not just the first
        assert time.monotonic() < deadline, f"only {counts(fault_engine)['total']} of {copies} records counted"
        assert all(w.alive() for w in pair), [w.tail() for w in pair]
        time.sleep(0.3)
    for w in pair:
        assert w.stop() == 0, w.tail()
    figures = account(fault_engine, messages, "redelivery", copies_sent=sum(COPIES.values()),
                      records_in_all_copies=copies, workers=2)
    check(figures)
    assert figures["received"] == copies, "every copy must be counted once: as stored, duplicate or quarantined"
    assert figures["duplicate"] == copies - figures["records_sent"]
