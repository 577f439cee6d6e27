"""The bus and the worker, on the embedded transport and on RabbitMQ, each over SQLite
and PostgreSQL: acknowledged only after commit, nothing lost when a worker is killed,
unusable messages dead-lettered into the quarantine, events relayed from the outbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from kombu import Consumer

from hub.bus import topology as bus
from hub.core.config import ROOT
from hub.ingest.partitions import publish_inbound, split
from hub.worker.process import Worker
from synth.generator import Generator
from tests.helpers import library_count, outcomes, quarantine_rows, xml_doc


def _cases(seed: int, n: int):
    # cs-approval's own cases: the worker quarantines another department's
    return [r for r, _ in Generator(seed=seed, departments=["常熟市行政审批局"]).records("case", n)]


def _publish(settings, docs: list[tuple[bytes, str]], system="cs-approval", **kw):
    with bus.connect(settings) as conn:
        bus.declare(conn)
        for body, mid in docs:
            publish_inbound(conn, body, system, mid, **kw)


def test_worker_stores_messages_and_relays_events(settings, engine):
    with bus.connect(settings) as conn:
        bus.declare(conn)
        tap = bus.subscriber_queue("govhub.test.case-events", "case.#")
        tap(conn.default_channel).declare()
        tap(conn.default_channel).purge()
    docs = [(xml_doc(_cases(s, 50), message_id=f"w-{s}"), f"w-{s}") for s in (1, 2, 3)]
    _publish(settings, docs)
    handled = Worker(settings, engine).run(idle_exit=1.5)
    assert handled == Counter(stored=150)
    assert library_count(engine, "case") == 150
    events = []
    with bus.connect(settings) as conn:
        with Consumer(
            conn.channel(), queues=[tap], callbacks=[lambda body, m: (events.append(body), m.ack())], accept=["json"]
        ):
            deadline = time.monotonic() + 10
            while len(events) < 150 and time.monotonic() < deadline:
                try:
                    conn.drain_events(timeout=0.5)
                except TimeoutError:
                    pass
        tap(conn.channel()).delete()
    assert len(events) == 150
    assert {e["event"] for e in events} == {"created"} and all(e["kind"] == "case" for e in events)


def test_redelivered_message_changes_nothing(settings, engine):
    body = xml_doc(_cases(4, 30), message_id="dup-1")
    _publish(settings, [(body, "dup-1"), (body, "dup-1")])
    handled = Worker(settings, engine).run(idle_exit=1.5)
    assert handled == Counter(stored=30, duplicate=30)
    assert library_count(engine, "case") == 30


def test_unusable_message_is_dead_lettered_into_quarantine(settings, engine):
    _publish(settings, [(b"<cases/>", "bad-1")], system="no-such-system")
    Worker(settings, engine).run(idle_exit=1.5)
    (row,) = quarantine_rows(engine)
    assert row["reason"] == "message_invalid" and "no-such-system" in row["message"] and row["payload"] == "<cases/>"
    assert outcomes(engine) == {"quarantined": 1}
    with bus.connect(settings) as conn:
        assert all(
            q(conn.default_channel).queue_declare(passive=True).message_count == 0 for q in bus.inbound_queues(conn)
        )
        dead = bus.DEAD_QUEUE(conn.channel()).get(no_ack=True)
    assert dead is not None and dead.headers["x-govhub-reason"] == "message_invalid"
    assert dead.body == b"<cases/>" and "no-such-system" in dead.headers["x-govhub-error"]


def _worker_process(settings_env: dict, pause: str, marker: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        **settings_env,
        "GOVHUB_FAULT_PAUSE": f"{pause}:60",
        "GOVHUB_FAULT_MARKER": str(marker),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _kill_at_marker(proc: subprocess.Popen, marker: Path) -> None:
    deadline = time.monotonic() + 60
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker exited early: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the worker never reached the fault point")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize("pause,expect_first_commit", [("before_commit", False), ("before_ack", True)])
def test_worker_killed_mid_message_loses_nothing(settings_env, settings, engine, tmp_path, pause, expect_first_commit):
    cases = _cases(5, 40)
    body = xml_doc(cases, message_id="kill-1")
    _publish(settings, [(body, "kill-1")])
    # on RabbitMQ the message travels as one part per partition (hub.ingest.partitions); the
    # worker is killed in the first part it takes, so "all of it" means all of that part
    part_sizes = {p.records or 40 for p in split(body, "cs-approval", "kill-1", settings.bus_partitions)}
    marker = tmp_path / "at-fault-point"
    _kill_at_marker(_worker_process(settings_env, pause, marker), marker)
    # killed between receive and commit: nothing committed; killed after commit: all of it
    committed = library_count(engine, "case")
    if expect_first_commit:
        assert committed in part_sizes
    else:
        assert committed == 0
    # a fresh worker gets the message again (RabbitMQ: connection loss; embedded: lease expiry)
    handled = Worker(settings, engine).run(idle_exit=4.0)
    assert library_count(engine, "case") == 40
    if expect_first_commit:
        assert handled == Counter(duplicate=committed, stored=40 - committed)
        assert outcomes(engine) == {"stored": 40, "duplicate": committed}
    else:
        assert handled == Counter(stored=40)
        assert outcomes(engine) == {"stored": 40}
