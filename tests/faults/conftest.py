"""Fixtures of the fault suite: a private PostgreSQL cluster and a private RabbitMQ node
(started once per session, restarted by the tests that need it, removed afterwards),
a fresh database per test, and hub worker processes that can be killed.

With CI=true a private instance that cannot be started fails the tests that need it;
elsewhere they skip with the reason.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.core.config import ROOT
from tests.conftest import CI
from tests.faults.services import PrivatePostgres, PrivateRabbit, ServiceError


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/faults/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.faults)


def _start(kind, what: str):
    try:
        return kind().start()
    except ServiceError as exc:
        if CI:
            pytest.fail(f"the fault suite needs a private {what} and could not start one: {exc}")
        pytest.skip(f"no private {what} for the fault suite: {exc}")


@pytest.fixture(scope="session")
def private_pg():
    pg = _start(PrivatePostgres, "PostgreSQL cluster")
    yield pg
    pg.close()


@pytest.fixture(scope="session")
def private_rabbit():
    node = _start(PrivateRabbit, "RabbitMQ node")
    yield node
    node.close()


@pytest.fixture
def fault_db(private_pg):
    """A migrated hub database on the private cluster."""
    from hub.db.engine import engine_for, migrate

    url = private_pg.create_database()
    migrate(url)
    yield url
    engine_for(url).dispose()


@pytest.fixture
def fault_engine(fault_db):
    from hub.db.engine import engine_for

    return engine_for(fault_db)


def purge_hub_queues(url: str) -> None:
    from kombu import Connection

    from hub.bus import topology as bus

    with Connection(url, connect_timeout=10) as conn:
        for q in (*bus.inbound_queues(conn), bus.DEAD_QUEUE):
            q(conn.default_channel).declare()
            q(conn.default_channel).purge()


@pytest.fixture
def rabbit_url(private_rabbit):
    """The private node's URL with empty hub queues (the node is ours alone)."""
    private_rabbit.wait_amqp(60)
    purge_hub_queues(private_rabbit.url)
    yield private_rabbit.url


def hub_env(tmp_path: Path, db_url: str, broker_url: str, **extra) -> dict:
    return {
        **os.environ,
        "GOVHUB_HOME": str(tmp_path / "home"),
        "GOVHUB_DB_URL": db_url,
        "GOVHUB_BROKER_URL": broker_url,
        "GOVHUB_BUS_VISIBILITY_TIMEOUT": "2",
        "PYTHONPATH": str(ROOT),
        "GOVHUB_BATCH_SIZE": "20",
        **extra,
    }


class WorkerProcess:
    """``govhub worker`` in a child process, its output in a log file."""

    def __init__(self, env: dict, log: Path, *args: str):
        self.log = log
        self._out = open(log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "worker", *args],
            env=env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        self.started = time.monotonic()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)
        self._out.close()

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM: finish the message in hand, then exit."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._out.close()

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:]


@pytest.fixture
def workers():
    """Start workers with ``workers(env, log_path, *args)``; any still running are killed at the end."""
    started: list[WorkerProcess] = []

    def start(env: dict, log: Path, *args: str) -> WorkerProcess:
        w = WorkerProcess(env, log, *args)
        started.append(w)
        return w

    yield start
    for w in started:
        if w.alive():
            w.kill()
