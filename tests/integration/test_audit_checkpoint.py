"""Issue #21, signed checkpoints over the real log: ``govhub audit checkpoint`` signs the head
(time-stamped by the sandbox TSA over real HTTP), ``govhub audit verify`` checks each at its
seq and finds a forged or altered one there, ``govhub audit export`` writes a package the
standalone verifier accepts (and refuses to without a covering checkpoint), and
``govhub audit archive`` verifies, packages and only then prunes."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update

from hub.audit import checkpoint
from hub.audit.signing import generate_identity, make_checkpoint, sign_checkpoint
from hub.cli.main import main
from hub.core.config import ROOT
from hub.db.tables import audit_checkpoint, exchange_log, exchange_log_archive
from hub.ops.metrics import registry, render
from hub.wiring import standard_pipeline
from sandbox.server import run_in_thread
from sandbox.tsa import TsaState, make_app
from tests.helpers import xml_doc
from tests.integration.conftest import catalog  # pytest fixture, used by name
from tests.integration.test_rest_ingress import cases_of

DEPT_A = "常熟市行政审批局"


@pytest.fixture(scope="module")
def tsa():
    state = TsaState(now=lambda: datetime(2026, 11, 22, 2, 0, 31, tzinfo=UTC))
    base, stop = run_in_thread(make_app(state))
    try:
        yield state, base + "/tsa"
    finally:
        stop()


@pytest.fixture
def hub_env(tmp_path, db_url, tsa, monkeypatch):
    """The hub's home, its signing identity and the sandbox TSA, as the CLI reads them."""
    state, url = tsa
    home = tmp_path / "home"
    generate_identity("govhub-test", tmp_path / "audit")
    (tmp_path / "tsa.pem").write_bytes(state.certificate_pem)
    env = {
        "GOVHUB_HOME": str(home),
        "GOVHUB_DB_URL": db_url,
        "GOVHUB_AUDIT_KEY_FILE": str(tmp_path / "audit" / "audit-key.pem"),
        "GOVHUB_AUDIT_CERT_FILE": str(tmp_path / "audit" / "audit-cert.pem"),
        "GOVHUB_AUDIT_TSA_URL": url,
        "GOVHUB_AUDIT_TSA_CERT_FILE": str(tmp_path / "tsa.pem"),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def govhub(env, *args):
    return CliRunner().invoke(main, list(args), env=env)


def _ingest(engine, n: int, first: int = 0) -> None:
    pipe = standard_pipeline(engine)
    for i in range(first, first + n):
        doc = xml_doc([r for r, _ in cases_of(DEPT_A, 2, seed=80 + i)], message_id=f"m{i}")
        pipe.ingest(io.BytesIO(doc), "dept-a", channel="cli")


def test_checkpoint_export_and_the_standalone_verifier(engine, catalog, hub_env, tmp_path):
    _ingest(engine, 2)
    out = tmp_path / "m0.zip"
    refused = govhub(hub_env, "audit", "export", "m0", "--out", str(out))
    assert refused.exit_code == 2 and "run `govhub audit checkpoint` first" in refused.output
    assert not out.exists()
    taken = govhub(hub_env, "audit", "checkpoint")
    assert taken.exit_code == 0 and "seq 2" in taken.output and ", time-stamped" in taken.output, taken.output
    _ingest(engine, 1, first=2)  # after the checkpoint: not in m0's package
    exported = govhub(hub_env, "audit", "export", "m0", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert "entry seq 1, 2 entries up to checkpoint seq 2 (time-stamped)" in exported.output
    proc = subprocess.run(
        [sys.executable, "-m", "govhub_verify", str(out), "--cert", hub_env["GOVHUB_AUDIT_CERT_FILE"]]
        + ["--tsa-cert", hub_env["GOVHUB_AUDIT_TSA_CERT_FILE"], "--require-timestamp", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"], proc.stdout + proc.stderr
    with zipfile.ZipFile(out) as zf:
        assert [json.loads(x)["seq"] for x in zf.read("entries.jsonl").splitlines()] == [1, 2]
    verified = govhub(hub_env, "audit", "verify")
    assert verified.exit_code == 0 and "checkpoints checked: 1" in verified.output, verified.output
    scraped = render(registry(engine, None)).decode()
    assert "govhub_exchange_log_checkpoint_age_seconds" in scraped


def _forge(engine, how: str, tmp_path) -> int:
    """Tamper with the checkpoint at seq 2; returns the seq verify must break at."""
    with engine.connect() as conn:
        cp = checkpoint.latest(conn)
    assert cp is not None and cp["seq"] == 2
    if how == "other_key":  # a checkpoint signed with a key that is not the hub's
        other = generate_identity("govhub-test", tmp_path / "other")
        signed = sign_checkpoint(make_checkpoint(2, cp["head"], "govhub-test", datetime(2026, 11, 22)), other.key)
        values = {"signed": signed, "certificate": other.certificate_pem.decode()}
    elif how == "head":  # the head replaced (and re-signed by nobody)
        values = {"head": "f" * 64, "signed": {**cp["signed"], "head": "f" * 64}}
    elif how == "timestamp":  # another signature's time-stamp moved onto it
        signed = dict(cp["signed"])
        signed["timestamp"] = signed["timestamp"][:-8] + "AAAAAAA="
        values = {"signed": signed}
    else:  # a checkpoint past the chain's end (over entries someone removed)
        copy = {k: v for k, v in cp.items() if k != "id"}
        with engine.begin() as conn:
            conn.execute(audit_checkpoint.insert().values(**{**copy, "seq": 9}))
        return 9
    with engine.begin() as conn:
        conn.execute(update(audit_checkpoint).where(audit_checkpoint.c.id == cp["id"]).values(**values))
    return 2


@pytest.mark.parametrize("how", ["other_key", "head", "timestamp", "beyond"])
def test_a_forged_checkpoint_is_found_at_its_seq(engine, catalog, hub_env, tmp_path, how):
    _ingest(engine, 3)
    with engine.begin() as conn:  # take it at seq 2, then log one more entry
        conn.execute(text("UPDATE exchange_log_head SET seq = 2, hash = (SELECT hash FROM exchange_log WHERE seq = 2)"))
    assert govhub(hub_env, "audit", "checkpoint").exit_code == 0
    with engine.begin() as conn:
        conn.execute(text("UPDATE exchange_log_head SET seq = 3, hash = (SELECT hash FROM exchange_log WHERE seq = 3)"))
    assert govhub(hub_env, "audit", "verify").exit_code == 0
    seq = _forge(engine, how, tmp_path)
    result = govhub(hub_env, "audit", "verify")
    assert result.exit_code == 1, result.output
    assert f"BREAK at seq {seq}:" in result.output and "checkpoint" in result.output, result.output
    words = {"other_key": "does not verify", "head": "altered", "timestamp": "time-stamp", "beyond": "past the last"}
    assert words[how] in result.output, result.output


def test_archive_verifies_packages_then_prunes_and_verify_goes_on(engine, catalog, hub_env, tmp_path):
    _ingest(engine, 3)
    assert govhub(hub_env, "audit", "checkpoint").exit_code == 0
    _ingest(engine, 1, first=3)
    with engine.connect() as conn:
        rows = conn.execute(select(exchange_log).order_by(exchange_log.c.seq)).mappings().all()
    nothing = govhub(hub_env, "audit", "archive", "--older-than", "30")
    assert nothing.exit_code == 0 and "nothing to archive" in nothing.output
    archived = govhub(hub_env, "audit", "archive", "--older-than", "0")
    assert archived.exit_code == 0 and "archived seq 1–3 (3 entries" in archived.output, archived.output
    with engine.connect() as conn:
        left = sorted(conn.execute(select(exchange_log.c.seq)).scalars())
        row = conn.execute(select(exchange_log_archive)).mappings().one()
    assert left == [4] and row["last_hash"] == rows[2]["hash"]
    with zipfile.ZipFile(row["path"]) as zf:
        names = zf.namelist()
        assert len([n for n in names if n.startswith("objects/")]) == 3 and "checkpoint.json" in names
    assert not (tmp_path / "home" / "objects" / "sha256" / rows[0]["digest"][7:9] / rows[0]["digest"][9:]).exists()
    verified = govhub(hub_env, "audit", "verify")
    assert verified.exit_code == 0 and "entries checked: 1" in verified.output, verified.output


def test_archive_refuses_a_broken_log_and_prunes_nothing(engine, catalog, hub_env):
    _ingest(engine, 2)
    assert govhub(hub_env, "audit", "checkpoint").exit_code == 0
    with engine.begin() as conn:
        conn.execute(text("UPDATE exchange_log SET system = 'dept-b' WHERE seq = 1"))
    refused = govhub(hub_env, "audit", "archive", "--older-than", "0")
    assert refused.exit_code == 2 and "breaks at seq 1" in refused.output and "nothing archived" in refused.output
    with engine.connect() as conn:
        assert sorted(conn.execute(select(exchange_log.c.seq)).scalars()) == [1, 2]


def test_checkpoints_every_interval_and_at_shutdown_on_the_injected_clock(engine, catalog, hub_env, clock):
    from datetime import timedelta

    from hub.audit.schedule import Checkpointer

    _ingest(engine, 1)
    cp = Checkpointer(engine, checkpoint.Sealer.from_env(), 900, now=clock.now)
    assert cp.tick() is not None  # none yet: due at once
    clock.advance(seconds=899)
    assert cp.tick() is None
    clock.advance(seconds=1)
    assert cp.tick() is not None
    assert cp.final() is not None  # shutdown: always
    with engine.connect() as conn:
        assert len(checkpoint.in_range(conn, 1, None)) == 3
    clock.advance(timedelta(minutes=20))
    scraped = render(registry(engine, None)).decode()
    age = re.search(r"^govhub_exchange_log_checkpoint_age_seconds (\S+)$", scraped, re.M)
    assert age and 1200 <= float(age.group(1)) < 1230, scraped


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_worker_signs_a_checkpoint_when_it_stops_and_runs_on_without_a_key(engine, catalog, hub_env, tmp_path):
    _ingest(engine, 1)
    env = {**hub_env, "GOVHUB_BROKER_URL": f"govhub+sqlite:///{tmp_path / 'bus.db'}"}
    done = govhub(env, "worker", "--idle-exit", "0.2")
    assert done.exit_code == 0, done.output
    with engine.connect() as conn:
        assert [c["seq"] for c in checkpoint.in_range(conn, 1, None)] == [1]
    keyless = {**env, "GOVHUB_AUDIT_KEY_FILE": None, "GOVHUB_AUDIT_CERT_FILE": None}
    assert govhub(keyless, "worker", "--idle-exit", "0.2").exit_code == 0
    with engine.connect() as conn:
        assert len(checkpoint.in_range(conn, 1, None)) == 1
