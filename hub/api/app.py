"""``govhub serve``: REST and SOAP ingress on one port.

| path | what |
|---|---|
| ``GET /health`` | liveness: the process answers |
| ``GET /ready`` | readiness: database and bus reachable (503 otherwise); anonymous callers get an answer up to 5 s old (``hub.api.probes``) |
| ``POST /api/v1/{kind}`` | push a batch (canonical JSON ``{"message_id", "records": [...]}`` or canonical XML) |
| ``GET /api/v1/{kind}/changes`` | pull records changed since an opaque cursor (platforms, own region only) |
| ``GET /api/v1/catalog/items`` | the current item catalogue (清单发布) |
| ``GET /api/v1/whoami`` | which system the credentials belong to |
| ``GET /reports/quality`` (``.html``) | the data-quality report, scoped to what the caller oversees |
| ``/api/v1/quarantine...`` | the quarantine workflow, for administrators (``hub.api.routes_quarantine``) |
| ``/soap/push`` | the SOAP service (``?wsdl``) |
| ``GET /openapi.json``, ``/docs`` | this API's OpenAPI document and its browser, only with ``GOVHUB_DOCS=on`` |
| ``GET /metrics`` | Prometheus metrics, for the metrics token or an administrator (``hub.api.metrics_auth``; ``GOVHUB_METRICS=off`` removes it) |

Every request runs under a correlation id (``X-Correlation-ID``, see ``hub.core.correlation``).

Every error is JSON ``{"error": reason, "message": what to do}`` with a 4xx status for
the caller's mistakes; messages never echo personal data.
"""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.api import routes_pull, routes_push, routes_quarantine, routes_reports, routes_stats
from hub.api.cursor import BadCursor
from hub.api.lockout import LockedOut
from hub.api.metrics_auth import metrics_reader
from hub.api.middleware import CorrelationMiddleware
from hub.api.probes import add_probes
from hub.api.soap.service import routes as soap_routes
from hub.audit.chain import LogUnavailable
from hub.catalog.access import AccessDenied
from hub.core.config import Settings, load_settings
from hub.db.engine import engine_for, migrate
from hub.model.masking import mask_text
from hub.ops import logs
from hub.ops.logs import install_masking
from hub.ops.metrics import metrics_enabled, metrics_endpoint
from hub.wiring import standard_pipeline

log = logging.getLogger("govhub.api")


def _error(status: int, reason: str, message: str) -> JSONResponse:
    return JSONResponse({"error": reason, "message": mask_text(message)}, status_code=status)


def create_app(settings: Settings | None = None, migrate_db: bool = True) -> FastAPI:
    settings = settings or load_settings()
    _setup_logging()
    if migrate_db:
        migrate(settings.db_url)
    engine = engine_for(settings.db_url)
    app = FastAPI(
        title="govhub",
        version="1",
        description="Integration hub for government-service data (政务服务数据交换): push and pull case records, "
        "items, licences, evaluations and supervision data. Authenticate with X-Api-Key or an HMAC "
        "signature (X-Govhub-System, X-Govhub-Timestamp, X-Govhub-Signature).",
        # the API's map is for developers, not for whoever reaches a production port
        docs_url="/docs" if settings.docs else None,
        openapi_url="/openapi.json" if settings.docs else None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.pipeline = standard_pipeline(engine, batch_size=settings.batch_size, home=settings.home)
    _add_error_handlers(app)
    add_probes(app, settings, engine)
    _add_routes(app, settings, engine)
    return app


def _setup_logging() -> None:
    if not logging.getLogger("govhub").handlers:  # a server process uvicorn spawned: same logging as the CLI
        logs.setup(load_settings().log_level.upper())
    install_masking()  # uvicorn's own loggers and handlers included


def _add_error_handlers(app: FastAPI) -> None:
    """Every error as ``{"error", "message"}``; an unexpected one logged, never shown."""

    @app.exception_handler(AccessDenied)
    async def _denied(_req: Request, exc: AccessDenied):
        answer = _error(exc.status, exc.reason, exc.message)
        if isinstance(exc, LockedOut):  # 429: when to come back (hub.api.lockout)
            answer.headers["Retry-After"] = str(exc.retry_after)
        return answer

    @app.exception_handler(LogUnavailable)
    async def _unlogged(_req: Request, exc: LogUnavailable):
        # nothing is accepted without evidence (the exchange log, hub.audit): send again later
        log.error("exchange log unavailable: %s", exc.message)
        answer = _error(503, exc.reason, "the hub cannot record this message in its exchange log; send it again later")
        answer.headers["Retry-After"] = "30"
        return answer

    @app.exception_handler(BadCursor)
    async def _cursor(_req: Request, exc: BadCursor):
        return _error(400, "bad_cursor", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(422, "invalid_request", f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException):
        reason = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "bad_request")
        return _error(exc.status_code, reason, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception):
        log.exception("unexpected error: %s", type(exc).__name__)
        return _error(500, "internal_error", "the hub failed to handle this request; it has been logged — retry later")


def _add_routes(app: FastAPI, settings: Settings, engine: Engine) -> None:
    """The API's routers, the correlation middleware, metrics and SOAP, in this order."""
    app.include_router(routes_push.router)
    app.include_router(routes_stats.router)  # before routes_pull: /api/v1/stats/… is not a kind
    app.include_router(routes_pull.router)
    app.include_router(routes_reports.router)
    app.add_middleware(CorrelationMiddleware)
    if metrics_enabled(settings):
        app.add_api_route(
            "/metrics",
            metrics_endpoint(engine, settings),
            methods=["GET"],
            dependencies=[Depends(metrics_reader(settings))],
            tags=["operations"],
            response_class=PlainTextResponse,
            summary="Prometheus metrics (records, queues, delivery lag, job freshness)",
        )
    app.include_router(routes_quarantine.router)
    # SOAP routes join the same app (not a mounted sub-app) so they share app.state
    app.router.routes.extend(soap_routes())
