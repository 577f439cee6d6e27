"""The REST client adapter against the hub's own API on a real port: push, paginated
pull, and errors translated into transient / terminal."""

from __future__ import annotations

import json
import time

import pytest

from adapters.base import Envelope
from adapters.errors import AuthError, RejectedError, TransientError
from adapters.registry import open_adapter
from hub.api.app import create_app
from hub.core.config import load_settings
from sandbox.server import free_port, run_in_thread
from synth.generator import Generator


@pytest.fixture
def hub_api(catalog, db_url, tmp_path, monkeypatch):
    import hub.api.routes_pull as pull

    monkeypatch.setattr(pull, "SETTLE", __import__("datetime").timedelta(seconds=0))
    settings = load_settings(
        {
            "GOVHUB_HOME": str(tmp_path / "home"),
            "GOVHUB_DB_URL": db_url,
            "GOVHUB_BROKER_URL": f"govhub+sqlite:///{tmp_path / 'bus.db'}",
        }
    )
    base, stop = run_in_thread(create_app(settings))
    monkeypatch.setenv("DEPT_A_KEY", catalog.keys["dept-a"])
    monkeypatch.setenv("PROV_KEY", catalog.keys["prov"])
    yield base.replace("http://", "rest://")
    stop()


def test_push_and_paginated_pull(hub_api):
    cases = [r for r, _ in Generator(seed=41, departments=["常熟市行政审批局"]).records("case", 12)]
    body = json.dumps({"records": cases}, ensure_ascii=False).encode()
    with open_adapter(f"{hub_api}/api/v1?api_key_env=DEPT_A_KEY") as dept:
        receipt = dept.write(Envelope(body, "client-1", kind="case", format="json"))
    assert receipt.status == "acknowledged" and receipt.peer_ref == "client-1"
    with open_adapter(f"{hub_api}/api/v1?api_key_env=PROV_KEY&pull_path=/case/changes%3Flimit%3D5") as prov:
        pages = list(prov.read())
    got = [r["case_no"] for p in pages for r in json.loads(p.body)["records"]]
    assert sorted(got) == sorted(c["case_no"] for c in cases) and len(pages) == 3


def test_errors_are_translated(hub_api):
    with open_adapter(f"{hub_api}/api/v1?api_key_env=PROV_KEY") as prov:
        with pytest.raises(AuthError):  # the province may not push cases
            prov.write(Envelope(b'{"records": []}', "x", kind="case", format="json"))
    with open_adapter(f"{hub_api}/api/v1?api_key_env=DEPT_A_KEY") as dept:
        with pytest.raises(RejectedError):
            dept.write(Envelope(b"not json", "y", kind="case", format="json"))
    dead = f"rest://127.0.0.1:{free_port()}/api?retries=1&backoff=0.01&timeout=2"
    started = time.monotonic()
    with open_adapter(dead) as a:
        with pytest.raises(TransientError):
            a.ping()
    assert time.monotonic() - started < 10
