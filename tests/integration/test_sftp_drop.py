"""A department's SFTP drop, served by a real SFTP server (sandbox/sftp_server.py),
polled into the hub over SQLite and PostgreSQL: every file ingested exactly once, even
when the hub is killed mid-file; files still uploading wait; outbound files appear
whole or not at all; unsafe names and full disks fail cleanly."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import paramiko
import pytest

from adapters.base import Envelope
from adapters.errors import AuthError, ConfigError, RejectedError, TransientError
from adapters.registry import open_adapter
from hub.core.config import ROOT
from hub.ingest.drop import poll_drop
from hub.wiring import standard_pipeline
from sandbox.sftp_server import start_sftp_server
from synth.generator import Generator, write_xml
from tests.helpers import library_count, outcomes, quarantine_rows
from tests.peers.fixtures import SFTP_USER

SYSTEM = "cs-approval"


def case_xml(seed: int, n: int, message_id: str) -> bytes:
    buf = io.BytesIO()
    write_xml(
        (rec for rec, _ in Generator(seed=seed, departments=["常熟市行政审批局"]).records("case", n)),
        "case",
        buf,
        message_id=message_id,
    )
    return buf.getvalue()


def drop_url(server, **options) -> str:
    return server.url("/drop", **{"stable_seconds": 0, "pattern": "*.xml", **options})


def test_department_drop_is_ingested_and_moved_to_done(engine, sftp_server):
    drop = sftp_server.state.root / "drop"
    for i in range(3):
        (drop / f"cs-2024-{i}.xml").write_bytes(case_xml(seed=10 + i, n=5, message_id=f"cs-batch-{i}"))
    (drop / "readme.txt").write_text("not a batch")  # outside the pattern: left alone
    with open_adapter(drop_url(sftp_server)) as adapter:
        counts = poll_drop(adapter, SYSTEM, standard_pipeline(engine))
        assert counts == Counter(files=3, stored=15)
        assert library_count(engine, "case") == 15
        assert sorted(p.name for p in drop.iterdir()) == ["done", "readme.txt"]
        assert sorted(p.name for p in (drop / "done").iterdir()) == [f"cs-2024-{i}.xml" for i in range(3)]
        assert poll_drop(adapter, SYSTEM, standard_pipeline(engine)) == Counter()


def test_file_the_hub_cannot_read_is_quarantined_whole_once(engine, sftp_server):
    drop = sftp_server.state.root / "drop"
    (drop / "cs-2024.csv").write_text("办件编号,状态\nCS-1,办结\n", encoding="utf-8")  # cs-approval sends only case XML
    with open_adapter(drop_url(sftp_server, pattern="*")) as adapter:
        assert poll_drop(adapter, SYSTEM, standard_pipeline(engine)) == Counter(files=1, quarantined=1)
        assert poll_drop(adapter, SYSTEM, standard_pipeline(engine)) == Counter()
    (drop / "done" / "cs-2024.csv").rename(drop / "cs-2024.csv")  # as if killed after quarantining, before the ack
    with open_adapter(drop_url(sftp_server, pattern="*")) as adapter:
        assert poll_drop(adapter, SYSTEM, standard_pipeline(engine)) == Counter(files=1, quarantined=1)
    rows = quarantine_rows(engine)
    assert [(r["source_system"], r["reason"], r["rule"]) for r in rows] == [(SYSTEM, "message_invalid", "drop")]
    assert "办件编号" in rows[0]["payload"]


def _poll_in_child(url: str, db_url: str, pause: str, marker) -> subprocess.Popen:
    code = (
        "import sys\n"
        "from hub.ingest.drop import poll_drop\n"
        "from adapters.registry import open_adapter\n"
        "from hub.db.engine import engine_for\n"
        "from hub.wiring import standard_pipeline\n"
        "with open_adapter(sys.argv[1]) as drop:\n"
        "    poll_drop(drop, 'cs-approval', standard_pipeline(engine_for(sys.argv[2])))\n"
    )
    env = {**os.environ, "GOVHUB_FAULT_PAUSE": f"{pause}:60", "GOVHUB_FAULT_MARKER": str(marker)}
    return subprocess.Popen([sys.executable, "-c", code, url, db_url], cwd=ROOT, env=env)


@pytest.mark.slow
@pytest.mark.parametrize("pause,committed", [("before_commit", 0), ("drop_before_ack", 20)])
def test_hub_killed_mid_file_ingests_it_exactly_once(engine, db_url, sftp_server, tmp_path, pause, committed):
    drop = sftp_server.state.root / "drop"
    (drop / "cs-kill.xml").write_bytes(case_xml(seed=21, n=20, message_id="cs-kill"))
    marker = tmp_path / "at-fault-point"
    proc = _poll_in_child(drop_url(sftp_server), db_url, pause, marker)
    deadline = time.monotonic() + 60
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the poller never reached {pause} (exit code {proc.returncode})")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    # killed mid-file: the file is still in the drop, and what was committed stays committed
    assert (drop / "cs-kill.xml").exists()
    assert library_count(engine, "case") == committed
    # the next poll reads the same file, same message id: committed records are duplicates
    with open_adapter(drop_url(sftp_server)) as adapter:
        counts = poll_drop(adapter, SYSTEM, standard_pipeline(engine))
    assert library_count(engine, "case") == 20
    if committed:
        assert counts == Counter(files=1, duplicate=20)
        assert outcomes(engine, SYSTEM) == {"stored": 20, "duplicate": 20}
    else:
        assert counts == Counter(files=1, stored=20)
        assert outcomes(engine, SYSTEM) == {"stored": 20}
    assert not (drop / "cs-kill.xml").exists() and (drop / "done" / "cs-kill.xml").exists()


def test_file_still_uploading_waits_until_complete(engine, sftp_server):
    drop = sftp_server.state.root / "drop"
    doc = case_xml(seed=31, n=40, message_id="cs-growing")
    target = drop / "cs-growing.xml"
    target.write_bytes(doc[:100])
    rest = [doc[i : i + 200] for i in range(100, len(doc), 200)]

    def upload_slowly():  # the department's client, still writing
        for piece in rest:
            with open(target, "ab") as f:
                f.write(piece)
            time.sleep(0.6 / len(rest))

    uploader = threading.Thread(target=upload_slowly)
    uploader.start()
    try:
        with open_adapter(drop_url(sftp_server, stable_seconds=0.2)) as adapter:
            assert poll_drop(adapter, SYSTEM, standard_pipeline(engine)) == Counter()
            uploader.join()
            assert poll_drop(adapter, SYSTEM, standard_pipeline(engine)) == Counter(files=1, stored=40)
    finally:
        uploader.join()


def test_file_grown_between_listing_and_fetch_waits(sftp_server, monkeypatch, caplog):
    from adapters.sftp import SftpAdapter

    target = sftp_server.state.root / "drop" / "cs-late.xml"
    target.write_bytes(b"<half")
    listing = SftpAdapter._listing

    def listing_then_upload_more(self, sftp):
        seen = listing(self, sftp)
        with open(target, "ab") as f:
            f.write(b" of it/>")
        return seen

    with open_adapter(drop_url(sftp_server)) as adapter, caplog.at_level(logging.WARNING):
        monkeypatch.setattr(SftpAdapter, "_listing", listing_then_upload_more)
        assert list(adapter.read()) == []
        assert "cs-late.xml was listed with 5 bytes but 13 were fetched" in caplog.text
        monkeypatch.setattr(SftpAdapter, "_listing", listing)
        assert [e.body for e in adapter.read()] == [b"<half of it/>"]


def test_checksum_sidecar_gates_ingest(engine, sftp_server, caplog):
    drop = sftp_server.state.root / "drop"
    doc = case_xml(seed=41, n=5, message_id="cs-summed")
    (drop / "cs-summed.xml").write_bytes(doc)
    (drop / "cs-summed.xml.sha256").write_text("0" * 64 + "  cs-summed.xml\n")  # the upload is not finished
    (drop / "cs-unsummed.xml").write_bytes(case_xml(seed=42, n=5, message_id="cs-unsummed"))
    with open_adapter(drop_url(sftp_server, require_checksum=1)) as adapter, caplog.at_level(logging.WARNING):
        assert poll_drop(adapter, SYSTEM, standard_pipeline(engine)) == Counter()
        assert "cs-summed.xml does not match cs-summed.xml.sha256" in caplog.text
        (drop / "cs-summed.xml.sha256").write_text(hashlib.sha256(doc).hexdigest() + "  cs-summed.xml\n")
        assert poll_drop(adapter, SYSTEM, standard_pipeline(engine)) == Counter(files=1, stored=5)
    assert sorted(p.name for p in (drop / "done").iterdir()) == ["cs-summed.xml", "cs-summed.xml.sha256"]
    assert (drop / "cs-unsummed.xml").exists()  # require_checksum: no sidecar, not taken


def test_outbound_write_is_atomic_for_readers(sftp_server):
    out = sftp_server.state.root / "out"
    out.mkdir()
    old, new = b"<old/>" * 1000, b"<new/>" * 600_000  # 6 kB replaced by 3.6 MB
    (out / "report.xml").write_bytes(old)
    seen: set[int] = set()
    writing = threading.Event()

    def reader():  # another system, watching the folder
        while writing.is_set():
            try:
                seen.add((out / "report.xml").stat().st_size)
            except FileNotFoundError:
                seen.add(-1)

    with open_adapter(sftp_server.url("/out")) as adapter:
        writing.set()
        watcher = threading.Thread(target=reader)
        watcher.start()
        try:
            receipt = adapter.write(Envelope(new, "report-2", filename="report.xml"))
        finally:
            writing.clear()
            watcher.join()
    assert receipt.status == "acknowledged" and receipt.peer_ref == "report.xml"
    assert seen <= {len(old), len(new)}  # whole old or whole new, never partial or missing
    assert (out / "report.xml").read_bytes() == new and sorted(p.name for p in out.iterdir()) == ["report.xml"]
    writes = {path for op, path in sftp_server.state.ops if op == "open-write"}
    assert writes == {"/out/.report.xml.part"}


@pytest.mark.parametrize("name", ["../evil.xml", "/etc/evil.xml", "sub/evil.xml", "..\\evil.xml", ".hidden.xml", ".."])
def test_unsafe_file_names_are_refused(sftp_server, name):
    with open_adapter(sftp_server.url("/drop")) as adapter, pytest.raises(RejectedError):
        adapter.write(Envelope(b"<x/>", "m-evil", filename=name))
    tmp = sftp_server.state.root.parent
    assert not any("evil" in p.name or p.name == ".hidden.xml" for p in tmp.rglob("*"))
    assert not any(op.startswith("open") for op, _ in sftp_server.state.ops)


def test_full_disk_is_transient_and_leaves_no_partial_file(sftp_server):
    drop = sftp_server.state.root / "drop"
    with open_adapter(sftp_server.url("/drop")) as adapter:
        sftp_server.state.quota_bytes = 50_000
        with pytest.raises(TransientError):
            adapter.write(Envelope(b"x" * 200_000, "m-big", filename="big.xml"))
        assert list(drop.iterdir()) == []
        sftp_server.state.quota_bytes = None  # space freed: the same adapter delivers
        assert adapter.write(Envelope(b"x" * 200_000, "m-big", filename="big.xml")).status == "acknowledged"
    assert (drop / "big.xml").stat().st_size == 200_000


def test_ack_moves_only_what_was_read_and_keeps_earlier_done_files(sftp_server):
    drop = sftp_server.state.root / "drop"
    (drop / "cs-a.xml").write_bytes(b"<first/>")
    with open_adapter(drop_url(sftp_server)) as adapter:
        (envelope,) = adapter.read()
        (drop / "cs-a.xml").write_bytes(b"<second version/>")  # re-sent under the same name meanwhile
        adapter.ack(envelope)
        assert (drop / "cs-a.xml").read_bytes() == b"<second version/>"  # not read yet: left for the next round
        (second,) = adapter.read()
        adapter.ack(second)
        adapter.ack(second)  # already moved (a lost reply): nothing to do
        (drop / "cs-a.xml").write_bytes(b"<third/>")  # the same name once more, after the first was done
        (third,) = adapter.read()
        adapter.ack(third)
    digest = hashlib.sha256(b"<third/>").hexdigest()[:12]
    assert (drop / "done" / "cs-a.xml").read_bytes() == b"<second version/>"
    assert (drop / "done" / f"cs-a.xml.{digest}").read_bytes() == b"<third/>"


def test_sftp_errors_say_what_to_fix(sftp_server, tmp_path):
    with pytest.raises(AuthError, match="refused the credentials"):
        open_adapter(sftp_server.url("/drop", password="wrong")).ping()
    with pytest.raises(ConfigError, match="does not exist.*create it"):
        list(open_adapter(sftp_server.url("/outbox")).read())
    (sftp_server.state.root / "drop" / "cs-1.xml").write_bytes(b"<x/>")
    with open_adapter(drop_url(sftp_server)) as adapter:
        (envelope,) = adapter.read()
        sftp_server.state.read_only = True  # an account that may read but not rename
        with pytest.raises(ConfigError, match=f"permission denied.*grant {SFTP_USER}"):
            adapter.ack(envelope)
    silent = socket.create_server(("127.0.0.1", 0))  # accepts TCP, never speaks SSH
    try:
        url = f"sftp://dept@127.0.0.1:{silent.getsockname()[1]}/drop?password=x&insecure_host_key=1&timeout=0.5"
        with pytest.raises(TransientError):
            open_adapter(url).ping()
    finally:
        silent.close()


def test_key_login_and_known_hosts(tmp_path):
    client_key = paramiko.ECDSAKey.generate(bits=256)
    client_key.write_private_key_file(str(tmp_path / "id_ecdsa"))
    server = start_sftp_server(tmp_path / "root", "hub", None, authorized_keys=(client_key,))
    try:
        known = paramiko.HostKeys()
        known.add(f"[{server.host}]:{server.port}", server.host_key.get_name(), server.host_key)
        known.save(str(tmp_path / "known_hosts"))
        url = f"sftp://hub@{server.host}:{server.port}/?key={tmp_path / 'id_ecdsa'}&known_hosts={tmp_path / 'known_hosts'}"
        with open_adapter(url) as adapter:
            adapter.ping()
        other = paramiko.ECDSAKey.generate(bits=256)  # the server's key changed: refuse, never trust
        known = paramiko.HostKeys()
        known.add(f"[{server.host}]:{server.port}", other.get_name(), other)
        known.save(str(tmp_path / "known_hosts"))
        with pytest.raises(ConfigError, match="does not match"):
            open_adapter(url).ping()
        with pytest.raises(AuthError):
            open_adapter(f"sftp://hub@{server.host}:{server.port}/?password=guess&host_key={server.fingerprint}").ping()
    finally:
        server.stop()


def test_server_runs_from_the_command_line(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.sftp_server",
            "--root",
            str(tmp_path),
            "--port",
            "0",
            "--user",
            "dept",
            "--password",
            "pw",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        (tmp_path / "hello.xml").write_bytes(b"<hello/>")
        url = f"sftp://dept@{info['host']}:{info['port']}/?password=pw&host_key={info['host_key']}&stable_seconds=0"
        with open_adapter(url) as adapter:
            assert [e.body for e in adapter.read()] == [b"<hello/>"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_a_departments_drop_keeps_only_its_own_records(engine, sftp_server):
    """Records of another department or region in a department's drop are quarantined
    as forbidden, the rest stored."""
    from synth.generator import Generator, write_xml

    own = [r for r, _ in Generator(seed=61, departments=["常熟市行政审批局"]).records("case", 4)]
    other = [r for r, _ in Generator(seed=62, departments=["张家港市住房和城乡建设局"]).records("case", 2)]
    buf = io.BytesIO()
    write_xml(iter(own + other), "case", buf, message_id="mixed-1")
    (sftp_server.state.root / "drop" / "mixed.xml").write_bytes(buf.getvalue())
    with open_adapter(drop_url(sftp_server)) as drop:
        counts = poll_drop(drop, SYSTEM, standard_pipeline(engine))
    assert counts["stored"] == 4 and counts["quarantined"] == 2
    assert {r["reason"] for r in quarantine_rows(engine)} == {
        "forbidden_department"
    }  # the drop's system is 常熟 审批局 (dept_code in the catalogue)
