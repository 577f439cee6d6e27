"""An evidence package (``govhub-evidence/1``, AUDIT-SPEC.md): one zip a third party checks
offline with ``python -m govhub_verify``.

    message.bin      the exact bytes of the message (or delivery)
    entries.jsonl    its entry up to the checkpoint's head, each with its stored "hash"
    checkpoint.json  the signed checkpoint (with its time-stamp, if any)
    certificate.pem  the hub's certificate
    tsa.pem          the TSA's certificate, when there is a time-stamp and it is known
    manifest.json    {"format", "message_id", "seq"}

A pure function of what it is given: the caller (``govhub audit export``) reads the
entries, the bytes and the checkpoint from the store. It writes the entries' stored
hashes as they are and never recomputes them, so a package from a tampered log shows the
tampering to whoever checks it. The zip is deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from typing import Any

from govhub_verify.formats import PACKAGE_FORMAT

_STAMP = (1980, 1, 1, 0, 0, 0)  # zip members carry a time; a fixed one keeps packages reproducible


def _json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def build_package(
    message: bytes,
    entries: Sequence[dict[str, Any]],
    checkpoint: dict[str, Any],
    certificate_pem: bytes,
    tsa_pem: bytes | None = None,
) -> bytes:
    """The zip's bytes. ``entries`` start with the message's entry and end with the
    checkpoint's head entry, each with its stored ``hash``."""
    if not entries:
        raise ValueError("an evidence package needs at least the message's entry")
    missing = [e.get("seq") for e in entries if "hash" not in e]
    if missing:
        raise ValueError(f"entries without their stored hash: seq {missing}")
    first = entries[0]
    manifest = {"format": PACKAGE_FORMAT, "message_id": first["message_id"], "seq": first["seq"]}
    members = [
        ("manifest.json", _json(manifest)),
        ("message.bin", message),
        ("entries.jsonl", b"".join(_json(dict(e)) + b"\n" for e in entries)),
        ("checkpoint.json", _json(checkpoint)),
        ("certificate.pem", certificate_pem),
    ]
    if tsa_pem is not None:
        members.append(("tsa.pem", tsa_pem))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buffer.getvalue()
