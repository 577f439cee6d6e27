"""The replay store: credentials accepted once (HMAC request signatures, WS-Security
PasswordDigest nonces), shared by every process on the hub's database, so that a request
captured on the wire is refused the second time whichever worker it reaches.

A credential is remembered only after it verified (junk from strangers writes nothing)
and kept until ``expires_at``: the end of its clock window, after which its timestamp is
refused as stale anyway. Only a SHA-256 of the value is kept. Expired rows are purged
now and then by the process that remembers (at most every ``PURGE_EVERY`` seconds).

Times are unix seconds on the real clock, like the peers' timestamps they come from
(not the hub's domain clock, see ``hub.core.clock``).
"""

from __future__ import annotations

import hashlib
import threading
import time

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from hub.db.tables import used_credential

PURGE_EVERY = 60.0  # seconds between purges, per process

_last_purge = 0.0
_lock = threading.Lock()


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\n{value}".encode()).hexdigest()


def remember(engine: Engine, kind: str, value: str, expires_at: float, now: float | None = None) -> bool:
    """Record that ``value`` (of ``kind``: ``hmac``, ``wsse``) was used; False if it was
    already, by this process or another one. Atomic: of two concurrent calls with the same
    value, one gets False (the primary key decides)."""
    now = time.time() if now is None else now
    _maybe_purge(engine, now)
    key = _digest(kind, value)
    row = {"kind": kind, "value_hash": key, "expires_at": int(expires_at) + 1}
    try:
        with engine.begin() as conn:
            conn.execute(insert(used_credential).values(**row))
        return True
    except IntegrityError:
        pass
    # seen: unless the row outlived its window (not purged yet), which frees the value again
    with engine.begin() as conn:
        gone = conn.execute(
            delete(used_credential).where(
                used_credential.c.kind == kind,
                used_credential.c.value_hash == key,
                used_credential.c.expires_at <= now,
            )
        ).rowcount
    if not gone:
        return False
    return remember(engine, kind, value, expires_at, now)


def purge(engine: Engine, now: float | None = None) -> int:
    """Delete what expired; returns how many rows."""
    now = time.time() if now is None else now
    with engine.begin() as conn:
        return conn.execute(delete(used_credential).where(used_credential.c.expires_at <= now)).rowcount or 0


def _maybe_purge(engine: Engine, now: float) -> None:
    global _last_purge
    with _lock:
        if now - _last_purge < PURGE_EVERY:
            return
        _last_purge = now
    purge(engine, now)
