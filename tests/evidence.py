"""Hand-made exchange-log chains and evidence packages for the #21 tests.

The hashes are computed here from AUDIT-SPEC.md's words (canonical JSON: sorted keys, no
spaces, UTF-8; sha256 hex; ``prev`` the previous hash, 64 zeros first), not with the
code under test, so a drift in govhub_verify.formats shows as a failing test."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime

from hub.audit.package import build_package
from hub.audit.signing import generate_identity, make_checkpoint, sign_checkpoint

HUB = "govhub-test"
AT = datetime(2026, 11, 22, 10, 0, 30)  # naive: the hub's time (CST)


def spec_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def message_bytes(seq: int) -> bytes:
    return f'<case id="C{seq:04d}"><申请人>张三</申请人><seq>{seq}</seq></case>'.encode()


def chain(n: int) -> list[dict]:
    """n entries, seq 1..n, alternately in and out, each with its "hash"."""
    entries, prev = [], "0" * 64
    for seq in range(1, n + 1):
        data = message_bytes(seq)
        inbound = seq % 2 == 1
        entry = {
            "seq": seq,
            "at": f"2026-11-22T02:00:{seq:02d}Z",
            "direction": "in" if inbound else "out",
            "channel": "rest" if inbound else "delivery",
            "system": "dept-a" if inbound else "prov",
            "peer": None if inbound else "prov",
            "message_id": f"MSG-{seq:04d}",
            "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "outcome": {"received": 1, "stored": 1, "duplicate": 0, "quarantined": 0}
            if inbound
            else {"status": "acknowledged", "receipt_digest": "sha256:" + hashlib.sha256(b"ok").hexdigest()},
            "correlation_id": f"corr-{seq}",
            "prev": prev,
        }
        entry["hash"] = prev = spec_hash(entry)
        entries.append(entry)
    return entries


def rehash_from(entries: list[dict], index: int) -> None:
    """Recompute hash and prev from ``index`` on: what a forger with database access does."""
    prev = entries[index - 1]["hash"] if index else "0" * 64
    for entry in entries[index:]:
        entry["prev"] = prev
        entry["hash"] = prev = spec_hash(entry)


class Evidence:
    """A signed chain of ``n`` entries and the package for entry ``seq``'s message."""

    def __init__(self, n: int = 6, identity=None):
        self.identity = identity or generate_identity(HUB)
        self.entries = chain(n)
        head = self.entries[-1]
        self.checkpoint = sign_checkpoint(make_checkpoint(head["seq"], head["hash"], HUB, AT), self.identity.key)

    def package(self, seq: int, *, entries=None, checkpoint=None, message=None, tsa_pem=None, cert_pem=None) -> bytes:
        entries = self.entries if entries is None else entries
        segment = [e for e in entries if e["seq"] >= seq]
        return build_package(
            message_bytes(seq) if message is None else message,
            segment,
            self.checkpoint if checkpoint is None else checkpoint,
            cert_pem or self.identity.certificate_pem,
            tsa_pem,
        )


def members(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rezip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def replace_member(package: bytes, name: str, data: bytes | None) -> bytes:
    """The package with one member changed (``None``: removed)."""
    files = members(package)
    if data is None:
        files.pop(name)
    else:
        files[name] = data
    return rezip(files)


def read_entries(package: bytes) -> list[dict]:
    return [json.loads(line) for line in members(package)["entries.jsonl"].splitlines()]


def write_entries(package: bytes, entries: list[dict]) -> bytes:
    text = b"".join(json.dumps(e, ensure_ascii=False).encode() + b"\n" for e in entries)
    return replace_member(package, "entries.jsonl", text)
