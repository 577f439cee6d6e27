"""Hall devices over HTTP: ``POST /devices/{vendor}`` (Starlette).

| | |
|---|---|
| auth | ``X-Api-Key``: the hall's key, checked by SHA-256 against ``catalog/halls.yaml`` |
| body | the vendor's payload, at most 1 MiB: ``acme-json`` JSON, ``qline`` GBK lines, ``hallxml`` XML |
| 200 | ``{"hall", "vendor", "received", "stored", "duplicate", "quarantined", "events": [{"position", "outcome", "event_id", "kind" \\| "reason", "message"}]}`` — malformed events are quarantined and reported, the rest kept |
| 400 | the body is unreadable as a whole (bad encoding or JSON, DTD in XML, no event): ``{"error", "message", "quarantined": true}`` |
| 401 / 404 / 413 | no or unknown key / unknown vendor format (quarantined too) / body too large |
| 503 | the database is away: nothing was kept, send again later |

``routes(gateway)`` plugs the endpoint into another app (the hub's ``govhub serve``);
``create_app(settings)`` is the standalone device service (``govhub devices serve``),
optionally with the line listener (``devices.linefeed``) in the same process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devices.gateway import Gateway, Receipt
from devices.halls import hall_by_key
from devices.linefeed import serve_lines
from hub.api.body import BodyTooLarge, read_body
from hub.core.config import Settings, load_settings
from hub.db.engine import engine_for
from hub.model.masking import mask_text

log = logging.getLogger("govhub.devices")
MAX_BODY = 1024 * 1024  # this route's limit (hub.api.body): a device sends a few events at a time
FLUSH_EVERY = 30.0  # seconds between retries of publishing events stored while the bus was away


def _error(status: int, reason: str, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": reason, "message": mask_text(message), **extra}, status_code=status)


def _answer(receipt: Receipt) -> JSONResponse:
    if receipt.refused is not None:
        err = receipt.refused
        return _error(404 if err.reason == "vendor_unknown" else 400, err.reason, err.message, quarantined=True)
    counts = receipt.counts()
    events = [{k: v for k, v in asdict(r).items() if v is not None} for r in receipt.results]
    return JSONResponse(
        {"hall": receipt.hall, "vendor": receipt.vendor, "received": len(events), **counts, "events": events}
    )


def routes(gateway: Gateway) -> list[Route]:
    async def post_events(request: Request) -> JSONResponse:
        hall = hall_by_key(request.headers.get("x-api-key"))
        if hall is None:
            return _error(401, "bad_credentials", "send the hall's API key in the X-Api-Key header")
        try:
            body = await read_body(request, MAX_BODY)
        except BodyTooLarge:
            return _error(
                413, "too_large", f"the body is larger than {MAX_BODY // 1024} KiB; send fewer events at a time"
            )
        try:
            receipt = await run_in_threadpool(gateway.receive, hall.id, request.path_params["vendor"], body)
        except SQLAlchemyError as exc:
            log.warning("device events from hall %s not kept: database unavailable (%s)", hall.id, type(exc).__name__)
            return _error(503, "unavailable", "the hub cannot store events right now; send them again later")
        return _answer(receipt)

    return [Route("/devices/{vendor}", post_events, methods=["POST"])]


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    lines_port: int | None = None,
    lines_host: str = "127.0.0.1",
    lines_vendor: str = "qline",
) -> Starlette:
    """The device service. ``lines_port``: also listen for the line protocol there."""
    settings = settings or load_settings()
    gateway = Gateway(settings, engine or engine_for(settings.db_url))

    async def flush_every(seconds: float) -> None:
        while True:  # events stored while the bus was away go out even if the hall falls quiet
            await run_in_threadpool(gateway.flush)
            await asyncio.sleep(seconds)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        flusher = asyncio.create_task(flush_every(FLUSH_EVERY))
        server = None
        if lines_port is not None:
            server = await serve_lines(gateway, lines_host, lines_port, lines_vendor)
        try:
            yield
        finally:
            flusher.cancel()
            if server is not None:
                server.close()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(server.wait_closed(), 5)
            gateway.close()

    app = Starlette(routes=routes(gateway), lifespan=lifespan)
    app.state.gateway = gateway
    return app
