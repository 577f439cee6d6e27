"""Issue #12, weaknesses 8, 9 and 11 and the hardening items, through the real HTTP
interface: the REST adapter does not follow a redirect with the peer's key (8); record
keys that are personal data are masked in push answers and logs (9); a sender's CR/LF
cannot forge log lines and an ID number glued to letters is masked (11); /metrics needs
a credential, /docs is off, /ready is cached for anonymous callers; the clients and the
SFTP adapter read peers' answers and files under a size cap."""

from __future__ import annotations

import io
import json
import logging

import pytest

from hub.model.codes import idcard
from hub.ops import logs
from hub.ops.pii_scan import leaks
from synth.generator import Generator
from tests.integration.conftest import catalog  # pytest fixture, used by name
from tests.integration.test_quarantine_api import admin_key, client  # pytest fixtures, used by name

ID = "32058119900101123" + idcard.check_char("32058119900101123")
POPULATION = "public-security-population"  # the person library's authoritative source (catalog/precedence.yaml)


@pytest.fixture
def hub_log():
    """The hub's text log lines of a test (``govhub serve``'s format)."""
    logger = logging.getLogger("govhub")
    saved = logger.handlers[:], logger.level, logger.propagate
    stream = io.StringIO()
    logs.setup("INFO", stream=stream, fmt="text")
    yield stream
    logger.handlers[:], logger.level, logger.propagate = saved


def _population(catalog) -> str:
    import secrets

    from hub.catalog.authn import sha256_hex

    key = secrets.token_urlsafe(24)
    catalog.add(
        {
            "id": POPULATION,
            "name": "公安人口库",
            "level": "city",
            "region_code": "320500",
            "may_push": ["person"],
            "credentials": {"api_key_sha256": sha256_hex(key)},
        }
    )
    return key


# ------------------------------------------------------------ weakness 9


def test_person_keys_are_masked_in_push_answers_and_logs(client, catalog, hub_log):
    key = _population(catalog)
    people = [r for r, _ in Generator(seed=5).records("person", 4)]
    body = json.dumps({"message_id": "people-1", "records": people}, ensure_ascii=False).encode()
    r = client.post("/api/v1/person", content=body, headers={"X-Api-Key": key, "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    keys = [rec["key"] for rec in r.json()["records"]]
    assert len(keys) == 4 and all(k for k in keys)
    for person, k in zip(people, keys):
        assert person["id_no"] not in r.text
        assert k[:3] == person["id_no"][:3] and k[-2:] == person["id_no"][-2:] and "*" in k
    assert not leaks(r.text), r.text
    assert not leaks(hub_log.getvalue()), hub_log.getvalue()


# ------------------------------------------------------------ weakness 11


def test_a_message_id_with_cr_lf_cannot_forge_a_log_line(client, catalog, hub_log):
    case = next(iter(Generator(seed=7, departments=["常熟市行政审批局"]).records("case", 1)))[0]
    forged = "x1&#13;&#10;2026-12-04 10:00:00 INFO govhub.api [-] FORGED admin login"
    fields = "".join(f"<{k}>{v}</{k}>" for k, v in case.items() if isinstance(v, str))
    body = f'<cases xmlns="urn:govhub:case:1" message_id="{forged}"><case>{fields}</case></cases>'
    r = client.post(
        "/api/v1/case",
        content=body.encode(),
        headers={"X-Api-Key": catalog.keys["dept-a"], "Content-Type": "application/xml"},
    )
    assert r.status_code < 500, r.text
    lines = hub_log.getvalue().splitlines()
    assert not any(line.startswith("2026-12-04 10:00:00 INFO") for line in lines), lines
    assert r.status_code >= 400 or any("\\r\\n2026-12-04" in line for line in lines), lines


def test_an_id_number_followed_by_letters_is_masked_in_logs_and_found_by_the_scan(hub_log):
    logging.getLogger("govhub.test").warning("applicant %sabc, again n%sXYZ", ID, ID)
    text = hub_log.getvalue()
    assert ID not in text, text
    assert leaks(f"raw {ID}abc") != []  # the scan sees what the masking must catch


# ------------------------------------------------------------ weakness 8


@pytest.fixture
def redirecting_peer(catalog, monkeypatch):
    """The department's peer answers every push with a 307 to another host (``localhost``
    rather than ``127.0.0.1``), which would accept the key if it were shown it."""
    from sandbox.dept_rest import DeptState, make_app
    from sandbox.server import run_in_thread

    peer, other = DeptState(), DeptState()
    other_base, stop_other = run_in_thread(make_app(other, api_key="dept-key"))
    other_host = other_base.replace("127.0.0.1", "localhost")
    peer.redirect_to = other_host
    base, stop = run_in_thread(make_app(peer, api_key="dept-key"))
    monkeypatch.setenv("DEPT_PEER_KEY", "dept-key")
    catalog.add(
        {
            "id": "dept-peer",
            "name": "常熟市卫健委业务系统",
            "level": "department",
            "region_code": "320581",
            "endpoint": f"{base.replace('http://', 'rest://')}/api?push_path=/case&api_key_env=DEPT_PEER_KEY"
            "&retries=0&timeout=5",
        }
    )
    catalog.update("dept-a", report_to=["dept-peer"])
    yield peer, other, other_host.removeprefix("http://")
    stop()
    stop_other()


def test_a_redirect_is_not_followed_with_the_peers_key_and_not_acknowledged(engine, redirecting_peer):
    from collections import Counter

    from sqlalchemy import select

    from hub.db.tables import delivery
    from hub.outbound.delivery import Deliverer
    from hub.wiring import standard_pipeline
    from tests.helpers import xml_doc

    peer, other, other_host = redirecting_peer
    cases = [r for r, _ in Generator(seed=33, departments=["常熟市行政审批局"]).records("case", 2)]
    standard_pipeline(engine).ingest(io.BytesIO(xml_doc(cases, message_id="redir-1")), "dept-a")
    d = Deliverer(engine, batch_size=10)
    d.run_once()
    d.close()
    assert peer.keys_seen and other.keys_seen == [] and other.received == []  # the key went nowhere else
    with engine.connect() as conn:
        rows = conn.execute(select(delivery.c.status, delivery.c.last_error)).all()
    assert Counter(r.status for r in rows) == Counter(dead=2), rows  # a delivery failure, not a receipt
    assert all("307" in r.last_error and f"redirect to {other_host}" in r.last_error for r in rows), rows


def test_the_rest_client_reads_a_peers_answer_under_a_cap(monkeypatch):
    from adapters.errors import RejectedError
    from adapters.registry import open_adapter
    from sandbox.dept_rest import DeptState, make_app
    from sandbox.server import run_in_thread

    state = DeptState()
    state.results = [{"case_no": f"C{i:05d}", "note": "x" * 200} for i in range(50)]
    base, stop = run_in_thread(make_app(state, api_key="dept-key"))
    monkeypatch.setenv("DEPT_PEER_KEY", "dept-key")
    url = base.replace("http://", "rest://") + "/api?pull_path=/case/results&api_key_env=DEPT_PEER_KEY&retries=0"
    try:
        with open_adapter(url) as whole:
            assert len(list(whole.read(limit=1))) == 1  # 50 records of ~230 bytes: under 20 MiB
        with open_adapter(url + "&max_answer_bytes=4096") as capped:
            with pytest.raises(RejectedError, match="larger than 4096 bytes"):
                list(capped.read(limit=1))
    finally:
        stop()


# ------------------------------------------------------------ /metrics, /docs, /ready

METRICS_TOKEN = "metrics-token-for-the-test"


@pytest.fixture
def ops_client(catalog, admin_key, db_url, tmp_path):
    """The API as deployed: a metrics token set, GOVHUB_DOCS unset."""
    from fastapi.testclient import TestClient

    from hub.api.app import create_app
    from hub.core.config import load_settings

    settings = load_settings(
        {
            "GOVHUB_HOME": str(tmp_path / "home"),
            "GOVHUB_DB_URL": db_url,
            "GOVHUB_BROKER_URL": f"govhub+sqlite:///{tmp_path / 'bus.db'}",
            "GOVHUB_METRICS_TOKEN": METRICS_TOKEN,
        }
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        c.engine = c.app.state.engine
        yield c


def test_metrics_need_the_token_or_an_administrators_key(ops_client, catalog, admin_key):
    assert ops_client.get("/metrics").status_code == 401
    assert ops_client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert ops_client.get("/metrics", headers={"Authorization": "Bearer 令牌".encode()}).status_code == 401
    system = ops_client.get("/metrics", headers={"X-Api-Key": catalog.keys["dept-a"]})
    assert system.status_code == 403  # a connected system's key is not an operator's
    for headers in ({"Authorization": f"Bearer {METRICS_TOKEN}"}, {"X-Api-Key": admin_key}):
        r = ops_client.get("/metrics", headers=headers)
        assert r.status_code == 200 and "govhub_collector_up" in r.text, r.text


def test_docs_and_the_openapi_document_are_off_by_default(ops_client):
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert ops_client.get(path).status_code == 404, path


def test_docs_on_when_asked(catalog, db_url, tmp_path):
    from fastapi.testclient import TestClient

    from hub.api.app import create_app
    from hub.core.config import load_settings

    settings = load_settings({"GOVHUB_HOME": str(tmp_path / "h"), "GOVHUB_DB_URL": db_url, "GOVHUB_DOCS": "on"})
    with TestClient(create_app(settings)) as c:
        assert c.get("/openapi.json").status_code == 200 and c.get("/docs").status_code == 200


def test_ready_opens_connections_at_most_once_per_5s_for_anonymous_callers(ops_client, clock, admin_key):
    from sqlalchemy import event

    opened = []
    event.listen(ops_client.engine, "checkout", lambda *a: opened.append(1))
    first = ops_client.get("/ready")
    assert first.status_code == 200 and first.json()["status"] == "ready"
    for _ in range(20):
        again = ops_client.get("/ready")
        assert again.status_code == 200 and again.json() == first.json()
    assert len(opened) == 1  # twenty-one anonymous calls, one check
    clock.advance(seconds=5.1)
    assert ops_client.get("/ready").status_code == 200
    assert len(opened) == 2
    for headers in ({"Authorization": f"Bearer {METRICS_TOKEN}"}, {"X-Api-Key": admin_key}):
        assert ops_client.get("/ready", headers=headers).status_code == 200  # an operator: a live check
    assert len(opened) == 4


def test_the_workers_metrics_port_needs_the_token_or_stays_on_loopback(tmp_path):
    import os
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    from click.testing import CliRunner

    from hub.cli.main import main as cli
    from hub.core.config import ROOT
    from sandbox.server import free_port

    env = {"GOVHUB_HOME": str(tmp_path / "home"), "GOVHUB_METRICS_TOKEN": ""}
    open_to_all = CliRunner().invoke(cli, ["worker", "--metrics-port", "1", "--metrics-host", "0.0.0.0"], env=env)
    assert open_to_all.exit_code == 2 and "GOVHUB_METRICS_TOKEN" in open_to_all.output, open_to_all.output

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GOVHUB_HOME": str(tmp_path / "home"), "GOVHUB_METRICS_TOKEN": "wt"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "worker", "--idle-exit", "60", "--metrics-port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline, status = time.monotonic() + 90, None
        while status is None:
            try:
                urllib.request.urlopen(url, timeout=5)
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()[-2000:]
                time.sleep(0.5)
        assert status == 401
        with urllib.request.urlopen(
            urllib.request.Request(url, headers={"Authorization": "Bearer wt"}), timeout=5
        ) as r:
            assert r.status == 200 and b"govhub_collector_up" in r.read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ------------------------------------------------------------ the SFTP adapter's cap


def test_an_sftp_file_over_the_cap_is_refused_unread_by_govhub_poll(engine, db_url, sftp_server, tmp_path):
    from click.testing import CliRunner
    from sqlalchemy import select

    from hub.cli.main import main as cli
    from hub.db.tables import quarantine
    from synth.generator import write_xml

    drop = sftp_server.state.root / "drop"
    buf = io.BytesIO()
    cases = (r for r, _ in Generator(seed=12, departments=["常熟市行政审批局"]).records("case", 40))
    write_xml(cases, "case", buf, message_id="big-1")
    (drop / "cs-big.xml").write_bytes(buf.getvalue())  # ~40 cases: several KiB
    (drop / "cs-small.xml").write_bytes(b"<x/>")
    url = sftp_server.url("/drop", stable_seconds=0, pattern="cs-big.xml", max_file_bytes=4096)
    env = {"GOVHUB_DB_URL": db_url, "GOVHUB_HOME": str(tmp_path / "home")}
    for _ in range(2):  # refused once, quarantined once, left in place
        r = CliRunner().invoke(cli, ["poll", "cs-approval", "--url", url], env=env, catch_exceptions=False)
        assert r.exit_code == 0, r.output
    assert (drop / "cs-big.xml").exists() and not (drop / "done" / "cs-big.xml").exists()
    with engine.connect() as conn:
        rows = conn.execute(select(quarantine.c.reason, quarantine.c.message)).all()
    assert [row.reason for row in rows] == ["file_too_large"], rows
    assert "at most 4,096" in rows[0].message and "cs-big.xml" in rows[0].message
    from adapters.registry import open_adapter

    with open_adapter(sftp_server.url("/drop", stable_seconds=0, pattern="cs-big.xml")) as whole:
        assert [len(e.body) for e in whole.read()] == [len(buf.getvalue())]  # under the default cap: read
    with open_adapter(url) as capped:  # listed small, grown past the cap by the time it is read: the count stops it
        grown = capped._fetch("cs-big.xml", 100, None, False)
        assert grown is not None and grown.headers["refused_reason"] == "file_too_large" and grown.body == b""


# ------------------------------------------------------------ the hall devices' line listener


def test_device_lines_listen_on_loopback_and_cap_idle_connections(engine, db_url, tmp_path):
    import asyncio

    from click.testing import CliRunner

    from devices.cli import serve as devices_serve
    from devices.gateway import Gateway
    from devices.linefeed import serve_lines
    from hub.core.config import load_settings

    default = next(p for p in devices_serve.params if p.name == "lines_host").default
    assert default == "127.0.0.1", default
    assert "[default: 127.0.0.1]" in CliRunner().invoke(devices_serve, ["--help"]).output.replace("\n", " ")

    settings = load_settings(
        {
            "GOVHUB_HOME": str(tmp_path / "h"),
            "GOVHUB_DB_URL": db_url,
            "GOVHUB_BROKER_URL": f"govhub+sqlite:///{tmp_path / 'b.db'}",
        }
    )
    gateway = Gateway(settings, engine, key=b"k" * 32)

    async def crowd() -> tuple[bytes, bytes]:
        server = await serve_lines(gateway, "127.0.0.1", 0, max_connections=3)
        port = server.sockets[0].getsockname()[1]
        try:
            idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]  # silent: no HELLO
            await asyncio.sleep(0.2)  # let the server accept them (real sockets, no clock involved)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            busy = await asyncio.wait_for(reader.read(), 5)  # answered and closed at once
            writer.close()
            idle[0][1].close()  # one leaves: a place is free again
            await asyncio.sleep(0.2)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"HELLO nobody nokey\n")
            again = await asyncio.wait_for(reader.readline(), 5)
            writer.close()
            for _r, w in idle[1:]:
                w.close()
            return busy, again
        finally:
            server.close()
            await server.wait_closed()

    try:
        busy, again = asyncio.run(crowd())
    finally:
        gateway.close()
    assert busy == b"ERR 0 busy\n"
    assert again.startswith(b"NAK 0 bad_credentials")  # served normally once a place was free


def test_the_soap_client_follows_no_redirect_either():
    from starlette.applications import Starlette
    from starlette.responses import RedirectResponse
    from starlette.routing import Route

    from adapters.errors import RejectedError
    from adapters.registry import open_adapter
    from sandbox.server import run_in_thread

    seen = []

    async def elsewhere(request):
        seen.append(request.url.path)
        return RedirectResponse("http://localhost:9/steal" + request.url.path, status_code=307)

    base, stop = run_in_thread(Starlette(routes=[Route("/{p:path}", elsewhere, methods=["GET", "POST"])]))
    try:
        with open_adapter(base.replace("http://", "soap://") + "/exchange/CaseService?username=u&password=p") as a:
            with pytest.raises(RejectedError, match="307 redirect to localhost:9 not followed"):
                a.ping()
    finally:
        stop()
    assert seen == ["/exchange/CaseService"]
