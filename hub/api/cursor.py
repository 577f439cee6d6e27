"""Opaque, resumable pull cursors: ``(updated_at, id)`` of the last record delivered,
base64url-encoded and signed so a client cannot forge one for another region."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from functools import lru_cache

from hub.core.config import load_settings
from hub.core.errors import InputError


# The signature catches damaged or hand-edited cursors; access is enforced on every
# request regardless, so the key need not be secret, only the same on every API replica.
@lru_cache(maxsize=1)
def _key() -> bytes:
    return load_settings().cursor_key.encode()  # GOVHUB_CURSOR_KEY, read once per process


class BadCursor(InputError):
    reason = "bad_cursor"


def encode(updated_at: datetime, row_id: int, scope: str) -> str:
    body = json.dumps([updated_at.isoformat(), row_id, scope], separators=(",", ":")).encode()
    sig = hmac.new(_key(), body, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(body + sig).decode().rstrip("=")


def decode(cursor: str, scope: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body, sig = raw[:-12], raw[-12:]
        if not hmac.compare_digest(hmac.new(_key(), body, hashlib.sha256).digest()[:12], sig):
            raise ValueError
        ts, row_id, cur_scope = json.loads(body)
        if cur_scope != scope:
            raise ValueError
        return datetime.fromisoformat(ts), int(row_id)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise BadCursor(
            "the cursor is not valid here; start again without one (or with the last next_cursor you were given)"
        ) from None
