"""Failed authentications, rate-limited: ``LIMIT`` failures of one subject within
``WINDOW`` and its next attempts are refused (HTTP 429 with ``Retry-After``, a SOAP
``Client.Authentication`` fault saying when to retry) until the oldest of them leaves the
window, without checking their credentials, so a correct guess during a lockout tells
nothing and costs no PBKDF2.

The subject is the system a request claims (``X-Govhub-System``, the WS-Security
``Username``) *and* the client address, so failures sent in another system's name from
elsewhere do not lock that system out; an API key and an unknown system or username name
no one, so their subject is the client address (``?@address``). A request without any
credentials is not a failure. Failures are rows of ``auth_failure`` in the hub's
database, shared by every worker; times are the hub's clock (``hub.core.clock``).
"""

from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select

from hub.core import clock
from hub.core.errors import AccessDenied
from hub.db.tables import auth_failure

LIMIT = 10
WINDOW = timedelta(minutes=15)
PURGE_EVERY = timedelta(minutes=1)  # old rows of every subject, per process

_last_purge = datetime.min
_lock = threading.Lock()


class LockedOut(AccessDenied):
    def __init__(self, retry_after: int):
        super().__init__(
            429,
            "too_many_failures",
            f"too many failed authentications from this client; retry after {retry_after} s with the right credentials",
        )
        self.retry_after = retry_after


def subject(system_id: str | None, address: str | None) -> str:
    return f"{system_id or '?'}@{address or '-'}"[:200]


def guard(engine: Engine, who: str) -> None:
    """Raise ``LockedOut`` while ``who`` has ``LIMIT`` failures within ``WINDOW``."""
    now = clock.now()
    with engine.connect() as conn:
        n, oldest = conn.execute(
            select(func.count(), func.min(auth_failure.c.failed_at)).where(
                auth_failure.c.subject == who, auth_failure.c.failed_at > now - WINDOW
            )
        ).one()
    if n >= LIMIT:
        # the oldest may leave before enough others do: with exactly LIMIT rows (failures
        # are not recorded during a lockout) one attempt is allowed again then
        wait = (oldest + WINDOW - now).total_seconds()
        raise LockedOut(max(1, math.ceil(wait)))


def failed(engine: Engine, who: str) -> None:
    """Record a failed authentication of ``who``."""
    now = clock.now()
    with engine.begin() as conn:
        conn.execute(insert(auth_failure).values(subject=who, failed_at=now))
        conn.execute(
            delete(auth_failure).where(auth_failure.c.subject == who, auth_failure.c.failed_at <= now - WINDOW)
        )
    _maybe_purge(engine, now)


def _maybe_purge(engine: Engine, now: datetime) -> None:
    global _last_purge
    with _lock:
        if now - _last_purge < PURGE_EVERY:
            return
        _last_purge = now
    with engine.begin() as conn:
        conn.execute(delete(auth_failure).where(auth_failure.c.failed_at <= now - WINDOW))
