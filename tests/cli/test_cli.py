"""The command line as a user runs it: a real process, a real database."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest

from hub.core.config import ROOT
from hub.model.codes import idcard
from synth.generator import Generator, write_dept_b_csv, write_xml

ID18 = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def govhub(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"govhub {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def env(tmp_path, db_url):
    return {
        "GOVHUB_HOME": str(tmp_path / "home"),
        "GOVHUB_DB_URL": db_url,
        "GOVHUB_BROKER_URL": f"govhub+sqlite:///{tmp_path / 'bus.db'}",
        "PYTHONPATH": str(ROOT),
    }


def test_ingest_stats_and_quarantine(env, tmp_path):
    # each department system sends its own department's cases
    cs, zjg = (Generator(seed=21, departments=[d]) for d in ("常熟市行政审批局", "张家港市住房和城乡建设局"))
    xml = tmp_path / "cases.xml"
    with open(xml, "wb") as f:
        write_xml(
            (r for r, _ in cs.records("case", 300, defect_rate=0.1)), "case", f, encoding="gbk", message_id="cli-1"
        )
    csv_path = tmp_path / "dept_b.csv"
    with open(csv_path, "wb") as f:
        write_dept_b_csv((r for r, _ in zjg.records("case", 200, defect_rate=0.1)), f, on_unmapped="keep")
    out = govhub(env, "ingest", "--system", "cs-approval", str(xml)).stdout
    assert "300 received → 270 stored, 0 duplicate, 30 quarantined" in out
    again = govhub(env, "ingest", "--system", "cs-approval", str(xml)).stdout
    assert "300 received → 0 stored, 300 duplicate, 0 quarantined" in again
    govhub(env, "ingest", "--system", "zjg-housing", str(csv_path))
    stats = json.loads(govhub(env, "stats", "--json").stdout)
    t = stats["total"]
    assert t == {"received": 800, "stored": 450, "duplicate": 300, "quarantined": 50}
    by = {(s["system"], s["kind"]): s for s in stats["sources"]}
    assert by[("zjg-housing", "case")]["received"] == 200
    table = govhub(env, "stats").stdout
    assert "合计 total" in table and "800" in table
    listing = json.loads(govhub(env, "quarantine", "list", "--json", "--limit", "100").stdout)
    assert len(listing) == 50
    shown = govhub(env, "quarantine", "show", str(listing[0]["id"])).stdout
    assert "reason:" in shown and "payload:" in shown
    for text in (out, again, table, shown, json.dumps(listing, ensure_ascii=False)):
        assert not [m for m in ID18.findall(text) if idcard.is_valid(m)], "an unmasked ID number escaped"


def test_clear_errors(env, tmp_path):
    f = tmp_path / "x.xml"
    f.write_text("<cases/>")
    bad = govhub(env, "ingest", "--system", "nope", str(f), check=False)
    assert bad.returncode == 2 and "unknown system 'nope'" in bad.stderr and "catalog/systems.yaml" in bad.stderr
    missing = govhub(env, "quarantine", "show", "999999", check=False)
    assert missing.returncode == 2 and "govhub quarantine list" in missing.stderr


# What the demo writes that is input data, not output: the files it generates and drops for
# the departments' systems (they hold personal data by design), and the databases. Every
# other file under the demo's folder (reports, logs, whatever a later step adds) is scanned.
DEMO_INPUTS = ("inbox", "sftp")
DATABASE_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_demo_runs_and_leaks_no_personal_data(tmp_path):
    from click.testing import CliRunner

    from hub.cli.main import main
    from hub.ops.pii_scan import leaks, scan_tree

    home = tmp_path / "demo"
    env = {"GOVHUB_HOME": str(home), "GOVHUB_LOG_LEVEL": "DEBUG", "PYTHONPATH": str(ROOT)}
    env = {k: v for k, v in {**os.environ, **env}.items() if k not in ("GOVHUB_DB_URL", "GOVHUB_BROKER_URL")}
    proc = subprocess.run(
        [sys.executable, "-m", "hub.cli", "demo", "--records", "300"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    m = re.search(
        r"every record accounted for: received ([\d,]+) = stored ([\d,]+) \+ duplicate ([\d,]+) \+ quarantined ([\d,]+)",
        out,
    )
    assert m, out[-2000:]
    received, stored, dup, quar = (int(x.replace(",", "")) for x in m.groups())
    assert received == stored + dup + quar and dup > 0 and quar > 0
    stats = json.loads(govhub(env, "stats", "--json").stdout)
    assert stats["total"] == {"received": received, "stored": stored, "duplicate": dup, "quarantined": quar}
    assert "xml_forbidden" in out
    # it ends by writing the day's quality report and printing where
    page = re.search(r"quality report: (\S+\.html)", out)
    assert page and os.path.exists(page.group(1))
    with open(page.group(1)[:-5] + ".json", encoding="utf-8") as f:
        report = json.load(f)
    assert {k: report["totals"][k] for k in stats["total"]} == stats["total"]
    # issue #14: it prints its headline figures and writes the performance report, whose
    # received equals the cases in the library (every stored case was applied in the period)
    perf = re.search(r"performance report: (\S+\.html)", out)
    assert perf and os.path.exists(perf.group(1)) and "绩效统计 performance " in out
    with open(perf.group(1)[:-5] + ".json", encoding="utf-8") as f:
        figures = json.load(f)
    with sqlite3.connect(home / "govhub.db") as db:
        assert figures["totals"]["received"] == db.execute("SELECT count(*) FROM lib_case").fetchone()[0] > 0
    # weakness 12: a fresh demo's books agree (the correction supersedes its quarantined lineage row)
    assert report["consistency"] == {"ok": True, "mismatches": []}, report["consistency"]
    # issue #21: the exchange log holds over everything the demo exchanged, bytes included
    verified = govhub(env, "audit", "verify", "--json")
    chain = json.loads(verified.stdout)
    assert verified.returncode == 0 and chain["checked"] > 0 and chain["objects_checked"] > 0, verified.stdout
    # step 9: a time-stamped checkpoint seals it, and one exported package is accepted offline
    assert chain["checkpoints_checked"] == 1 and "time-stamped by the sandbox TSA" in out, out[-3000:]
    assert re.search(r"python -m govhub_verify .*: => the package holds", out), out[-3000:]
    with open(page.group(1), encoding="utf-8") as f:
        banner = f.read()
    assert 'class="banner ok" id="consistency"' in banner and 'class="banner warn"' not in banner
    # step 7: an administrator corrected one record and rejected another
    corrected = re.search(r"correct +#(\d+) .*: stored \(new\); lineage #\d+ names the correction", out)
    rejected = re.search(r"reject +#(\d+) xml_forbidden", out)
    assert corrected and rejected and stats["corrected"] == 1, out[-3000:]
    # step 8 (issue #13): the province's upload format, rows it rejects kept as defects, one corrected and re-sent
    receipts = re.search(
        r"receipts +\{'acknowledged': (\d+), 'defect': (\d+)\}; defects by the province's reason: \{'E105'", out
    )
    resent = re.search(r"corrected +case .*: \{'acknowledged': 1\}; its defect is superseded", out)
    assert receipts and int(receipts.group(1)) > 0 and int(receipts.group(2)) > 0 and resent, out[-3000:]
    defects = json.loads(govhub(env, "deliveries", "--status", "defect", "--json").stdout)["deliveries"]
    assert len(defects) == int(receipts.group(2)) - 1 and all("E105" in d["last_error"] for d in defects)

    def read(*args: str) -> str:  # in this process: dozens of commands, seconds each as processes
        result = CliRunner().invoke(
            main,
            list(args),
            env={"GOVHUB_HOME": str(home), "GOVHUB_DB_URL": None, "GOVHUB_BROKER_URL": None},
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return result.output

    # what an administrator reads afterwards: the quarantine, one by one, and the stats
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "demo.stdout.txt").write_text(out, encoding="utf-8")
    (logs / "demo.stderr.log").write_text(proc.stderr, encoding="utf-8")
    assert "DEBUG" in proc.stderr and "govhub.quarantine" in proc.stderr  # the log was captured, at DEBUG
    listing = read("quarantine", "list", "--status", "all", "--limit", "1000", "--json")
    (logs / "quarantine-list.json").write_text(listing, encoding="utf-8")
    (logs / "stats.txt").write_text(read("stats"), encoding="utf-8")
    ids = [r["id"] for r in json.loads(listing)]
    assert len(ids) == quar + 1  # the corrected one is listed too
    for qid in ids:
        (logs / f"show-{qid}.txt").write_text(read("quarantine", "show", str(qid)), encoding="utf-8")
        (logs / f"history-{qid}.txt").write_text(read("quarantine", "history", str(qid)), encoding="utf-8")

    # the exchange log's objects (like the database) are the messages as exchanged: evidence, kept whole
    skip = [*(f"demo/{d}" for d in DEMO_INPUTS), "demo/objects", "demo/evidence"]
    read, found = scan_tree(tmp_path, skip_dirs=skip, skip_suffixes=DATABASE_SUFFIXES)
    assert logs / "demo.stderr.log" in read and home / "systems.yaml" in read
    assert not found, f"unmasked personal data in the demo's logs and reports: {[str(x) for x in found[:20]]}"
    # the scanner is not blind: the demo's own input files do hold ID numbers
    _, inputs = scan_tree(home / "inbox")
    assert any(x.kind == "id_no" for x in inputs)
    assert not leaks(out + proc.stderr)


def test_serve_answers_health_and_openapi(env, tmp_path):
    import time
    import urllib.request

    from sandbox.server import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **env, "GOVHUB_DOCS": "on"},  # /openapi.json is off by default
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    assert json.load(r) == {"status": "ok"}
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.stderr.read().decode()[-2000:]) from None
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=5) as r:
            assert "/api/v1/case" in json.load(r)["paths"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
