"""Checkpoints on a schedule: ``govhub serve`` and ``govhub worker`` sign the exchange log's
head every ``GOVHUB_AUDIT_CHECKPOINT_SECONDS`` (default 900) and once more when they stop.

Several processes share one schedule: a process takes a checkpoint only when the last one
(any process's, read from ``audit_checkpoint``) is at least an interval old. Without an
audit key the hub logs once that checkpoints are off and serves on (the chain itself is
still written); the ``GovhubCheckpointsStopped`` alert watches the checkpoints' age.

The time is injected (``now``): tests call :meth:`Checkpointer.tick` with their clock; the
background thread waits on an event, which stopping the process sets.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from hub.audit import checkpoint
from hub.audit.signing import IdentityError
from hub.core import clock
from hub.db.tables import audit_checkpoint

log = logging.getLogger("govhub.audit")


class Checkpointer:
    def __init__(
        self,
        engine: Engine,
        sealer: checkpoint.Sealer,
        interval: float,
        now: Callable[[], datetime] = clock.now,
    ):
        self.engine, self.sealer, self.interval, self.now = engine, sealer, interval, now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def due(self, at: datetime) -> bool:
        with self.engine.connect() as conn:
            last = conn.execute(select(func.max(audit_checkpoint.c.taken_at))).scalar()
        return last is None or at - last >= timedelta(seconds=self.interval)

    def tick(self) -> dict[str, Any] | None:
        """Take a checkpoint if one is due; never raises (a failure is logged, tried next time)."""
        at = self.now()
        try:
            return checkpoint.take(self.engine, self.sealer, at) if self.due(at) else None
        except (SQLAlchemyError, OSError) as exc:
            log.error(
                "the exchange log's checkpoint failed (%s); trying again in %ss", type(exc).__name__, self.interval
            )
            return None

    def final(self) -> dict[str, Any] | None:
        """At shutdown: sign the head as this process leaves it."""
        try:
            return checkpoint.take(self.engine, self.sealer, self.now())
        except (SQLAlchemyError, OSError) as exc:
            log.error("the exchange log's shutdown checkpoint failed (%s)", type(exc).__name__)
            return None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="govhub-checkpoints", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(min(self.interval, 60.0)):
            self.tick()

    def stop(self) -> dict[str, Any] | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        return self.final()


def for_process(engine: Engine) -> Checkpointer | None:
    """This process's checkpointer, or None (no audit key, or the interval is 0)."""
    interval = checkpoint.interval_seconds()
    if interval <= 0:
        return None
    try:
        sealer = checkpoint.Sealer.from_env()
    except IdentityError as exc:
        log.warning("exchange-log checkpoints are off: %s", exc)
        return None
    return Checkpointer(engine, sealer, interval)


@contextlib.contextmanager
def running(engine: Engine) -> Iterator[Checkpointer | None]:
    """Checkpoints while the body runs, and one when it ends."""
    cp = for_process(engine)
    if cp is not None:
        cp.start()
    try:
        yield cp
    finally:
        if cp is not None:
            cp.stop()
