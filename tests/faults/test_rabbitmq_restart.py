"""Fault 1: the RabbitMQ node is restarted (the whole Erlang VM stops and starts again)
while a publisher is publishing and a worker is consuming. The publisher (the code path
of ``govhub publish``: ``publish_inbound`` with publisher confirms) must ride it out
or report each message it could not publish; the worker must reconnect and go on.
Afterwards every record sent is stored once or quarantined, none lost or doubled."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from hub.bus import topology as bus
from hub.core.config import ROOT, load_settings
from hub.ingest.partitions import publish_inbound
from tests.faults.conftest import hub_env
from tests.faults.ledger import SYSTEM, account, check, make_messages, wait_settled


def test_rabbitmq_restarted_mid_stream(private_rabbit, rabbit_url, fault_db, fault_engine, tmp_path, workers):
    messages = make_messages("rmq", seed=101, n_messages=60, per_message=25)
    env = hub_env(tmp_path, fault_db, rabbit_url)
    worker = workers(env, tmp_path / "worker.log")
    published, failed = [], []

    def publisher():
        settings = load_settings(env)
        with bus.connect(settings) as conn:
            bus.declare(conn)
            for m in messages:
                try:
                    publish_inbound(conn, m.body, SYSTEM, m.message_id, kind="case", fmt="xml")
                    published.append(m.message_id)
                except Exception as exc:  # noqa: BLE001 — reported, not dropped: the test sends it again
                    failed.append((m.message_id, f"{type(exc).__name__}: {exc}"))
                time.sleep(0.1)

    # and `govhub publish` itself, started just before the restart, for five files
    by_cli = make_messages("rmq-cli", seed=102, n_messages=5, per_message=25)
    files = []
    for m in by_cli:
        files.append(tmp_path / f"{m.message_id}.xml")
        files[-1].write_bytes(m.body)
    cli = [sys.executable, "-m", "hub.cli", "publish", "--system", SYSTEM, "--kind", "case", *map(str, files)]

    t0 = time.monotonic()
    thread = threading.Thread(target=publisher, name="publisher")
    thread.start()
    while len(published) < 20 and thread.is_alive():
        time.sleep(0.05)
    restart_at = time.monotonic() - t0
    private_rabbit.stop()
    publish_cli = subprocess.Popen(cli, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    private_rabbit.start()
    private_rabbit.restarts += 1
    back_at = time.monotonic() - t0
    out, err = publish_cli.communicate(timeout=120)
    cli_outcome = "published after the restart" if publish_cli.returncode == 0 else "reported, sent again"
    if publish_cli.returncode != 0:  # it must say what was not published, and running it again must be safe
        assert "did not confirm" in err and "Run the same command again" in err, err
        again = subprocess.run(cli, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
    else:
        assert out.count("published ") == len(files), out
    thread.join(timeout=180)
    assert not thread.is_alive(), "the publisher hung"
    if failed:  # a publisher told of a failure sends again; the message id makes that safe
        settings = load_settings(env)
        with bus.connect(settings) as conn:
            for mid, _err in failed:
                m = next(m for m in messages if m.message_id == mid)
                publish_inbound(conn, m.body, SYSTEM, m.message_id, kind="case", fmt="xml")
    messages += by_cli
    settle = wait_settled(fault_engine, messages, timeout=120, worker=worker)
    assert worker.alive(), worker.tail()
    assert worker.stop() == 0, worker.tail()
    figures = account(
        fault_engine,
        messages,
        "rabbitmq_restart",
        timing={
            "restart_began_s": round(restart_at, 1),
            "broker_back_s": round(back_at, 1),
            "settled_after_s": round(settle, 1),
        },
        published_before_restart=20,
        publish_failures_reported=len(failed),
        govhub_publish=cli_outcome,
        publish_failures=[e for _, e in failed][:3],
        broker_restarts=private_rabbit.restarts,
    )
    check(figures)
