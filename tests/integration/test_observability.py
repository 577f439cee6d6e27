"""Observability on the real parts: GET /metrics agrees with ``govhub stats --json`` after
an ingest with defects (SQLite and PostgreSQL); queue depths on the embedded transport
and RabbitMQ; delivery lag and dead letters per peer; job freshness; and one correlation
id followed in the JSON logs from a REST push to the outbound delivery, and from
``govhub publish`` through the worker."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from hub.api.app import create_app
from hub.bus import topology as bus
from hub.cli.main import main as cli
from hub.core import clock, correlation
from hub.core.config import ROOT, load_settings
from hub.db.engine import engine_for, migrate
from hub.db.tables import delivery, outbox
from hub.ingest.partitions import publish_inbound
from hub.ops import logs
from hub.ops.metrics import HubCollector, registry, render
from hub.outbound.delivery import Deliverer, enqueue
from sandbox.dept_rest import DeptState, make_app
from sandbox.server import run_in_thread
from synth.generator import Generator
from tests.integration.test_quarantine_api import admin_key  # pytest fixture, used by name
from tests.integration.test_rest_ingress import client
from tests.integration.test_soap_ingress import wsdl

# generated cases depend on the day (synth.generator reads the hub clock): on some days two
# seeds give a colliding case number and a delivery is superseded; pin the day
pytestmark = pytest.mark.clock()

DEPT = "常熟市行政审批局"
ID_NUMBER = re.compile(r"\b\d{17}[\dXx]\b")


def samples(text: str) -> dict[tuple, float]:
    """Metric text → {(sample name, sorted label items): value}."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def collected(engine, settings=None) -> dict[tuple, float]:
    from prometheus_client import CollectorRegistry

    reg = CollectorRegistry()
    reg.register(HubCollector(engine, settings))
    return samples(render(reg).decode())


class JsonLog:
    """The hub's JSON log lines of a test (the production format), parsed."""

    def __init__(self):
        self.stream = io.StringIO()
        self.install()

    def install(self) -> None:  # again after a CLI command, which sets up its own handler
        logs.setup("INFO", stream=self.stream, fmt="json")

    def __call__(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]


@pytest.fixture
def json_log():
    logger = logging.getLogger("govhub")
    saved = logger.handlers[:], logger.level, logger.propagate
    yield JsonLog()
    logger.handlers[:], logger.level, logger.propagate = saved


def push(client, key, records, message_id, **headers):
    body = json.dumps({"message_id": message_id, "records": records}, ensure_ascii=False).encode()
    return client.post(
        "/api/v1/case", content=body, headers={"X-Api-Key": key, "Content-Type": "application/json", **headers}
    )


def cases(n: int, seed: int, defect_rate: float):
    return [rec for rec, _ in Generator(seed=seed, departments=[DEPT]).records("case", n, defect_rate=defect_rate)]


def test_metrics_endpoint_agrees_with_stats_after_an_ingest_with_defects(client, catalog, db_url, admin_key):
    r = push(client, catalog.keys["dept-a"], cases(60, seed=3, defect_rate=0.3), "obs-1")
    assert r.status_code == 200 and r.json()["quarantined"] > 0
    push(client, catalog.keys["dept-a"], cases(60, seed=3, defect_rate=0.3), "obs-1")  # all duplicates

    scraped = client.get("/metrics", headers={"X-Api-Key": admin_key})  # an administrator may read it
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    m = samples(scraped.text)
    stats = json.loads(
        CliRunner()
        .invoke(
            cli,
            ["stats", "--json"],
            env={"GOVHUB_DB_URL": db_url, "GOVHUB_HOME": str(client.app.state.settings.home)},
            catch_exceptions=False,
        )
        .output
    )
    assert stats["sources"], "the ingest left no counts"
    for src in stats["sources"]:
        labels = (("kind", src["kind"]), ("system", src["system"]))
        for outcome in ("received", "stored", "duplicate", "quarantined"):
            assert m[(f"govhub_records_{outcome}_total", labels)] == src[outcome], outcome
    dept = next(s for s in stats["sources"] if s["system"] == "dept-a")
    assert dept["duplicate"] == 60 and dept["received"] == 120
    for reason, n in stats["quarantined_by_reason"]["dept-a"].items():
        assert m[("govhub_quarantine_records", (("reason", reason), ("system", "dept-a")))] == n
    # a store transaction of this process was timed
    assert m[("govhub_batch_duration_seconds_count", (("kind", "case"),))] >= 1
    assert m[("govhub_collector_up", (("part", "database"),))] == 1
    assert m[("govhub_collector_up", (("part", "bus"),))] == 1


def test_metrics_can_be_switched_off(catalog, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVHUB_METRICS", "off")
    settings = load_settings({"GOVHUB_HOME": str(tmp_path / "home"), "GOVHUB_DB_URL": db_url})
    with TestClient(create_app(settings)) as c:
        assert c.get("/metrics").status_code == 404


def test_queue_depth_on_the_bus(broker_url, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'hub.db'}"
    migrate(db_url)
    settings = load_settings(
        {"GOVHUB_HOME": str(tmp_path / "home"), "GOVHUB_DB_URL": db_url, "GOVHUB_BROKER_URL": broker_url}
    )
    engine = engine_for(db_url)
    before = collected(engine, settings)
    with bus.connect(settings) as conn:
        bus.declare(conn)
        for i in range(3):
            publish_inbound(conn, b"<x/>", "dept-a", f"depth-{i}")
        bus.publish_dead(conn, b"<x/>", {"system": "dept-a", "message_id": "d-1"}, "processing_failed", "test")
    after = collected(engine, settings)
    dead = (("queue", "govhub.dead"),)

    def inbound(m):  # the inbound partitions together (one on the embedded bus, several on RabbitMQ)
        return sum(
            v
            for (name, labels), v in m.items()
            if name == "govhub_queue_messages" and dict(labels)["queue"].startswith("govhub.inbound.")
        )

    assert inbound(after) - inbound(before) == 3
    assert after[("govhub_queue_messages", dead)] - before.get(("govhub_queue_messages", dead), 0) == 1
    assert after[("govhub_collector_up", (("part", "bus"),))] == 1


def test_an_unreachable_bus_is_reported_not_raised(engine, tmp_path):
    settings = load_settings({"GOVHUB_HOME": str(tmp_path), "GOVHUB_BROKER_URL": "amqp://nobody:x@127.0.0.1:1//"})
    m = collected(engine, settings)
    assert m[("govhub_collector_up", (("part", "bus"),))] == 0
    assert m[("govhub_collector_up", (("part", "database"),))] == 1


def test_delivery_lag_and_dead_letters_per_peer(engine):
    now = clock.now().replace(microsecond=0)
    with engine.begin() as conn:
        enqueue(
            conn, "prov", "case", [("dept-a", "K1", 1, "K1"), ("dept-a", "K2", 1, "K2")], now - timedelta(seconds=900)
        )
        enqueue(conn, "prov", "case", [("dept-a", "K3", 1, "K3")], now - timedelta(seconds=60))
        enqueue(conn, "city", "case", [("dept-a", "K4", 1, "K4")], now)
        conn.execute(update(delivery).where(delivery.c.record_key == "K4").values(status="dead"))
        enqueue(conn, "city", "case", [("dept-a", "K5", 1, "K5")], now)  # issue #13: a defect is counted
        conn.execute(update(delivery).where(delivery.c.record_key == "K5").values(status="defect"))
    m = collected(engine)
    assert m[("govhub_delivery_defect", (("peer", "city"),))] == 1
    assert m[("govhub_delivery_pending", (("peer", "prov"),))] == 3
    assert 900 <= m[("govhub_delivery_oldest_pending_age_seconds", (("peer", "prov"),))] < 900 + 120
    assert m[("govhub_delivery_dead", (("peer", "city"),))] == 1
    assert m[("govhub_delivery_pending", (("peer", "city"),))] == 0
    assert m[("govhub_delivery_oldest_pending_age_seconds", (("peer", "city"),))] == 0


def test_job_freshness_after_an_airflow_task_records_success(engine, db_url, monkeypatch):
    from hub.ops import airflow_support
    from hub.ops.jobs import last_runs

    monkeypatch.setenv("GOVHUB_DB_URL", db_url)
    assert airflow_support.DEFAULT_ARGS["on_success_callback"] is airflow_support.task_succeeded
    # the callback receives Airflow's context; only its task instance's ids are read
    ti = SimpleNamespace(dag_id="item_catalog_sync", task_id="js_province.pull_and_diff")
    assert not any(k[0] == "govhub_job_seconds_since_success" for k in collected(engine))
    airflow_support.task_succeeded({"task_instance": ti})
    airflow_support.task_failed({"task_instance": ti, "exception": RuntimeError("peer said 证件号 320581199001011234")})
    m = collected(engine)
    job = (("job", "item_catalog_sync.js_province.pull_and_diff"),)
    assert 0 <= m[("govhub_job_seconds_since_success", job)] < 120
    stamp = m[("govhub_job_last_success_timestamp_seconds", job)]
    assert abs(stamp - clock.now().replace(tzinfo=clock.CST).timestamp()) < 120
    (run,) = last_runs(engine)
    assert (run["successes"], run["failures"]) == (1, 1)
    assert "320581199001011234" not in run["last_error"]


def test_one_correlation_id_from_rest_push_to_delivery(client, catalog, json_log, monkeypatch):
    state = DeptState()
    base, stop = run_in_thread(make_app(state, api_key="dept-key"))
    try:
        monkeypatch.setenv("DEPT_PEER_KEY", "dept-key")
        port = base.rsplit(":", 1)[1]
        catalog.add(
            {
                "id": "dept-peer",
                "name": "常熟市卫健委业务系统",
                "level": "department",
                "region_code": "320581",
                "endpoint": f"rest://127.0.0.1:{port}/api?push_path=/case&api_key_env=DEPT_PEER_KEY&retries=0&timeout=5",
            }
        )
        catalog.update("dept-a", report_to=["dept-peer"])
        r = push(
            client,
            catalog.keys["dept-a"],
            cases(12, seed=5, defect_rate=0.0),
            "corr-1",
            **{"X-Correlation-ID": "case-push-7f3a"},
        )
        assert r.status_code == 200 and r.json()["stored"] == 12
        assert r.headers["X-Correlation-ID"] == "case-push-7f3a"
        other = push(client, catalog.keys["dept-a"], cases(3, seed=9, defect_rate=0.0), "corr-2")
        generated = other.headers["X-Correlation-ID"]
        assert generated != "case-push-7f3a" and len(generated) == 32

        with client.engine.connect() as conn:
            ids = {r[0] for r in conn.execute(select(delivery.c.correlation_id))}
            bodies = [r[0] for r in conn.execute(select(outbox.c.body))]
        assert ids == {"case-push-7f3a", generated}
        assert {b["correlation_id"] for b in bodies} == {"case-push-7f3a", generated}

        with correlation.bound(None):  # the delivery process has no ingress of its own
            d = Deliverer(client.engine)
            d.run_once()
            d.close()
        assert len(state.received) == 15
    finally:
        stop()

    lines = json_log()
    mine = [ln for ln in lines if "case-push-7f3a" in ln["correlation_id"]]
    assert {ln["logger"] for ln in mine} >= {"govhub.pipeline", "govhub.delivery"}
    assert any("corr-1" in ln["message"] for ln in mine if ln["logger"] == "govhub.pipeline")
    assert any("dept-peer" in ln["message"] for ln in mine if ln["logger"] == "govhub.delivery")
    assert not any(ID_NUMBER.search(json.dumps(ln, ensure_ascii=False)) for ln in lines), "an ID number in the log"


def test_one_correlation_id_from_publish_through_the_worker(settings, engine, json_log, catalog, tmp_path):
    from hub.worker.process import Worker

    path = tmp_path / "cases.jsonl"
    path.write_text(
        "\n".join(json.dumps(c, ensure_ascii=False) for c in cases(5, seed=11, defect_rate=0.0)), encoding="utf-8"
    )
    env = {
        "GOVHUB_HOME": str(settings.home),
        "GOVHUB_DB_URL": settings.db_url,
        "GOVHUB_BROKER_URL": settings.broker_url,
    }
    out = (
        CliRunner()
        .invoke(
            cli,
            ["publish", "--system", "dept-a", "--kind", "case", "--format", "jsonl", str(path)],
            env=env,
            catch_exceptions=False,
        )
        .output
    )
    cid = re.search(r"correlation id ([0-9a-f]{32})", out).group(1)
    json_log.install()
    handled = Worker(settings, engine).run(idle_exit=2)
    assert handled["stored"] == 5
    # on RabbitMQ the message travels as parts (one per partition), each logged under the same id
    mine = [ln for ln in json_log() if ln["correlation_id"] == cid and ln["logger"] == "govhub.pipeline"]
    received = [int(m.group(1)) for ln in mine if (m := re.search(r"received=(\d+)", ln["message"]))]
    assert sum(received) == 5, json_log()


def test_each_sftp_file_gets_its_own_correlation_id(engine, sftp_server, json_log):
    from adapters.registry import open_adapter
    from hub.ingest.drop import poll_drop
    from hub.wiring import standard_pipeline
    from tests.integration.test_sftp_drop import SYSTEM, case_xml, drop_url

    drop = sftp_server.state.root / "drop"
    for i in range(2):
        (drop / f"cs-corr-{i}.xml").write_bytes(case_xml(seed=30 + i, n=4, message_id=f"cs-corr-{i}"))
    with correlation.bound("outer-poll"), open_adapter(drop_url(sftp_server)) as adapter:
        assert poll_drop(adapter, SYSTEM, standard_pipeline(engine))["stored"] == 8
    by_file = {}
    for ln in json_log():
        if ln["logger"] == "govhub.drop" and "ingesting" in ln["message"]:
            by_file[ln["message"].split()[0]] = ln["correlation_id"]
    assert set(by_file) == {"cs-corr-0.xml", "cs-corr-1.xml"}
    assert len(set(by_file.values())) == 2 and "outer-poll" not in by_file.values()
    for name, cid in by_file.items():
        ingested = [ln for ln in json_log() if ln["logger"] == "govhub.pipeline" and ln["correlation_id"] == cid]
        assert len(ingested) == 1 and name.removesuffix(".xml") in ingested[0]["message"]


@pytest.fixture
def full_soap_app(wsdl, db_url, tmp_path):
    """The whole API (with its middleware) serving the SOAP catalogue the ``wsdl`` fixture wrote."""
    settings = load_settings({"GOVHUB_HOME": str(tmp_path / "home"), "GOVHUB_DB_URL": db_url})
    base, stop = run_in_thread(create_app(settings))
    yield f"{base}/soap/push?wsdl"
    stop()


def test_a_soap_push_runs_under_the_callers_correlation_id(full_soap_app, json_log):
    import requests
    import zeep
    from zeep.transports import Transport
    from zeep.wsse.username import UsernameToken

    from tests.integration.test_soap_ingress import PASSWORD, USER, as_zeep
    from tests.integration.test_soap_ingress import cases as soap_cases

    session = requests.Session()
    session.headers[correlation.HEADER] = "soap-push-51"
    svc = zeep.Client(full_soap_app, wsse=UsernameToken(USER, PASSWORD), transport=Transport(session=session)).service
    assert svc.PushCases(case=as_zeep(soap_cases(3)), message_id="soap-corr-1").stored == 3
    mine = [ln for ln in json_log() if ln["correlation_id"] == "soap-push-51"]
    assert any(ln["logger"] == "govhub.pipeline" and "soap-corr-1" in ln["message"] for ln in mine), json_log()


def test_worker_serves_metrics_on_its_port(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GOVHUB_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "worker", "--idle-exit", "60", "--metrics-port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline, text = time.monotonic() + 90, None
        while time.monotonic() < deadline and text is None:
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                time.sleep(0.5)
        assert text is not None, "the worker never served /metrics"
        m = samples(text)
        assert m[("govhub_collector_up", (("part", "database"),))] == 1
        assert m[("govhub_queue_messages", (("queue", "govhub.inbound.0"),))] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
