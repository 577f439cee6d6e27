"""The performance figures over HTTP: ``GET /api/v1/stats/performance`` (JSON, the shape of
``govhub report performance --json``) and ``GET /api/v1/stats/performance.html`` (the page).

Read from the figures the ``performance_stats`` DAG keeps current (never a scan of the
libraries). Credentials as for every pull (API key or HMAC signature), and scoped like the
quality report (``routes_reports.visible_sources``): a province-level system sees every
region; a city or county platform its own region; a department system only its own
department's figures. ``region`` and ``dept`` narrow that scope, never widen it."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from hub.api.auth import caller
from hub.catalog.systems import System
from hub.core import clock
from hub.domains.performance import report
from hub.domains.performance.query import QueryError
from hub.domains.performance.report_html import render_html

router = APIRouter(prefix="/api/v1/stats", tags=["statistics"])


def scope_of(system: System) -> dict[str, Any]:
    """What this caller may read: ``region_prefix`` and/or ``dept_codes`` (None: no limit)."""
    if system.level == "province":
        return {}
    if system.level == "department":
        return {"dept_codes": [system.dept_code] if system.dept_code else []}
    return {"region_prefix": system.region_prefix}


def _figures(
    request: Request, system: System, start: date | None, end: date | None, every: str, by: str, region, dept
) -> dict:
    last = end or clock.now().date()
    first = start or last.replace(day=1)
    try:
        return report.build(
            request.app.state.engine,
            first,
            last,
            every,  # type: ignore[arg-type]  # checked by the Query pattern
            tuple(b for b in by.split(",") if b),
            refresh_first=False,
            regions=[region] if region else [],
            depts=[dept] if dept else [],
            **scope_of(system),
        )
    except QueryError as exc:
        raise HTTPException(400, detail=str(exc)) from None


_FROM = Query(None, alias="from", description="first day, YYYY-MM-DD (default: the first of the month of `to`)")
_TO = Query(None, description="last day, included, YYYY-MM-DD (default: today, CST)")
_EVERY = Query("month", pattern="^(day|month|quarter|year)$")
_BY = Query("department", description="comma-separated: department, item, window, post (staff number), region")
_REGION = Query(None, pattern=r"^\d{2,6}$", description="only this division code or prefix (within your own)")
_DEPT = Query(None, max_length=64, description="only this department (统一社会信用代码)")


@router.get("/performance", summary="Performance figures (绩效统计) per period and group, as JSON")
def performance_json(
    request: Request,
    start: date | None = _FROM,
    end: date | None = _TO,
    every: str = _EVERY,
    by: str = _BY,
    region: str | None = _REGION,
    dept: str | None = _DEPT,
    system: System = Depends(caller),
) -> dict:
    return _figures(request, system, start, end, every, by, region, dept)


@router.get("/performance.html", summary="The performance report (绩效统计报告) as a page", response_class=HTMLResponse)
def performance_html(
    request: Request,
    start: date | None = _FROM,
    end: date | None = _TO,
    every: str = _EVERY,
    by: str = _BY,
    region: str | None = _REGION,
    dept: str | None = _DEPT,
    system: System = Depends(caller),
) -> HTMLResponse:
    data = _figures(request, system, start, end, every, by, region, dept)
    return HTMLResponse(render_html(data, data.get("dept_names")))
