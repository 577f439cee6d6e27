"""Shared fixtures: a hub database per test (SQLite, and PostgreSQL when reachable) and
a bus (the embedded transport, and RabbitMQ when reachable).

Outside CI a missing PostgreSQL or RabbitMQ skips the tests that need it, with the
reason. In CI (CI=true) it fails them: nothing skips for a missing service there.
"""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest

from tests.peers.fixtures import sftp_server

CI = os.environ.get("CI", "").lower() == "true"
# The batch quality suite costs ~1-4 s per message (Great Expectations); tests of other
# features ingest hundreds of messages. The quality tests switch it on where they need it.
os.environ.setdefault("GOVHUB_QUALITY_BATCH", "off")
PG_URL = os.environ.get("GOVHUB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("GOVHUB_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


# ---------------------------------------------------------------- the clock
# The suite runs on the hub clock (hub.core.clock), never on today's date: the session
# starts at PINNED_AT (naive CST) and ticks on with real time, never backwards between
# tests (they may share a database). GOVHUB_TEST_TODAY=YYYY-MM-DD runs it on that day
# instead (from 10:00 CST), to show the outcome does not depend on the day;
# GOVHUB_TEST_TODAY=wall runs it on the wall clock. Child processes (worker, serve,
# `python -m hub.cli`, `airflow dags test`) read the same time through GOVHUB_CLOCK, kept
# in os.environ. A test whose data or expectations belong to one day pins it whatever the
# day: ``@pytest.mark.clock`` (PINNED_AT) or ``@pytest.mark.clock("2026-11-20T10:00:00")``.
# A test moves time with the ``clock`` fixture (``clock.advance(seconds=1.1)``), not by sleeping.
PINNED_AT = "2026-11-22T10:00:00"  # the generated data of every test was checked on this day
TEST_TODAY = os.environ.get("GOVHUB_TEST_TODAY", "").strip()


def _session_start() -> str | None:
    if TEST_TODAY.lower() == "wall":
        return None
    if TEST_TODAY:
        from datetime import date

        return f"{date.fromisoformat(TEST_TODAY).isoformat()}T10:00:00"
    return PINNED_AT


def _sync_clock_env(c) -> None:
    """Child processes inherit os.environ: keep GOVHUB_CLOCK on the time this process reads."""
    from hub.core import clock as hub_clock

    if hub_clock.current() is c:
        os.environ.update(hub_clock.environ())


def _install_session_clock() -> None:
    # at import, so module-level dates in test files are on the session's day too
    from hub.core import clock as hub_clock

    start = _session_start()
    hub_clock.install(None if start is None else hub_clock.TickingClock(start, on_change=_sync_clock_env))
    os.environ.pop(hub_clock.ENV, None)
    _sync_clock_env(hub_clock.current())


_install_session_clock()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "clock(at=PINNED_AT): run the test on the hub clock ticking from `at` "
        "(naive CST ISO time), whatever the session's day (GOVHUB_TEST_TODAY)",
    )


@pytest.fixture(autouse=True)
def _pinned_clock(request):
    marker = request.node.get_closest_marker("clock")
    if marker is None:
        yield None
        return
    from hub.core import clock as hub_clock

    at = marker.args[0] if marker.args else marker.kwargs.get("at", PINNED_AT)
    saved_env = os.environ.get(hub_clock.ENV)
    c = hub_clock.TickingClock(at, on_change=_sync_clock_env)
    previous = hub_clock.install(c)
    _sync_clock_env(c)
    yield c
    hub_clock.install(previous)
    if saved_env is None:
        os.environ.pop(hub_clock.ENV, None)
    else:
        os.environ[hub_clock.ENV] = saved_env


@pytest.fixture
def clock(monkeypatch):
    """The hub's clock for this test: a ``hub.core.clock.TickingClock`` from the time the
    installed clock reads now (the ``clock`` marker's time, else the session's).
    ``clock.advance(seconds=1.1)`` moves it instead of sleeping, ``clock.set(datetime(...))``
    pins it to a time (naive CST); child processes started afterwards follow it
    (GOVHUB_CLOCK). The previous clock is back after the test."""
    from hub.core import clock as hub_clock

    c = hub_clock.TickingClock(hub_clock.now(), on_change=_sync_clock_env)
    monkeypatch.setenv(hub_clock.ENV, "")  # whatever it was comes back after the test
    previous = hub_clock.install(c)
    _sync_clock_env(c)
    yield c
    hub_clock.install(previous)


def _private_vhost(url: str) -> str:
    """Give this test session a RabbitMQ virtual host of its own, so two suites run at
    once (or a suite and a demo) never share ``govhub.inbound``. Needs ``rabbitmqctl`` on
    this machine (the broker is local); otherwise the configured URL is used as it is."""
    import shutil
    import subprocess

    u = urlsplit(url)
    if u.hostname not in ("127.0.0.1", "localhost") or not shutil.which("rabbitmqctl") or os.geteuid() != 0:
        return url
    vhost = f"govhub_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    user = u.username or "guest"
    try:
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True, timeout=60)
        subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return url
    import atexit

    atexit.register(
        lambda: subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)
    )
    return f"{u.scheme}://{u.netloc}/{vhost}"


_AMQP_BASE = AMQP_URL
_vhost_url: str | None = None


def amqp_url() -> str:
    """The RabbitMQ URL of this session (its private vhost, made on first use)."""
    global _vhost_url
    if _vhost_url is None:
        _vhost_url = _private_vhost(_AMQP_BASE) if _reachable(_AMQP_BASE, 5672) is None else _AMQP_BASE
    return _vhost_url


def _reachable(url: str, default_port: int) -> str | None:
    u = urlsplit(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or default_port), timeout=2):
            return None
    except OSError as exc:
        return f"{u.hostname}:{u.port or default_port} unreachable ({exc})"


def require_service(name: str, url: str, port: int) -> None:
    problem = _reachable(url, port)
    if problem is None:
        return
    if CI:
        pytest.fail(f"{name} is required in CI but {problem}; start it (see README) — nothing skips in CI")
    pytest.skip(f"{name} not available: {problem} (set GOVHUB_TEST_{'PG' if name == 'PostgreSQL' else 'AMQP'}_URL)")


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True, connect_timeout=5)


@pytest.fixture
def pg_database():
    """A fresh, empty PostgreSQL database; dropped afterwards."""
    require_service("PostgreSQL", PG_URL, 5432)
    name = f"govhub_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    from hub.db.engine import engine_for

    for url in (f"{base}/{name}",):
        try:
            engine_for(url).dispose()
        except Exception:  # noqa: BLE001
            pass
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A migrated hub database: parametrised over SQLite and PostgreSQL."""
    from hub.db.engine import migrate

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    migrate(url)
    return url


@pytest.fixture
def engine(db_url):
    from hub.db.engine import engine_for

    return engine_for(db_url)


def _purge_rabbit() -> None:
    from kombu import Connection

    from hub.bus import topology as bus

    with Connection(amqp_url(), connect_timeout=5) as conn:
        ch = conn.channel()
        conn.govhub_partitions, conn.govhub_embedded = 4, False  # the default on RabbitMQ
        for q in (*bus.inbound_queues(conn), bus.DEAD_QUEUE):
            try:
                q(ch).declare()
                q(ch).purge()
            except Exception:  # noqa: BLE001 — a queue left with other arguments: start clean
                ch = conn.channel()
                q(ch).delete()
                ch = conn.channel()
                q(ch).declare()


@pytest.fixture(params=["embedded", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def broker_url(request, tmp_path):
    """A bus: parametrised over the embedded SQLite transport and RabbitMQ."""
    if request.param == "embedded":
        return f"govhub+sqlite:///{tmp_path / 'bus.db'}"
    return request.getfixturevalue("rabbitmq_url")


@pytest.fixture
def rabbitmq_url():
    """RabbitMQ (this session's vhost), its hub queues emptied before and after the test."""
    require_service("RabbitMQ", AMQP_URL, 5672)
    _purge_rabbit()
    yield amqp_url()
    _purge_rabbit()


@pytest.fixture
def settings_env(tmp_path, db_url, broker_url):
    """Environment for a hub process (the CLI, a worker) on this test's database and bus."""
    return {
        "GOVHUB_HOME": str(tmp_path / "home"),
        "GOVHUB_DB_URL": db_url,
        "GOVHUB_BROKER_URL": broker_url,
        "GOVHUB_BUS_VISIBILITY_TIMEOUT": "2",
    }


@pytest.fixture
def settings(settings_env):
    from hub.core.config import load_settings

    return load_settings(settings_env)


@pytest.fixture(autouse=True)
def _govhub_logger_restored():
    """``hub.ops.logs.setup`` (run in-process by CLI and app tests) gives the ``govhub`` logger
    its own handler and stops propagation; put it back after each test so a later test's
    ``caplog`` sees the hub's log lines whatever ran before it."""
    import logging

    log = logging.getLogger("govhub")
    saved = (log.handlers[:], log.level, log.propagate)
    yield
    log.handlers[:], log.level, log.propagate = saved[0], saved[1], saved[2]
