"""Fault: a node of a three-node RabbitMQ cluster is lost mid-stream and comes back.

The hub runs on a private cluster (tests/faults/cluster.py) with a multi-host broker URL:
``govhub init`` declares the inbound partitions as quorum queues replicated over the
three nodes; a worker consumes; the publisher (``publish_inbound``, publisher confirms)
sends 40 messages of 10 records. After the tenth, the node leading the inbound queues is
stopped (its Erlang VM exits), then started again while the stream goes on. Afterwards:
every record stored once or quarantined for its defect, none lost, none doubled; the
queues got new leaders; the node rejoined and is a member of every queue again. The
figures (outage, rejoin time, confirms) go to var/faults/rabbitmq_cluster.json."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from hub.bus import topology as bus
from hub.core.config import ROOT, load_settings
from hub.db.engine import engine_for
from hub.ingest.partitions import publish_inbound
from tests.conftest import CI
from tests.faults.cluster import RabbitCluster
from tests.faults.conftest import hub_env
from tests.faults.ledger import SYSTEM, account, check, make_messages, wait_settled
from tests.faults.services import ServiceError

INBOUND = "govhub.inbound."


@pytest.fixture(scope="module")
def cluster():
    c = RabbitCluster(3)
    try:
        c.start()
    except ServiceError as exc:
        left = c.close()
        assert left == [], f"RabbitMQ nodes left running: {left}"
        (pytest.fail if CI else pytest.skip)(f"no private three-node RabbitMQ cluster: {exc}")
    yield c
    left = c.close()
    assert left == [], f"RabbitMQ nodes left running after the test: {left}"


def _wait(what: str, check, timeout: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)  # polling the broker's state: no event to wait on
    return time.monotonic() - start


def _init(env: dict) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hub.cli", "init"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout + proc.stderr
    assert "guest:guest" not in shown and "%3A" not in shown and shown.count("guest:***@") == 3, shown  # every host


def test_cluster_node_lost_mid_stream(cluster, pg_database, tmp_path, workers):
    first = cluster.nodes[0]
    env = hub_env(tmp_path, pg_database, cluster.url, GOVHUB_BUS_PARTITIONS="2")
    _init(env)
    members = cluster.quorum_members(first, INBOUND)
    assert len(members) == 2 and all(len(m["members"]) == 3 for m in members.values()), members
    leaders = cluster.quorum_leaders(first, INBOUND)
    victim = cluster.node(Counter(leaders.values()).most_common(1)[0][0])

    engine = engine_for(pg_database)
    worker = workers(env, tmp_path / "worker.log")
    messages = make_messages("cluster", seed=201, n_messages=40, per_message=10)
    confirmed, failed = [], []

    def publisher():
        with bus.connect(load_settings(env)) as conn:
            for m in messages:
                try:
                    publish_inbound(conn, m.body, SYSTEM, m.message_id, kind="case", fmt="xml")
                    confirmed.append(m.message_id)
                except Exception as exc:  # noqa: BLE001 — reported, and sent again below (same id: safe)
                    failed.append((m.message_id, f"{type(exc).__name__}: {exc}"))
                time.sleep(0.3)  # a stream, not a burst: it must span the outage

    thread = threading.Thread(target=publisher, name="publisher")
    thread.start()
    _wait("ten confirmed messages", lambda: len(confirmed) >= 10 or not thread.is_alive(), 120)
    lost_at = time.monotonic()
    victim.stop()
    down = time.monotonic() - lost_at
    new_leaders = cluster.quorum_leaders(cluster.node(next(n.node for n in cluster.nodes if n is not victim)), INBOUND)
    victim.launch()
    victim.wait_up()
    outage = time.monotonic() - lost_at
    other = next(n for n in cluster.nodes if n is not victim)

    def rejoined() -> bool:
        if victim.node not in cluster.running_nodes(other):
            return False
        return all(victim.node in m["online"] for m in cluster.quorum_members(other, INBOUND).values())

    rejoin = _wait("the node to rejoin every quorum queue", rejoined, 120)
    thread.join(timeout=240)
    assert not thread.is_alive(), "the publisher hung"
    if failed:
        with bus.connect(load_settings(env)) as conn:
            for mid, _err in failed:
                m = next(m for m in messages if m.message_id == mid)
                publish_inbound(conn, m.body, SYSTEM, m.message_id, kind="case", fmt="xml")
    settle = wait_settled(engine, messages, timeout=180, worker=worker)
    assert worker.alive(), worker.tail()
    assert worker.stop() == 0, worker.tail()
    assert all(leader != victim.node for leader in new_leaders.values()), (leaders, new_leaders)
    figures = account(
        engine,
        messages,
        "rabbitmq_cluster",
        timing={
            "node_stopped_in_s": round(down, 1),
            "outage_s": round(outage, 1),
            "rejoin_s": round(rejoin, 1),
            "settled_after_s": round(settle, 1),
        },
        nodes=3,
        stopped_node=victim.node,
        leaders_before=leaders,
        leaders_during=new_leaders,
        confirmed=len(confirmed),
        publish_failures_reported=len(failed),
        publish_failures=[e for _, e in failed][:3],
        worker_reconnects=worker.tail(10**6).count("bus connection lost"),
    )
    print(f"\ncluster node loss: {figures}")
    check(figures)
    assert len(confirmed) + len(failed) == len(messages)
