"""Every input of the bad-input corpus (``manifest.yaml``) through its real channel —
``govhub ingest``, the bus and a running ``govhub worker`` process, the REST and SOAP
ingress, the SFTP drop poller, the hall-device gateway — on the embedded bus, with SQLite
and with PostgreSQL as the database.

Per input: the expected refusal or quarantine (status, error code, message fragment,
reason codes); nothing silently dropped (what the channel reports and what the database
counts both add up to the records received, and ``govhub stats`` moves by the same);
no unmasked ID number in anything the sender, the operator or the log sees; no 500
without a clear message. Valid data carrying injection strings is stored verbatim and
comes back verbatim as data. After the bus inputs the worker is alive and still stores
a good message."""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from collections import Counter

import pytest
from click.testing import CliRunner
from kombu import Producer
from sqlalchemy import func, inspect, select

from hub.cli.main import main
from hub.db.tables import LIBRARY, lineage, quarantine
from hub.model.masking import mask_text
from tests.corpus.conftest import RESULTS, SOAP_USER
from tests.corpus.manifest import HERE, Entry, load_manifest

ENTRIES = load_manifest()
ID_RE = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
SOAP_FAULT_CODE = re.compile(r"<(?:\w+:)?code>([^<]+)</(?:\w+:)?code>")


class Seen:
    """What one input did: counts moved in the database, rows added, and every text a
    person gets to read about it (answers, CLI output, quarantine messages, logs)."""

    def __init__(self):
        self.reported: dict[str, int] | None = None  # what the channel itself answered
        self.status: int | None = None
        self.error: str | None = None
        self.message: str = ""
        self.texts: list[str] = []


def snapshot(engine) -> dict:
    from devices.store import device_event
    from hub.ops.stats import counts

    with engine.connect() as conn:
        return {
            "stats": counts(engine)["total"],
            "lineage": conn.execute(select(func.count()).select_from(lineage)).scalar_one(),
            "quarantine_max": conn.execute(select(func.coalesce(func.max(quarantine.c.id), 0))).scalar_one(),
            "cases": conn.execute(select(func.count()).select_from(LIBRARY["case"])).scalar_one(),
            "device_events": conn.execute(select(func.count()).select_from(device_event)).scalar_one(),
        }


def new_quarantine(engine, after: int) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(quarantine).where(quarantine.c.id > after))]


# ------------------------------------------------------------------ channels


def run_file(entry: Entry, hub, request, data: bytes) -> Seen:
    path = hub.tmp / "files" / entry.id / (entry.input.rsplit("/", 1)[-1] if entry.input else f"{entry.id}.{entry.fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    args = ["ingest", "--system", entry.system, "--json", str(path)]
    args += ["--format", entry.fmt] if entry.fmt else []
    args += ["--kind", entry.kind] if entry.kind else []
    result = CliRunner().invoke(main, args, env=hub.env)
    seen = Seen()
    seen.status = result.exit_code
    seen.message = result.output
    seen.texts.append(result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"govhub ingest crashed: {result.exception!r}\n{result.output}"
    )
    if result.exit_code == 0:
        summary = json.loads(result.output[result.output.index("[") :])[0]
        seen.reported = {k: summary[k] for k in ("stored", "duplicate", "quarantined")}
    return seen


def run_bus(entry: Entry, hub, request, data: bytes) -> Seen:
    from hub.bus import topology as bus

    worker = request.getfixturevalue("worker")
    assert worker.alive(), "the worker died before this input"
    message_id = f"corpus-{entry.id}"
    headers = {
        "system": entry.system,
        "message_id": message_id,
        "kind": entry.kind,
        "format": entry.fmt,
        "filename": entry.input.rsplit("/", 1)[-1] if entry.input else None,
    }
    headers.update(entry.headers)
    headers = {k: v for k, v in headers.items() if v is not None}
    with bus.connect(hub.settings) as conn:
        # straight onto the (embedded bus's only) partition, hostile headers and all
        Producer(conn.default_channel).publish(
            data,
            exchange=bus.INBOUND,
            routing_key="inbound.0",
            declare=[bus.partition_queue(0)],
            content_type="application/octet-stream",
            content_encoding="binary",
            headers=headers,
            delivery_mode=2,
        )
    wait_for_rows(hub.engine, headers.get("message_id") or "body:", entry.expect.received)
    worker.handled.append(entry.id)
    assert worker.alive(), f"the worker died on {entry.id}:\n{worker.text()[-3000:]}"
    seen = Seen()
    seen.texts.append(worker.text())
    return seen


def wait_for_rows(engine, message_id: str, expected: int, timeout: float = 60) -> None:
    """Until the worker has written ``expected`` lineage rows for the message and nothing
    more arrives for a moment (an extra row would be seen)."""
    q = select(func.count()).select_from(lineage).where(lineage.c.message_id.startswith(message_id))
    deadline, last, stable_since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            n = conn.execute(q).scalar_one()
        if n != last:
            last, stable_since = n, time.monotonic()
        if n >= max(expected, 1) and time.monotonic() - stable_since > 1.0:
            return
        time.sleep(0.2)


def run_rest(entry: Entry, hub, request, data: bytes) -> Seen:
    api = request.getfixturevalue("api")
    headers = {
        "X-Api-Key": hub.keys[entry.system],
        "Content-Type": entry.content_type or "application/json",
        **{k: v for k, v in entry.headers.items() if v is not None},
    }
    r = api.post(f"/api/v1/{entry.kind or 'case'}", content=data, headers=headers)
    seen = Seen()
    seen.status, seen.texts = r.status_code, [r.text]
    assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
    body = r.json()
    if r.status_code == 200:
        seen.reported = {k: body[k] for k in ("stored", "duplicate", "quarantined")}
        seen.message = " ".join(x["message"] or "" for x in body["records"])
    else:
        seen.error, seen.message = body["error"], body["message"]
    return seen


def run_soap(entry: Entry, hub, request, data: bytes) -> Seen:
    api = request.getfixturevalue("api")
    r = api.post("/soap/push", content=data, headers={"Content-Type": entry.content_type or "text/xml; charset=utf-8"})
    seen = Seen()
    seen.status, seen.texts = r.status_code, [r.text]
    if r.status_code == 200:
        from lxml import etree

        doc = etree.fromstring(r.content)
        get = lambda name: int(doc.findtext(f".//{{urn:govhub:service:1}}{name}"))  # noqa: E731
        seen.reported = {k: get(k) for k in ("stored", "duplicate", "quarantined")}
        seen.message = r.text
    else:
        codes = SOAP_FAULT_CODE.findall(r.text)
        assert codes, f"SOAP answer {r.status_code} without a PushFault code: {r.text[:500]}"
        seen.error, seen.message = codes[0], r.text
        assert seen.error != "Server", f"the hub failed internally on {entry.id}: {r.text[:500]}"
    return seen


def run_device(entry: Entry, hub, request, data: bytes) -> Seen:
    client = request.getfixturevalue("devices_api")
    headers = {"X-Api-Key": hub.keys[entry.system]}
    if entry.content_type:
        headers["Content-Type"] = entry.content_type
    r = client.post(f"/devices/{entry.vendor}", content=data, headers=headers)
    seen = Seen()
    seen.status, seen.texts = r.status_code, [r.text]
    body = r.json()
    if r.status_code == 200:
        seen.reported = {k: body[k] for k in ("stored", "duplicate", "quarantined")}
        seen.message = " ".join(e.get("message", "") for e in body["events"])
    else:
        seen.error, seen.message = body["error"], body["message"]
        assert body.get("quarantined") is True or r.status_code in (401, 413), body
    return seen


def run_sftp(entry: Entry, hub, request, data: bytes) -> Seen:
    from adapters.registry import open_adapter
    from hub.ingest.drop import poll_drop
    from hub.wiring import standard_pipeline

    server = request.getfixturevalue("sftp")
    folder = f"/drop-{entry.id}"
    drop = server.state.root / folder.lstrip("/")
    drop.mkdir()
    secret = server.state.root / "etc" / "passwd.xml"  # what "../../etc/passwd.xml" reaches on a careless server
    secret.write_bytes((HERE / "sftp" / "secret_outside_drop.xml").read_bytes())
    if entry.rogue:
        server.state.rogue_names[folder] = [entry.remote_name]
    else:
        (drop / entry.remote_name).write_bytes(data)
    ops_before = len(server.state.ops)
    seen = Seen()
    with open_adapter(server.url(folder, stable_seconds=0, pattern="*.xml")) as adapter:
        counts = poll_drop(adapter, entry.system, standard_pipeline(hub.engine))
        again = poll_drop(adapter, entry.system, standard_pipeline(hub.engine))
    seen.reported = {k: counts[k] for k in ("stored", "duplicate", "quarantined")}
    ops = server.state.ops[ops_before:]
    touched = [(op, path) for op, path in ops if op != "list" and entry.remote_name in path]
    if entry.expect.reasons.get("file_name_unsafe"):
        assert touched == [], f"the poller acted on an unsafe name: {touched}"
        assert again["quarantined"] == 0, "an unsafe name must be quarantined once, not on every poll"
        assert secret.exists() and not (drop / "done").exists()
        if not entry.rogue:
            assert (drop / entry.remote_name).exists(), "an unsafe file must be left where it is"
    else:
        assert (drop / "done" / entry.remote_name).exists(), "a file the hub read is moved to done/"
    assert not any(p.startswith("/etc") or ".." in p for _op, p in ops), f"a path outside the drop was used: {ops}"
    server.state.rogue_names.pop(folder, None)
    with hub.engine.connect() as conn:
        seen.texts += [r.message for r in conn.execute(select(quarantine.c.message))]
    return seen


CHANNELS = {
    "file": run_file,
    "bus": run_bus,
    "rest": run_rest,
    "soap": run_soap,
    "device": run_device,
    "sftp": run_sftp,
}


# ------------------------------------------------------------------ the test


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_corpus_input(entry: Entry, hub, request):
    verdict = "failed"
    try:
        check(entry, hub, request)
        verdict = "passed"
    finally:
        RESULTS.append((entry.id, hub.db, entry.channel, entry.expect.outcome, verdict))


def check(entry: Entry, hub, request) -> None:
    data = entry.data()
    before = snapshot(hub.engine)
    verbatim_before = {f: stored_count(hub.engine, f, v) for f, v in entry.stored_text.items()}
    seen = CHANNELS[entry.channel](entry, hub, request, data)
    after = snapshot(hub.engine)
    rows = new_quarantine(hub.engine, before["quarantine_max"])
    exp = entry.expect

    # the answer the sender (or the operator at the CLI) gets
    if exp.status is not None:
        assert seen.status == exp.status, f"status {seen.status}, expected {exp.status}: {seen.message[:600]}"
    if entry.channel in ("rest", "device"):
        assert seen.status < 500, f"HTTP {seen.status}: {seen.message[:600]}"
    if exp.error is not None:
        assert seen.error == exp.error, f"error {seen.error!r}, expected {exp.error!r}: {seen.message[:600]}"
    if exp.message is not None:  # what the sender was told, or (files, bus) the quarantine says
        told = " ".join([seen.message] + [r["message"] for r in rows])
        assert exp.message in told, f"{exp.message!r} not in {told[:800]!r}"

    # nothing silently dropped: the channel's report, the rows and govhub stats agree
    stats = {k: after["stats"][k] - before["stats"][k] for k in ("stored", "duplicate", "quarantined")}
    expected = {"stored": exp.stored, "duplicate": exp.duplicate, "quarantined": exp.quarantined}
    if entry.channel == "device":  # events live in device_event; only quarantined payloads are counted in stats
        measured = {"stored": after["device_events"] - before["device_events"], "quarantined": len(rows)}
        assert measured == {"stored": exp.stored, "quarantined": exp.quarantined}, measured
        assert stats == {"stored": 0, "duplicate": 0, "quarantined": exp.quarantined}
        if seen.reported is not None:
            assert seen.reported == expected, seen.reported
    else:
        assert stats == expected, f"govhub stats moved by {stats}, expected {expected}"
        assert after["lineage"] - before["lineage"] == exp.received, "lineage rows != records received"
        assert len(rows) == exp.quarantined
        if seen.reported is not None:
            assert seen.reported == expected, f"the channel reported {seen.reported}, expected {expected}"
        if exp.outcome == "refused":
            assert after["cases"] == before["cases"]
    assert Counter(r["reason"] for r in rows) == Counter(exp.reasons), [(r["reason"], r["message"]) for r in rows]
    for r in rows:
        assert r["message"] and r["reason"], "a quarantined record needs a reason and a message"

    # what an operator reads: govhub quarantine show (payload masked), list --json, stats --json
    for r in rows:
        shown = CliRunner().invoke(main, ["quarantine", "show", str(r["id"])], env=hub.env)
        assert shown.exit_code == 0, f"quarantine show #{r['id']} failed: {shown.output[-500:]}"
        assert "\x1b" not in shown.output, "an escape sequence reaches the operator's terminal"
        seen.texts.append(shown.output)
    if rows:
        listed = CliRunner().invoke(main, ["quarantine", "list", "--json", "--limit", "500"], env=hub.env)
        assert listed.exit_code == 0 and {r["id"] for r in rows} <= {x["id"] for x in json.loads(listed.output)}
        seen.texts.append(listed.output)
    stats_out = CliRunner().invoke(main, ["stats", "--json"], env=hub.env)
    assert stats_out.exit_code == 0 and json.loads(stats_out.output)["total"] == after["stats"]

    # no unmasked ID number anywhere a person reads
    ids = set(ID_RE.findall(data.decode("utf-8", "replace"))) | set(ID_RE.findall(data.decode("gbk", "replace")))
    texts = seen.texts + [r["message"] for r in rows] + [seen.message]
    for text in texts:
        leaked = [i for i in ids if i in text]
        assert not leaked, f"unmasked ID number(s) {[i[:3] + '…' for i in leaked]} in: {mask_text(text)[:300]}"
    for r in rows:
        assert mask_text(r["message"]) == r["message"], f"quarantine message not masked: {r['message'][:200]}"

    # hostile text is data: stored verbatim, the tables intact, returned verbatim as JSON
    assert {"lib_case", "lineage", "quarantine"} <= set(inspect(hub.engine).get_table_names())
    for field, value in entry.stored_text.items():
        assert stored_count(hub.engine, field, value) == verbatim_before[field] + 1, f"{field} was not stored verbatim"
        assert value in pulled_values(hub, request, field), f"{field} does not come back verbatim from the pull API"
    if entry.channel == "soap" and seen.status == 200:
        assert "<script" not in seen.message.split("<soap:Body>", 1)[-1].replace("&lt;script", "")
    for text in entry.must_not_store:
        assert not database_contains(hub.engine, text), f"{text!r} reached the database (an entity was expanded)"


def stored_count(engine, field: str, value: str) -> int:
    t = LIBRARY["case"]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t).where(t.c[field] == value)).scalar_one()


def pulled_values(hub, request, field: str) -> set[str]:
    """The field's values as the province pulls them: JSON, parsed back."""
    api = request.getfixturevalue("api")
    values, cursor = set(), None
    for _ in range(20):
        r = api.get(
            "/api/v1/case/changes",
            params={"limit": 5000, **({"cursor": cursor} if cursor else {})},
            headers={"X-Api-Key": hub.keys["js-province"]},
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), r.text[:300]
        page = r.json()
        values |= {rec.get(field) for rec in page["records"]}
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    return values


def database_contains(engine, text: str) -> bool:
    from sqlalchemy import String, Text, or_

    with engine.connect() as conn:
        for table in (quarantine, LIBRARY["case"]):
            cols = [c for c in table.c if isinstance(c.type, (String, Text))]
            if conn.execute(
                select(func.count()).select_from(table).where(or_(*(c.contains(text) for c in cols)))
            ).scalar_one():
                return True
    return False


def test_worker_survived_every_bus_input_and_still_stores(hub, request):
    """Runs after the bus inputs (pytest keeps file order): the same worker process is
    alive, never gave up on a message as poison, and stores a good message now."""
    bus_entries = [e.id for e in ENTRIES if e.channel == "bus"]
    worker = request.getfixturevalue("worker")
    assert sorted(worker.handled) == sorted(bus_entries) or not worker.handled, "run the whole module"
    from hub.bus import topology as bus
    from hub.ingest.partitions import publish_inbound

    assert worker.alive(), worker.text()[-3000:]
    good = (HERE / "bus" / "good_case.xml").read_bytes()
    before = snapshot(hub.engine)
    with bus.connect(hub.settings) as conn:
        publish_inbound(conn, good, "cs-approval", f"corpus-final-{uuid.uuid4().hex[:8]}", fmt="xml")
    wait_for_rows(hub.engine, "corpus-final-", 2)
    after = snapshot(hub.engine)
    assert after["stats"]["stored"] - before["stats"]["stored"] == 2
    assert worker.alive()
    log = worker.text()
    assert "Traceback" not in log and "put back (delivery" not in log, log[-3000:]
    assert not ID_RE.search(log), "the worker log holds an unmasked ID number"
