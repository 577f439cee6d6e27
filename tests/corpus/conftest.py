"""The hub the corpus runs against: one SQLite database and one embedded bus for the
module, a catalogue with fresh credentials (the committed one holds none), a hall key,
and — made on first use — the REST/SOAP app, the device app, a real ``govhub worker``
process and a real SFTP server."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import yaml

from hub.catalog.authn import hash_password, sha256_hex
from hub.core.config import ROOT

RESULTS: list[tuple[str, str, str, str, str]] = []  # (id, database, channel, expected outcome, passed|failed)
SOAP_USER, SOAP_PASSWORD = "cs-approval", "corpus-soap-password"
CS_DEPT = "11320581MBL65F0H1L"  # 常熟市行政审批局


class Hub:
    """Where everything lives; ``env`` is what a hub process needs."""

    def __init__(self, tmp: Path, db_url: str):
        self.tmp, self.db = tmp, db_url.split(":", 1)[0]
        self.keys = {
            "cs-approval": secrets.token_urlsafe(24),
            "js-province": secrets.token_urlsafe(24),
            "cs-hall": secrets.token_urlsafe(24),
        }
        self.catalog = tmp / "systems.yaml"
        self.halls = tmp / "halls.yaml"
        self.env = {
            "GOVHUB_HOME": str(tmp / "home"),
            "GOVHUB_DB_URL": db_url,
            "GOVHUB_BROKER_URL": f"govhub+sqlite:///{tmp / 'bus.db'}",
            "GOVHUB_CATALOG": str(self.catalog),
            "GOVHUB_HALLS": str(self.halls),
            "GOVHUB_BUS_VISIBILITY_TIMEOUT": "5",
            "GOVHUB_PERSON_KEY": "corpus-person-key",
        }
        self._write_catalogues()

    def _write_catalogues(self) -> None:
        systems = yaml.safe_load((ROOT / "catalog" / "systems.yaml").read_text(encoding="utf-8"))["systems"]
        for s in systems:
            if s["id"] == "cs-approval":
                s.update(
                    dept_code=CS_DEPT,
                    may_push=["case"],
                    credentials={
                        "api_key_sha256": sha256_hex(self.keys["cs-approval"]),
                        "username": SOAP_USER,
                        "password_pbkdf2": hash_password(SOAP_PASSWORD, iterations=1000),
                    },
                )
            if s["id"] == "js-province":
                s.update(may_pull=["case"], credentials={"api_key_sha256": sha256_hex(self.keys["js-province"])})
        self.catalog.write_text(yaml.safe_dump({"systems": systems}, allow_unicode=True), encoding="utf-8")
        self.halls.write_text(
            yaml.safe_dump(
                {
                    "halls": [
                        {
                            "id": "cs-hall",
                            "name": "常熟市政务服务中心",
                            "region_code": "320581",
                            "api_key_sha256": sha256_hex(self.keys["cs-hall"]),
                        }
                    ]
                },
                allow_unicode=True,
            ),
            encoding="utf-8",
        )


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path_factory):
    """The module's database: SQLite, and a PostgreSQL database of its own (PostgreSQL
    refuses what SQLite lets pass: NUL in text, over-long values)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('corpus-db') / 'hub.db'}"
        return
    from tests.conftest import PG_URL, _pg_admin, require_service

    require_service("PostgreSQL", PG_URL, 5432)
    name = f"govhub_test_corpus_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    yield url
    from hub.db.engine import engine_for

    engine_for(url).dispose()
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def hub(tmp_path_factory, db_url):
    from devices.halls import _halls_at
    from hub.catalog.systems import _systems_at
    from hub.core.config import load_settings
    from hub.db.engine import engine_for, migrate

    h = Hub(tmp_path_factory.mktemp("corpus"), db_url)
    with pytest.MonkeyPatch.context() as mp:
        for k, v in h.env.items():
            mp.setenv(k, v)
        _systems_at.cache_clear()
        _halls_at.cache_clear()
        from datetime import timedelta

        import hub.api.routes_pull as pull

        mp.setattr(pull, "SETTLE", timedelta(0))  # read back what was just stored
        migrate(h.env["GOVHUB_DB_URL"])
        h.settings = load_settings(h.env)
        h.engine = engine_for(h.env["GOVHUB_DB_URL"])
        yield h
        _systems_at.cache_clear()
        _halls_at.cache_clear()


@pytest.fixture(scope="module")
def api(hub):
    from fastapi.testclient import TestClient

    from hub.api.app import create_app

    with TestClient(create_app(hub.settings, migrate_db=False), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def devices_api(hub):
    from starlette.testclient import TestClient

    from devices.http import create_app

    with TestClient(create_app(hub.settings, hub.engine), raise_server_exceptions=False) as client:
        yield client


class WorkerProcess:
    """``python -m hub.cli.main worker`` on the module's database and bus; its log in a file."""

    def __init__(self, hub: Hub):
        self.log = hub.tmp / "worker.log"
        env = {**os.environ, **hub.env, "PYTHONPATH": str(ROOT), "GOVHUB_LOG_LEVEL": "INFO"}
        self._out = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "worker"], cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT
        )
        self.handled: list[str] = []

    def alive(self) -> bool:
        return self.proc.poll() is None

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._out.close()


@pytest.fixture(scope="module")
def worker(hub):
    from hub.bus import topology as bus

    with bus.connect(hub.settings) as conn:
        bus.declare(conn)
    w = WorkerProcess(hub)
    time.sleep(0.5)
    yield w
    w.stop()


@pytest.fixture(scope="module")
def sftp(hub):
    from sandbox.sftp_server import start_sftp_server

    root = hub.tmp / "sftp-root"
    (root / "etc").mkdir(parents=True)
    server = start_sftp_server(root, "dept", "dept-sftp-password")
    yield server
    server.stop()


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    table = Counter((db, channel, outcome, verdict) for _id, db, channel, outcome, verdict in RESULTS)
    tr = terminalreporter
    tr.section("bad-input corpus: inputs per channel and expected outcome")
    tr.write_line(f"{'database':<11} {'channel':<8} {'outcome':<12} {'passed':>6} {'failed':>6}")
    for db, channel, outcome in sorted({k[:3] for k in table}):
        tr.write_line(
            f"{db:<11} {channel:<8} {outcome:<12} {table[(db, channel, outcome, 'passed')]:>6} "
            f"{table[(db, channel, outcome, 'failed')]:>6}"
        )
    passed = sum(1 for r in RESULTS if r[-1] == "passed")
    tr.write_line(f"total: {len(RESULTS)} runs of an input, {passed} as expected, {len(RESULTS) - passed} not")
