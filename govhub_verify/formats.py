"""The exchange log's formats (the one home of the rules both sides follow).

An entry is hashed over its canonical JSON without its ``hash`` key; each entry's ``prev``
is the hash of the entry before it (64 zeros before the first); a checkpoint signs the
canonical JSON of ``{"seq", "head", "at", "hub"}``. The hub writes with these functions and
the standalone verifier checks with them, so the two cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

PACKAGE_FORMAT = "govhub-evidence/1"
GENESIS = "0" * 64
ECDSA_P256_SHA256 = "ecdsa-p256-sha256"
CHECKPOINT_FIELDS = ("seq", "head", "at", "hub")
# what checkpoint.json adds to the checkpoint: the signature and its evidence, not signed
SIGNATURE_FIELDS = ("algorithm", "signature", "timestamp")
ENTRY_FIELDS = frozenset(
    (
        "seq",
        "at",
        "direction",
        "channel",
        "system",
        "peer",
        "message_id",
        "digest",
        "size",
        "outcome",
        "correlation_id",
        "prev",
    )
)


def canonical(obj: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not \\u escapes): the same bytes on every machine."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def entry_hash(entry: dict[str, Any]) -> str:
    """The hash of an entry: its ``hash`` key, if it carries one, is not part of it."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def digest(data: bytes) -> str:
    """How an entry names the exact bytes of a message: ``sha256:`` + lower hex."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def checkpoint_body(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The signed part of a checkpoint: all of it but algorithm, signature and timestamp
    (a key added after signing is signed over too, so it breaks the signature)."""
    return {k: v for k, v in checkpoint.items() if k not in SIGNATURE_FIELDS}


def signed_bytes(checkpoint: dict[str, Any]) -> bytes:
    return canonical(checkpoint_body(checkpoint))
