"""Scale-out on RabbitMQ: worker processes share the inbound partitions, each case's
versions are applied in the order they were sent, a killed worker's partitions are taken
over with nothing lost or doubled, and the queue of earlier versions is drained."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from kombu import Connection, Producer
from sqlalchemy import select

from hub.bus import topology as bus
from hub.core.config import ROOT, load_settings
from hub.db.engine import engine_for, migrate
from hub.db.tables import LIBRARY, lineage
from hub.ingest.partitions import PART_SEPARATOR, publish_inbound
from hub.worker.process import Worker
from synth.generator import Generator
from tests.helpers import library_count, outcomes, xml_doc

SYSTEM = "cs-approval"


def multi_process(test):
    """Worker processes on RabbitMQ and PostgreSQL."""
    return pytest.mark.slow(pytest.mark.rabbitmq(pytest.mark.postgres(test)))


@pytest.fixture
def hub_env(tmp_path, rabbitmq_url, pg_database):
    migrate(pg_database)
    env = {
        "GOVHUB_HOME": str(tmp_path / "home"),
        "GOVHUB_DB_URL": pg_database,
        "GOVHUB_BROKER_URL": rabbitmq_url,
        "GOVHUB_BUS_PARTITIONS": "4",
    }
    return env


def versioned_messages(cases: int, versions: int, per_message: int) -> list[tuple[str, bytes]]:
    """``versions`` successive versions of each case (a changed conclusion, a later
    source time), sent version after version, ``per_message`` cases a message."""
    base = [r for r, _ in Generator(seed=21, departments=["常熟市行政审批局"]).records("case", cases)]
    out = []
    for v in range(1, versions + 1):
        recs = []
        for r in base:
            t = datetime.strptime(r["source_time"], "%Y-%m-%d %H:%M:%S") + timedelta(minutes=v)
            recs.append(
                dict(r, conclusion=f"第{v}版：{r.get('conclusion') or ''}", source_time=t.strftime("%Y-%m-%d %H:%M:%S"))
            )
        for i in range(0, cases, per_message):
            mid = f"v{v}-{i // per_message}"
            out.append((mid, xml_doc(recs[i : i + per_message], message_id=mid)))
    return out


def publish(env: dict, messages) -> None:
    settings = load_settings(env)
    with bus.connect(settings) as conn:
        bus.declare(conn)
        for mid, body in messages:
            publish_inbound(conn, body, SYSTEM, mid)


def start_worker(env: dict, tmp_path: Path, name: str, pause: str | None = None, idle_exit: float = 8.0):
    extra = {"PYTHONPATH": str(ROOT), "GOVHUB_LOG_LEVEL": "INFO"}
    if pause:
        extra |= {"GOVHUB_FAULT_PAUSE": pause, "GOVHUB_FAULT_MARKER": str(tmp_path / f"{name}.marker")}
    err = open(tmp_path / f"{name}.log", "w+b")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "worker", "--idle-exit", str(idle_exit)],
        env={**os.environ, **env, **extra},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    proc.log = err
    return proc


def wait_for_workers(env: dict, n: int) -> None:
    """Until ``n`` workers are subscribed (the consumers of govhub.workers)."""
    deadline = time.monotonic() + 60
    with Connection(env["GOVHUB_BROKER_URL"]) as conn:
        while time.monotonic() < deadline:
            ch = conn.channel()
            try:
                if bus.WORKERS_QUEUE(ch).queue_declare(passive=True).consumer_count >= n:
                    return
            except conn.channel_errors:
                pass
            finally:
                ch.close()
            time.sleep(0.2)
    raise AssertionError(f"{n} workers never subscribed")


def handled_by(proc) -> Counter:
    proc.wait(timeout=300)
    proc.log.seek(0)
    text = proc.log.read().decode()
    assert proc.returncode == 0, text[-3000:]
    m = re.search(r"worker stopped: (\{.*\})", text)
    assert m, text[-3000:]
    return Counter(eval(m.group(1)))


def case_history(engine) -> dict[str, list[tuple[str, str]]]:
    """Per case key: (parent message id, detail) of each stored version, in commit order."""
    out = defaultdict(list)
    with engine.connect() as conn:
        rows = conn.execute(
            select(lineage.c.record_key, lineage.c.message_id, lineage.c.detail)
            .where(lineage.c.outcome == "stored")
            .order_by(lineage.c.id)
        )
        for key, mid, detail in rows:
            out[key].append((mid.split(PART_SEPARATOR)[0], detail))
    return out


def assert_applied_in_send_order(engine, cases: int, versions: int) -> None:
    history = case_history(engine)
    assert len(history) == cases
    for key, entries in history.items():
        assert [mid.split("-")[0] for mid, _ in entries] == [f"v{v}" for v in range(1, versions + 1)], key
        assert [d for _, d in entries] == ["new"] + ["updated"] * (versions - 1), key
    t = LIBRARY["case"]
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.version, t.c.conclusion)).all()
    assert len(rows) == cases
    assert all(v == versions and c.startswith(f"第{versions}版") for v, c in rows)


def assert_every_parent_accounted(engine, messages, per_message: int) -> None:
    """Each parent's records each have exactly one stored or quarantined outcome, found
    under its parts; anything more is a redelivered part (``same_message``)."""
    with engine.connect() as conn:
        rows = conn.execute(select(lineage.c.message_id, lineage.c.seq, lineage.c.outcome, lineage.c.detail)).all()
    first = defaultdict(Counter)
    for mid, seq, outcome, detail in rows:
        parent = mid.split(PART_SEPARATOR)[0]
        if outcome == "duplicate":
            assert detail == "same_message", (mid, seq, detail)
        else:
            first[parent][seq] += 1
    for mid, _ in messages:
        assert sorted(first[mid]) == list(range(1, per_message + 1)) and set(first[mid].values()) == {1}, mid


@multi_process
def test_two_workers_share_partitions_and_keep_case_order(hub_env, tmp_path):
    cases, versions, per = 120, 4, 30
    messages = versioned_messages(cases, versions, per)
    # worker a is slowed down (a fake: a short pause before each ack) so that it still
    # has a backlog on all four partitions when b joins and takes its fair share
    a = start_worker(hub_env, tmp_path, "a", pause="before_ack:0.6")
    wait_for_workers(hub_env, 1)
    publish(hub_env, messages)
    b = start_worker(hub_env, tmp_path, "b")
    got_a, got_b = handled_by(a), handled_by(b)
    engine = engine_for(hub_env["GOVHUB_DB_URL"])
    assert got_a["stored"] > 0 and got_b["stored"] > 0, (got_a, got_b)
    assert got_a + got_b == Counter(stored=cases * versions)
    assert outcomes(engine) == {"stored": cases * versions}
    assert_applied_in_send_order(engine, cases, versions)
    assert_every_parent_accounted(engine, messages, per)


@multi_process
def test_killed_worker_partitions_are_taken_over(hub_env, tmp_path):
    cases, versions, per = 60, 3, 20
    messages = versioned_messages(cases, versions, per)
    a = start_worker(hub_env, tmp_path, "a", pause="before_ack:120", idle_exit=120)
    wait_for_workers(hub_env, 1)
    b = start_worker(hub_env, tmp_path, "b", idle_exit=6)
    wait_for_workers(hub_env, 2)
    publish(hub_env, messages)
    marker = tmp_path / "a.marker"
    deadline = time.monotonic() + 60
    while not marker.exists():  # a committed its first part and has not acknowledged it
        assert time.monotonic() < deadline and a.poll() is None, "worker a never reached the fault point"
        time.sleep(0.05)
    a.send_signal(signal.SIGKILL)
    a.wait(timeout=10)
    got_b = handled_by(b)  # b, a stand-in on every partition, becomes the active consumer
    engine = engine_for(hub_env["GOVHUB_DB_URL"])
    done = outcomes(engine)
    assert done["stored"] == cases * versions and set(done) <= {"stored", "duplicate"}
    # the part a committed but did not acknowledge comes to b again: duplicates of it
    assert got_b["duplicate"] == done.get("duplicate", 0) > 0
    assert got_b["stored"] == cases * versions - done["duplicate"]
    assert library_count(engine, "case") == cases
    assert_applied_in_send_order(engine, cases, versions)
    assert_every_parent_accounted(engine, messages, per)


def test_worker_drains_the_queue_of_earlier_versions(settings, engine):
    """Messages left in ``govhub.inbound`` by an earlier version (or an old publisher) are
    still processed; new messages go to the partitions."""
    body = xml_doc(
        [r for r, _ in Generator(seed=22, departments=["常熟市行政审批局"]).records("case", 25)], message_id="legacy-1"
    )
    with bus.connect(settings) as conn:
        bus.INBOUND(conn.default_channel).declare()
        bus.LEGACY_INBOUND_QUEUE(conn.default_channel).declare()
        Producer(conn.default_channel).publish(
            body,
            exchange=bus.INBOUND,
            routing_key="inbound",
            content_type="application/octet-stream",
            content_encoding="binary",
            headers={"system": SYSTEM, "message_id": "legacy-1"},
            delivery_mode=2,
        )
    try:
        handled = Worker(settings, engine).run(idle_exit=2.0)
        assert handled == Counter(stored=25)
        with bus.connect(settings) as conn:
            assert bus.queue_exists(conn, bus.LEGACY_INBOUND_QUEUE) == 0
    finally:
        with bus.connect(settings) as conn:
            bus.LEGACY_INBOUND_QUEUE(conn.channel()).delete()
