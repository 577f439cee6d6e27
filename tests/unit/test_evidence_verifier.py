"""The standalone verifier (govhub_verify) on evidence packages built by hub.audit.package
from hand-made chains: a sound package holds; a tampered entry, a deleted entry, altered
message bytes and a forged checkpoint are each found, at the right position."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from govhub_verify import verify_package
from hub.audit.package import build_package
from hub.audit.signing import generate_identity, make_checkpoint, sign_checkpoint
from tests.evidence import (
    AT,
    HUB,
    Evidence,
    members,
    message_bytes,
    read_entries,
    rehash_from,
    replace_member,
    spec_hash,
    write_entries,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ev():
    return Evidence(n=8)


def test_a_sound_package_holds_and_says_what_holds(ev):
    report = verify_package(ev.package(3))
    assert report.ok, report.text()
    text = report.text()
    assert "entry seq 3" in text and "entries 3..8" in text and "seq 8" in text
    assert ev.identity.certificate.subject.rfc4514_string() in text  # who signed, for the reader to compare
    assert "time-stamp: none" in text
    assert verify_package(ev.package(8)).ok  # the checkpoint's own head entry
    assert verify_package(ev.package(1)).ok  # the first entry: prev is the genesis


def test_the_package_is_the_spec_layout_and_reproducible(ev):
    package = ev.package(5)
    files = members(package)
    assert set(files) == {"manifest.json", "message.bin", "entries.jsonl", "checkpoint.json", "certificate.pem"}
    assert json.loads(files["manifest.json"]) == {"format": "govhub-evidence/1", "message_id": "MSG-0005", "seq": 5}
    assert [e["seq"] for e in read_entries(package)] == [5, 6, 7, 8]
    assert json.loads(files["checkpoint.json"]) == ev.checkpoint
    assert package == ev.package(5)
    with pytest.raises(ValueError, match="stored hash"):
        build_package(b"x", [{k: v for k, v in ev.entries[0].items() if k != "hash"}], ev.checkpoint, b"")
    with pytest.raises(ValueError):
        build_package(b"x", [], ev.checkpoint, b"")


@pytest.mark.parametrize("seq", [3, 6, 8])
def test_a_tampered_entry_is_found_at_its_seq(ev, seq):
    package = ev.package(3)
    entries = read_entries(package)
    entries[seq - 3]["outcome"] = {"received": 1, "stored": 0, "duplicate": 0, "quarantined": 1}
    report = verify_package(write_entries(package, entries))
    assert not report.ok
    assert (report.broken.check, report.broken.seq, report.broken.line) == ("entry", seq, seq - 2)
    assert "altered" in report.broken.reason
    assert "chain:" not in report.text()  # nothing after the break is claimed


def test_a_tampered_entry_whose_hash_was_recomputed_breaks_the_next_link(ev):
    package = ev.package(3)
    entries = read_entries(package)
    entries[2]["system"] = "dept-b"  # seq 5, and its own hash made to match
    entries[2]["hash"] = spec_hash(entries[2])
    report = verify_package(write_entries(package, entries))
    assert (report.broken.check, report.broken.seq) == ("entry", 6)
    assert "prev is not the hash of seq 5" in report.broken.reason


def test_a_rewritten_chain_is_caught_by_the_checkpoint_and_its_signature(ev):
    package = ev.package(3)
    entries = read_entries(package)
    entries[1]["digest"] = "sha256:" + "0" * 64  # seq 4, and every hash after it recomputed
    rehash_from(entries, 1)
    entries[0]["hash"] = ev.entries[2]["hash"]
    report = verify_package(write_entries(package, entries))
    assert (report.broken.check, report.broken.seq) == ("checkpoint", 8)
    # the forger moves the checkpoint's head too, but cannot sign it
    checkpoint = {**ev.checkpoint, "head": entries[-1]["hash"]}
    forged = replace_member(write_entries(package, entries), "checkpoint.json", json.dumps(checkpoint).encode())
    report = verify_package(forged)
    assert report.broken.check == "signature" and "does not verify" in report.broken.reason


def test_a_deleted_entry_is_found_where_the_gap_is(ev):
    package = ev.package(3)
    entries = read_entries(package)
    report = verify_package(write_entries(package, entries[:2] + entries[3:]))  # seq 5 deleted
    assert (report.broken.check, report.broken.seq, report.broken.line) == ("entry", 6, 3)
    assert "seq 5 deleted" in report.broken.reason
    # the message's own entry deleted
    report = verify_package(write_entries(package, entries[1:]))
    assert (report.broken.check, report.broken.seq) == ("entry", 4)
    assert "manifest names seq 3" in report.broken.reason
    # the checkpoint's head entry deleted
    report = verify_package(write_entries(package, entries[:-1]))
    assert (report.broken.check, report.broken.seq) == ("checkpoint", 7)
    assert "signs seq 8" in report.broken.reason


def test_a_deleted_entry_with_the_chain_renumbered_and_rehashed_still_cannot_be_signed(ev):
    package = ev.package(3)
    entries = read_entries(package)
    del entries[2]
    for i, entry in enumerate(entries):
        entry["seq"] = 3 + i
    rehash_from(entries, 1)
    entries[0]["hash"] = ev.entries[2]["hash"]
    checkpoint = {**ev.checkpoint, "seq": entries[-1]["seq"], "head": entries[-1]["hash"]}
    forged = replace_member(write_entries(package, entries), "checkpoint.json", json.dumps(checkpoint).encode())
    assert verify_package(forged).broken.check == "signature"


def test_altered_message_bytes_are_found_at_the_message_entry(ev):
    package = ev.package(3, message=message_bytes(3).replace("张三".encode(), "李四".encode()))
    report = verify_package(package)
    assert (report.broken.check, report.broken.seq, report.broken.line) == ("message", 3, 1)
    assert any(h.startswith("chain:") for h in report.holds)  # the chain itself held


def test_a_forged_checkpoint_is_refused(ev):
    package = ev.package(3)
    for change, check in (
        ({"head": "cd" * 32}, "checkpoint"),
        ({"seq": 9}, "checkpoint"),
        ({"at": "2027-01-01T00:00:00Z"}, "signature"),
    ):
        forged = replace_member(package, "checkpoint.json", json.dumps({**ev.checkpoint, **change}).encode())
        assert verify_package(forged).broken.check == check, change
    # signed by another key, with that key's certificate put in the package
    forger = generate_identity(HUB)
    resigned = sign_checkpoint(make_checkpoint(8, ev.entries[-1]["hash"], HUB, AT), forger.key)
    forged = replace_member(package, "checkpoint.json", json.dumps(resigned).encode())
    assert verify_package(forged).broken.check == "signature"
    swapped = replace_member(forged, "certificate.pem", forger.certificate_pem)
    report = verify_package(swapped)
    assert report.ok  # self-consistent: only the certificate's fingerprint tells, so pin it
    fingerprint = ev.identity.certificate.fingerprint(hashes.SHA256()).hex()
    assert fingerprint not in report.text()
    pinned = verify_package(swapped, certificate=ev.identity.certificate_pem)
    assert pinned.broken.check == "certificate" and "not the pinned" in pinned.broken.reason
    assert verify_package(package, certificate=ev.identity.certificate_pem).ok


def test_a_broken_or_incomplete_package_is_a_break_not_a_crash(ev):
    package = ev.package(3)
    assert verify_package(b"not a zip").broken.check == "package"
    assert verify_package(replace_member(package, "certificate.pem", None)).broken.check == "package"
    assert verify_package(replace_member(package, "manifest.json", b"{}")).broken.check == "manifest"
    assert verify_package(replace_member(package, "entries.jsonl", b"{not json\n")).broken.check == "entry"
    assert verify_package(replace_member(package, "checkpoint.json", b"[]")).broken.check == "checkpoint"
    assert verify_package(replace_member(package, "certificate.pem", b"junk")).broken.check == "signature"
    assert verify_package(package, require_timestamp=True).broken.check == "timestamp"


def _run_alone(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m govhub_verify`` from a copy of the package alone, with the project's own
    packages made unimportable: what a third party has."""
    lib = tmp_path / "lib"
    if not lib.exists():
        shutil.copytree(ROOT / "govhub_verify", lib / "govhub_verify", ignore=shutil.ignore_patterns("__pycache__"))
    block = "; ".join(
        f"sys.modules[{m!r}] = None" for m in ("hub", "adapters", "devices", "sandbox", "tests", "synth", "demo")
    )
    code = f"import runpy, sys; {block}; sys.argv = ['govhub_verify', *sys.argv[1:]]; runpy.run_module('govhub_verify', run_name='__main__')"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(lib)}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def test_a_third_party_runs_the_verifier_alone(tmp_path, ev):
    (tmp_path / "good.zip").write_bytes(ev.package(3))
    (tmp_path / "hub.pem").write_bytes(ev.identity.certificate_pem)
    done = _run_alone(tmp_path, "good.zip", "--cert", "hub.pem")
    assert done.returncode == 0, done.stderr
    assert "holds  chain: entries 3..8" in done.stdout and "the package holds" in done.stdout
    entries = read_entries(ev.package(3))
    entries[3]["correlation_id"] = "corr-forged"
    (tmp_path / "bad.zip").write_bytes(write_entries(ev.package(3), entries))
    done = _run_alone(tmp_path, "bad.zip", "--json")
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is False and result["break"]["check"] == "entry" and result["break"]["seq"] == 6
    done = _run_alone(tmp_path, "missing.zip")
    assert done.returncode == 2 and "cannot read" in done.stderr
