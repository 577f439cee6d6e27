"""Pull endpoints for provincial and city platforms: records changed since a cursor,
in a stable order, resumable; and the published item catalogue.

Changes are served in ``(updated_at, id)`` order. Rows younger than ``SETTLE`` seconds
are held back so a transaction that committed late with an earlier timestamp is not
skipped by a cursor that has already passed it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select
from starlette.exceptions import HTTPException

from hub.api import pull_query
from hub.api.auth import caller
from hub.catalog.access import authorise_pull
from hub.catalog.systems import System
from hub.db.tables import LIBRARY
from hub.model.canonical import json_ready
from hub.model.dictionary import kinds

router = APIRouter(prefix="/api/v1", tags=["pull"])
SETTLE = pull_query.SETTLE  # tests set it to 0 here


def _record(kind: str, row) -> dict:
    k = kinds()[kind]
    out = {f.name: json_ready(row[f.name]) for f in k.fields if row[f.name] is not None}
    out["_meta"] = {
        "source_system": row["source_system"],
        "version": row["version"],
        "updated_at": json_ready(row["updated_at"]),
    }
    return out


@router.get("/{kind}/changes", summary="Records changed since a cursor (own region only)")
def changes(
    request: Request,
    kind: str,
    cursor: str | None = Query(None, max_length=400),
    limit: int = Query(500, ge=1, le=5000),
    region: str | None = Query(None, pattern=r"^\d{2,6}$"),
    system: System = Depends(caller),
) -> dict:
    if kind not in kinds():
        raise HTTPException(404, f"unknown kind {kind!r}; known: {', '.join(sorted(kinds()))}")
    prefix = authorise_pull(system, kind, region)
    scope = f"{system.id}:{kind}:{prefix}"
    got = pull_query.page(request.app.state.engine, kind, scope, prefix, cursor, limit, settle=SETTLE)
    rows, next_cursor, more = got.rows, got.next_cursor, got.has_more
    return {
        "kind": kind,
        "region": prefix,
        "records": [_record(kind, r) for r in rows],
        "next_cursor": next_cursor,
        "has_more": more,
    }


@router.get("/catalog/items", tags=["catalogue"], summary="The current item catalogue (清单发布)")
def catalogue(
    request: Request,
    region: str | None = Query(None, pattern=r"^\d{2,6}$"),
    status: str | None = Query("在用", max_length=10),
    system: System = Depends(caller),
) -> dict:
    t = LIBRARY["item"]
    # one row per (item_code, item_version); the current version is the one received last
    latest = select(func.max(t.c.id).label("id")).group_by(t.c.item_code).subquery()
    q = select(t).join(latest, t.c.id == latest.c.id)
    if region:
        q = q.where(t.c.region_code.like(f"{region}%"))
    if status:
        q = q.where(t.c.status == status)
    with request.app.state.engine.connect() as conn:
        rows = conn.execute(q.order_by(t.c.item_code, t.c.item_version)).mappings().all()
    return {"items": [_record("item", r) for r in rows], "count": len(rows)}
