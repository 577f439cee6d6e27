"""``GET /health`` (the process answers) and ``GET /ready`` (database and bus reachable).

A readiness check opens a database connection and a bus connection. Anonymous callers
(load balancers, container health checks, anyone) get the last answer while it is younger
than ``READY_TTL`` on the hub clock, so however often they ask, the hub opens those
connections at most once per ``READY_TTL``; an operator (``hub.api.metrics_auth``) gets a
live check every time.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from hub.api.metrics_auth import is_operator
from hub.bus import topology as bus
from hub.core import clock
from hub.core.config import Settings

READY_TTL = timedelta(seconds=5)


class Readiness:
    def __init__(self, settings: Settings, engine: Engine):
        self.settings, self.engine = settings, engine
        self._lock = threading.Lock()  # concurrent anonymous callers wait for one check
        self._last: tuple[int, dict[str, Any]] | None = None
        self._at: datetime | None = None

    def live(self) -> tuple[int, dict[str, Any]]:
        checks = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"unavailable: {type(exc).__name__}"
        try:
            with bus.connect(self.settings) as conn:
                conn.ensure_connection(max_retries=1, timeout=3)
            checks["bus"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["bus"] = f"unavailable: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return (200 if ok else 503), {"status": "ready" if ok else "not_ready", "checks": checks}

    def cached(self) -> tuple[int, dict[str, Any]]:
        with self._lock:
            now = clock.now()
            if self._last is None or self._at is None or not (self._at <= now < self._at + READY_TTL):
                self._last, self._at = self.live(), now
            return self._last


def add_probes(app: FastAPI, settings: Settings, engine: Engine) -> None:
    readiness = Readiness(settings, engine)

    @app.get("/health", tags=["operations"], summary="Liveness")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"], summary="Readiness: database and bus reachable")
    def ready(request: Request):
        status, body = readiness.live() if is_operator(request, settings) else readiness.cached()
        return JSONResponse(body, status_code=status)
