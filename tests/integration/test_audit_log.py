"""Issue #21, the exchange log (存证): every message in (REST, SOAP, a file drop, the bus
worker, a redelivery) and every delivery out gets one hash-chained entry, the exact bytes
are kept by digest, and ``govhub audit verify`` holds over them; tampering with an entry,
deleting one or altering stored bytes is found at the right seq; a log that cannot be
written refuses the push as retryable and nothing of it is stored."""

from __future__ import annotations

import hashlib
import io
import json
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from adapters.registry import open_adapter
from hub.audit import chain
from hub.audit.objects import ObjectStore
from hub.audit.verify import verify
from hub.cli.main import main
from hub.core.config import load_settings
from hub.db.engine import make_engine
from hub.db.tables import exchange_log, ingest_message, lineage
from hub.ingest.drop import poll_drop
from hub.ops.metrics import registry, render
from hub.outbound.delivery import Deliverer
from hub.wiring import standard_pipeline
from hub.worker.process import Worker
from tests.helpers import count, library_count, xml_doc
from tests.integration.conftest import catalog  # pytest fixture, used by name
from tests.integration.test_delivery import peer  # pytest fixture, used by name
from tests.integration.test_rest_ingress import cases_of, client, push  # pytest fixtures and helpers
from tests.security.test_authn import envelope, text_token

DEPT_A = "常熟市行政审批局"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """The hub's home for this test: the object store of every process in it."""
    monkeypatch.setenv("GOVHUB_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def entries(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(exchange_log).order_by(exchange_log.c.seq)).mappings()]


def audit_verify(db_url: str, home, *args: str):
    env = {"GOVHUB_DB_URL": db_url, "GOVHUB_HOME": str(home)}
    return CliRunner().invoke(main, ["audit", "verify", *args], env=env)


def test_every_channel_in_and_a_delivery_out_is_logged_and_verify_holds(client, catalog, peer, home, tmp_path, db_url):
    engine = client.engine
    key = catalog.keys["dept-a"]
    body_records = [r for r, _ in cases_of(DEPT_A, 3, seed=41)]
    assert push(client, key, body_records, message_id="rest-1").status_code == 200
    assert push(client, key, body_records, message_id="rest-1").status_code == 200  # a redelivery: duplicates
    soap_body = envelope(text_token("dept-a", "dept-a-password"), 42, "soap-1")
    r = client.post("/soap/push", content=soap_body, headers={"Content-Type": "text/xml; charset=utf-8"})
    assert r.status_code == 200, r.text
    drop = tmp_path / "drop"
    drop.mkdir()
    dropped = xml_doc([r for r, _ in cases_of(DEPT_A, 2, seed=43)], message_id="file-1")
    (drop / "cases.xml").write_bytes(dropped)
    poll_drop(open_adapter(f"file://{drop}?pattern=*.xml"), "dept-a", standard_pipeline(engine))
    bus_body = xml_doc([r for r, _ in cases_of(DEPT_A, 2, seed=44)], message_id="bus-1")
    settings = load_settings({"GOVHUB_HOME": str(home), "GOVHUB_DB_URL": db_url})
    Worker(settings, engine).handle(bus_body, {"system": "dept-a", "message_id": "bus-1", "format": "xml"})
    Deliverer(engine, batch_size=50).run_once()  # dept-a reports to dept-peer: one delivery out

    log = entries(engine)
    ins = [(e["channel"], e["message_id"], e["outcome"]["stored"], e["outcome"]["duplicate"]) for e in log[:5]]
    assert ins == [
        ("rest", "rest-1", 3, 0),
        ("rest", "rest-1", 0, 3),
        ("soap", "soap-1", 1, 0),
        ("file", "file-1", 2, 0),
        ("bus", "bus-1", 2, 0),
    ]
    assert all(e["direction"] == "in" and e["system"] == "dept-a" for e in log[:5])
    assert log[2]["digest"] == "sha256:" + hashlib.sha256(soap_body).hexdigest()  # the envelope as received
    assert log[3]["digest"] == "sha256:" + hashlib.sha256(dropped).hexdigest() and log[3]["size"] == len(dropped)
    out = log[5:]
    assert out and all(e["direction"] == "out" and e["system"] == "dept-peer" for e in out)
    assert out[0]["outcome"]["status"] == "acknowledged" and out[0]["outcome"]["receipt_digest"].startswith("sha256:")
    sent = ObjectStore(home / "objects").read(out[0]["digest"])
    assert sent is not None and json.loads(sent)["message_id"] == out[0]["message_id"]  # the bytes the peer got
    assert [e["prev"] for e in log] == [chain.GENESIS] + [e["hash"] for e in log[:-1]]

    result = audit_verify(db_url, home)
    assert result.exit_code == 0, result.output
    assert f"entries checked: {len(log)}" in result.output and "the chain holds" in result.output


def _ingest_four(engine, home) -> list[dict]:
    pipe = standard_pipeline(engine)
    for i in range(4):
        doc = xml_doc([r for r, _ in cases_of(DEPT_A, 2, seed=50 + i)], message_id=f"m{i}")
        pipe.ingest(io.BytesIO(doc), "dept-a", channel="cli")
    return entries(engine)


@pytest.mark.parametrize("tamper", ["update", "delete", "bytes"])
def test_verify_finds_each_kind_of_tampering_at_its_seq(engine, catalog, home, db_url, tamper):
    log = _ingest_four(engine, home)
    assert audit_verify(db_url, home).exit_code == 0
    with engine.begin() as conn:
        if tamper == "update":  # an administrator rewrites what a message's outcome was
            conn.execute(text("UPDATE exchange_log SET system = 'dept-b' WHERE seq = 2"))
        elif tamper == "delete":
            conn.execute(text("DELETE FROM exchange_log WHERE seq = 3"))
    if tamper == "bytes":
        path = ObjectStore(home / "objects").path(log[1]["digest"])
        path.write_bytes(path.read_bytes().replace(b"dept", b"DEPT", 1))
    result = audit_verify(db_url, home)
    assert result.exit_code == 1, result.output
    seq, words = {"update": (2, "altered"), "delete": (3, "missing"), "bytes": (2, "do not match")}[tamper]
    assert f"BREAK at seq {seq}:" in result.output and words in result.output, result.output
    assert f"entries checked: {seq - 1}" in result.output
    scraped = render(registry(engine, None)).decode()  # the chain's length and the failed verification
    assert "govhub_exchange_log_entries 4.0" in scraped
    assert "govhub_exchange_log_verify_failures_total 1.0" in scraped


def test_a_deleted_entry_relinked_by_hand_still_breaks_at_the_next(engine, catalog, home):
    log = _ingest_four(engine, home)
    with engine.begin() as conn:  # remove entry 2 and renumber 3 → 2 to hide the gap: its prev still points at 2
        conn.execute(text("DELETE FROM exchange_log WHERE seq = 2"))
        conn.execute(text("UPDATE exchange_log SET seq = 2 WHERE seq = 3"))
    res = verify(engine, objects=ObjectStore(home / "objects"))
    assert not res.holds and res.break_seq == 2 and "prev" in res.problem and res.checked == 1
    assert log[2]["prev"] == log[1]["hash"]  # what the moved entry still names


def _unwritable(engine, how: str) -> None:
    with engine.begin() as conn:
        if how == "renamed":
            conn.execute(text("ALTER TABLE exchange_log RENAME TO exchange_log_away"))
        else:  # PostgreSQL: a trigger that refuses every row (as a full disk or a policy would)
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_log() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text("CREATE TRIGGER refuse BEFORE INSERT ON exchange_log FOR EACH ROW EXECUTE FUNCTION refuse_log()")
            )


@pytest.mark.parametrize("how", ["renamed", "refusing_trigger", "objects_blocked"])
def test_a_log_that_cannot_be_written_refuses_the_push_as_retryable_and_nothing_is_stored(
    client, catalog, how, tmp_path
):
    engine = client.engine
    if how == "refusing_trigger" and engine.dialect.name != "postgresql":
        pytest.skip("a refusing trigger is written for PostgreSQL")
    if how == "objects_blocked":  # the object store cannot be created (a file where its folder goes)
        (tmp_path / "home").mkdir(exist_ok=True)
        (tmp_path / "home" / "objects").write_bytes(b"")
    else:
        _unwritable(engine, how)
    records = [r for r, _ in cases_of(DEPT_A, 5, seed=61)]
    r = push(client, catalog.keys["dept-a"], records, message_id="unlogged-1")
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] and r.json()["error"] == "exchange_log_unavailable"
    assert library_count(engine, "case") == 0 and count(engine, lineage) == 0 and count(engine, ingest_message) == 0
    soap_body = envelope(text_token("dept-a", "dept-a-password"), 62, "soap-unlogged")
    s = client.post("/soap/push", content=soap_body, headers={"Content-Type": "text/xml; charset=utf-8"})
    assert s.status_code == 500 and b"Server" in s.content and b"exchange_log_unavailable" in s.content
    assert library_count(engine, "case") == 0 and count(engine, lineage) == 0


@pytest.mark.postgres
def test_concurrent_appends_from_two_engines_keep_one_chain(db_url, home):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer")
    engines = [make_engine(db_url), make_engine(db_url)]
    barrier = threading.Barrier(2)
    digest, size = ObjectStore(home / "objects").put_bytes(b"")

    def writer(i: int) -> None:
        barrier.wait()
        for n in range(40):
            with engines[i].begin() as conn:
                chain.append(
                    conn,
                    direction="in",
                    channel="rest",
                    system=f"sys-{i}",
                    peer=None,
                    message_id=f"w{i}-{n}",
                    digest=digest,
                    size=size,
                    outcome={"received": 0, "stored": 0, "duplicate": 0, "quarantined": 0},
                )

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    res = verify(engines[0], objects=ObjectStore(home / "objects"))
    assert res.holds, res.problem
    assert res.checked == 80 and res.last_seq == 80
    for e in engines:
        e.dispose()


class _Counting(Worker):
    """The hub's worker, counting the times it took the message in hand."""

    attempts = 0

    def handle(self, body, headers, content_type=None):
        type(self).attempts += 1
        return super().handle(body, headers, content_type)


def test_the_bus_worker_puts_an_unlogged_message_back_and_stores_it_once_the_log_is_back(settings, engine, home):
    import time

    from hub.bus import topology as bus
    from hub.ingest.partitions import publish_inbound
    from tests.helpers import quarantine_rows

    _unwritable(engine, "renamed")
    body = xml_doc([r for r, _ in cases_of(DEPT_A, 3, seed=71)], message_id="bus-unlogged")
    with bus.connect(settings) as conn:
        bus.declare(conn)
        publish_inbound(conn, body, "cs-approval", "bus-unlogged")
    _Counting.attempts = 0
    worker = _Counting(settings, engine)
    done: list = []
    t = threading.Thread(target=lambda: done.append(worker.run(idle_exit=3.0)))
    t.start()
    deadline = time.monotonic() + 30
    while _Counting.attempts < 2 and time.monotonic() < deadline:  # refused and put back, taken again
        time.sleep(0.05)
    assert _Counting.attempts >= 2
    assert library_count(engine, "case") == 0 and count(engine, lineage) == 0 and not quarantine_rows(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE exchange_log_away RENAME TO exchange_log"))
    t.join(60)
    assert done and done[0]["stored"] == 3 and library_count(engine, "case") == 3 and not quarantine_rows(engine)
    logged = entries(engine)  # one per part of the message the publisher split by case
    assert {e["channel"] for e in logged} == {"bus"} and all(e["message_id"].startswith("bus-unlogged") for e in logged)
    assert sum(e["outcome"]["stored"] for e in logged) == 3
