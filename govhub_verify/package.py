"""Check an evidence package (a zip, ``govhub-evidence/1``) offline, in the order the
format lists (the chain of entries before the message's bytes, so that an altered entry
is named as such): the chain, the message's bytes, the chain's link to the checkpoint, the
checkpoint's signature, the time-stamp. Each check that holds is said; the first that does
not stops the check (what follows a break proves nothing) and says where it is."""

from __future__ import annotations

import base64
import binascii
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from cryptography import x509

from govhub_verify.formats import ENTRY_FIELDS, GENESIS, PACKAGE_FORMAT, digest, entry_hash
from govhub_verify.signature import SignatureError, describe, load_certificate, signature_bytes, verify_signature

REQUIRED = ("manifest.json", "message.bin", "entries.jsonl", "checkpoint.json", "certificate.pem")


@dataclass(frozen=True)
class Break:
    """The first thing that does not hold. ``check`` is one of package, manifest, message,
    entry, checkpoint, certificate, signature, timestamp; ``seq`` the entry where the chain
    breaks (for message/entry/checkpoint), ``line`` its line in entries.jsonl."""

    check: str
    reason: str
    seq: int | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f" at seq {self.seq}" if self.seq is not None else ""
        line = f" (entries.jsonl line {self.line})" if self.line is not None else ""
        return f"{self.check}{where}{line}: {self.reason}"


@dataclass
class Report:
    holds: list[str] = field(default_factory=list)
    broken: Break | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def text(self) -> str:
        lines = [f"  holds  {h}" for h in self.holds]
        lines.append(f"  BREAK  {self.broken}" if self.broken else "  => the package holds")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        broken = None if self.broken is None else self.broken.__dict__
        return {"ok": self.ok, "holds": self.holds, "break": broken}


class _Broken(Exception):
    def __init__(self, found: Break):
        self.found = found


def _stop(check: str, reason: str, seq: int | None = None, line: int | None = None) -> _Broken:
    return _Broken(Break(check, reason, seq, line))


def verify_package(
    source: bytes | str | Path | BinaryIO,
    *,
    certificate: bytes | None = None,
    tsa_certificate: bytes | None = None,
    require_timestamp: bool = False,
) -> Report:
    """Check the package. ``certificate`` / ``tsa_certificate`` (PEM) pin the hub's and the
    TSA's certificates: without them the package's own are used, and the report names them
    (subject and fingerprint) for the reader to compare with what the hub's operator published."""
    report = _Run(certificate, tsa_certificate, require_timestamp)
    try:
        report.run(source)
    except _Broken as stop:
        report.report.broken = stop.found
    return report.report


class _Run:
    def __init__(self, certificate: bytes | None, tsa_certificate: bytes | None, require_timestamp: bool):
        self.pinned, self.pinned_tsa, self.require_timestamp = certificate, tsa_certificate, require_timestamp
        self.report = Report()
        self.files: dict[str, bytes] = {}

    def hold(self, text: str) -> None:
        self.report.holds.append(text)

    def run(self, source: bytes | str | Path | BinaryIO) -> None:
        self.files = _read_zip(source)
        manifest = self.manifest()
        entries = self.entries(manifest)
        # the chain before the message: an altered first entry is the entry's break, not the bytes'
        self.chain(entries, manifest["seq"])
        self.message(entries[0])
        checkpoint = self.checkpoint(entries)
        self.signature(checkpoint)
        self.timestamp(checkpoint)

    def manifest(self) -> dict[str, Any]:
        manifest = _json(self.files["manifest.json"], "manifest")
        if not isinstance(manifest, dict) or manifest.get("format") != PACKAGE_FORMAT:
            raise _stop("manifest", f"not a {PACKAGE_FORMAT} package")
        seq, message_id = manifest.get("seq"), manifest.get("message_id")
        if not _is_seq(seq) or not isinstance(message_id, str):
            raise _stop("manifest", "message_id must be a string and seq a positive whole number")
        self.hold(f"manifest: {PACKAGE_FORMAT}, message {message_id!r}, entry seq {seq}")
        return manifest

    def entries(self, manifest: dict[str, Any]) -> list[dict[str, Any]]:
        entries = []
        for line, text in enumerate(self.files["entries.jsonl"].decode("utf-8", "replace").splitlines(), 1):
            if not text.strip():
                continue
            entry = _json(text.encode("utf-8"), "entry", line=line)
            missing = sorted((ENTRY_FIELDS | {"hash"}) - set(entry)) if isinstance(entry, dict) else ["(not an object)"]
            if missing or not _is_seq(entry["seq"]):
                raise _stop("entry", f"malformed entry: lacks {', '.join(missing) or 'a whole-number seq'}", line=line)
            entry["_line"] = line
            entries.append(entry)
        if not entries:
            raise _stop("entry", "entries.jsonl holds no entry")
        first = entries[0]
        if first["seq"] != manifest["seq"]:
            raise _stop(
                "entry",
                f"the first entry is seq {first['seq']}, the manifest names seq {manifest['seq']}: the message's entry is missing",
                first["seq"],
                1,
            )
        if first["message_id"] != manifest["message_id"]:
            raise _stop(
                "entry",
                f"the entry is for message {first['message_id']!r}, not {manifest['message_id']!r}",
                first["seq"],
                first["_line"],
            )
        return entries

    def message(self, entry: dict[str, Any]) -> None:
        data = self.files["message.bin"]
        if digest(data) != entry["digest"] or len(data) != entry["size"]:
            raise _stop(
                "message",
                f"message.bin ({len(data)} bytes, {digest(data)}) is not the bytes the entry names ({entry['size']} bytes, {entry['digest']})",
                entry["seq"],
                entry["_line"],
            )
        self.hold(
            f"message.bin: {len(data)} bytes, {entry['digest']}, as entry seq {entry['seq']} records ({entry['direction']} {entry['channel']} {entry['system']})"
        )

    def chain(self, entries: list[dict[str, Any]], first_seq: int) -> None:
        previous: dict[str, Any] | None = None
        for entry in entries:
            body = {k: v for k, v in entry.items() if k != "_line"}
            seq, line, computed = entry["seq"], entry["_line"], entry_hash(body)
            if previous is not None and seq != previous["seq"] + 1:
                raise _stop(
                    "entry",
                    f"the entry after seq {previous['seq']} is seq {seq}: {_gap(previous['seq'], seq)}",
                    seq,
                    line,
                )
            if computed != entry["hash"]:
                raise _stop("entry", "the entry was altered: its hash does not recompute", seq, line)
            expected = previous["hash"] if previous is not None else (GENESIS if seq == 1 else None)
            if expected is not None and entry["prev"] != expected:
                before = f"seq {seq - 1}" if seq > 1 else "the start of the chain"
                raise _stop(
                    "entry",
                    f"prev is not the hash of {before}: an entry was altered, removed or inserted here",
                    seq,
                    line,
                )
            previous = entry
        self.hold(f"chain: entries {first_seq}..{entries[-1]['seq']} recompute and each links to the one before")

    def checkpoint(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        checkpoint = _json(self.files["checkpoint.json"], "checkpoint")
        last = entries[-1]
        if not isinstance(checkpoint, dict) or not _is_seq(checkpoint.get("seq")):
            raise _stop("checkpoint", "checkpoint.json has no whole-number seq")
        if checkpoint["seq"] != last["seq"]:
            raise _stop(
                "checkpoint",
                f"the checkpoint signs seq {checkpoint['seq']}, the chain ends at seq {last['seq']}: entries are missing or the checkpoint is another one",
                last["seq"],
                last["_line"],
            )
        if checkpoint.get("head") != last["hash"]:
            raise _stop(
                "checkpoint",
                f"the checkpoint's head is not the hash of entry seq {last['seq']}",
                last["seq"],
                last["_line"],
            )
        self.hold(
            f"checkpoint: seq {checkpoint['seq']} head {last['hash'][:16]}… is the last entry's hash (hub {checkpoint.get('hub')!r}, at {checkpoint.get('at')})"
        )
        return checkpoint

    def signature(self, checkpoint: dict[str, Any]) -> None:
        try:
            cert = load_certificate(self.files["certificate.pem"])
            if self.pinned is not None and cert != load_certificate(self.pinned):
                raise _stop("certificate", f"certificate.pem is not the pinned hub certificate: it is {describe(cert)}")
            verify_signature(checkpoint, cert)
        except SignatureError as exc:
            raise _stop("signature", str(exc)) from None
        pinned = (
            "the pinned certificate"
            if self.pinned is not None
            else "certificate.pem (compare its fingerprint with the hub's published one)"
        )
        self.hold(f"signature: {checkpoint['algorithm']} verifies with {pinned}: {describe(cert)}")

    def timestamp(self, checkpoint: dict[str, Any]) -> None:
        if "timestamp" not in checkpoint:
            if self.require_timestamp:
                raise _stop("timestamp", "the checkpoint carries no time-stamp")
            self.hold("time-stamp: none (the checkpoint's time is the hub's own word)")
            return
        try:
            from govhub_verify.tsp import TimestampError, verify_token
        except ImportError:
            raise _stop("timestamp", "checking a time-stamp needs asn1crypto (pip install asn1crypto)") from None
        tsa_pem = self.pinned_tsa if self.pinned_tsa is not None else self.files.get("tsa.pem")
        try:
            token = base64.b64decode(checkpoint["timestamp"], validate=True)
            stamp = verify_token(token, signature_bytes(checkpoint), _tsa(tsa_pem))
        except (TimestampError, SignatureError, binascii.Error, TypeError, ValueError) as exc:
            raise _stop("timestamp", str(exc)) from None
        source = (
            "the pinned TSA certificate"
            if self.pinned_tsa
            else "tsa.pem"
            if tsa_pem
            else "the certificate inside the token (nothing in the package names the TSA)"
        )
        self.hold(
            f"time-stamp: the signature existed at {stamp.gen_time.isoformat()} (token serial {stamp.serial}), signed by {source}: {describe(stamp.tsa)}"
        )


def _tsa(pem: bytes | None) -> x509.Certificate | None:
    return None if pem is None else load_certificate(pem)


def _gap(before: int, after: int) -> str:
    if after > before + 1:
        missing = f"seq {before + 1}" if after == before + 2 else f"seqs {before + 1}..{after - 1}"
        return f"{missing} deleted"
    return "the order of the entries was changed or an entry repeated"


def _is_seq(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _json(data: bytes, check: str, line: int | None = None) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _stop(check, f"not valid UTF-8 JSON ({exc})", line=line) from None


def _read_zip(source: bytes | str | Path | BinaryIO) -> dict[str, bytes]:
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        with zipfile.ZipFile(source) as zf:
            names = set(zf.namelist())
            missing = [n for n in REQUIRED if n not in names]
            if missing:
                raise _stop("package", f"the package lacks {', '.join(missing)}")
            return {n: zf.read(n) for n in (*REQUIRED, "tsa.pem") if n in names}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        raise _stop("package", f"not a readable zip ({exc})") from None
