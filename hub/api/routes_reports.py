"""The data-quality report over HTTP: ``GET /reports/quality`` (JSON, the shape of
``schemas/report/quality_report.schema.json``) and ``GET /reports/quality.html`` (the
same report as one self-contained page).

The report holds only counts and masked examples, but it still tells one department
about another's records, so it needs credentials like the pull routes (API key or HMAC
signature), and it is scoped to what the caller oversees: a province-level system sees
every source; a city or county platform the catalogued systems of its region; a
department system only its own records."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from hub.api.auth import caller
from hub.catalog.systems import System, systems
from hub.quality import report as quality_report
from hub.quality.report_html import render_html

router = APIRouter(prefix="/reports", tags=["reports"])


def visible_sources(system: System) -> set[str] | None:
    """Source systems whose quality this caller may read; None means every source."""
    if system.level == "province":
        return None
    if system.level == "department":
        return {system.id}
    prefix = system.region_prefix
    return {s.id for s in systems().values() if s.region_code.startswith(prefix)} | {system.id}


def _build(request: Request, system: System, days: int, day_to: date | None) -> dict:
    return quality_report.build(request.app.state.engine, day_to=day_to, days=days, sources=visible_sources(system))


@router.get("/quality", summary="The data-quality report (数据质量报告) as JSON")
def quality_json(
    request: Request,
    days: int = Query(quality_report.DEFAULT_DAYS, ge=1, le=366),
    to: date | None = Query(None, description="last day of the period, YYYY-MM-DD (default: today, CST)"),
    system: System = Depends(caller),
) -> dict:
    return _build(request, system, days, to)


@router.get(
    "/quality.html", summary="The data-quality report (数据质量报告) as an HTML page", response_class=HTMLResponse
)
def quality_html(
    request: Request,
    days: int = Query(quality_report.DEFAULT_DAYS, ge=1, le=366),
    to: date | None = Query(None, description="last day of the period, YYYY-MM-DD (default: today, CST)"),
    system: System = Depends(caller),
) -> HTMLResponse:
    return HTMLResponse(render_html(_build(request, system, days, to)))
