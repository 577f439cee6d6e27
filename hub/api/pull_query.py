"""One page of records changed since a cursor, in ``(updated_at, id)`` order: what
``GET /api/v1/{kind}/changes`` (``hub.api.routes_pull``) and the SOAP pulls
``GetCaseChanges`` / ``GetItemCatalogue`` (``hub.api.soap.pull``) serve, by the same
opaque cursor (``hub.api.cursor``).

Rows younger than ``SETTLE`` are held back so a transaction that committed late with an
earlier timestamp is not skipped by a cursor that has already passed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select

from hub.api import cursor as cursors
from hub.core import clock
from hub.db.tables import LIBRARY

SETTLE = timedelta(seconds=2)


@dataclass
class Page:
    rows: list[Any]
    next_cursor: str | None
    has_more: bool


def page(
    engine: Engine,
    kind: str,
    scope: str,
    prefix: str,
    cursor: str | None,
    limit: int,
    settle: timedelta | None = None,
) -> Page:
    """Up to ``limit`` rows of ``kind`` in the region ``prefix`` after ``cursor`` (which
    must have been made for ``scope``: a caller, a kind, a region)."""
    t = LIBRARY[kind]
    q = select(t).where(t.c.updated_at <= clock.now() - (SETTLE if settle is None else settle))
    if "region_code" in t.c and prefix:
        q = q.where(t.c.region_code.like(f"{prefix}%"))
    if cursor:
        at, row_id = cursors.decode(cursor, scope)
        q = q.where(or_(t.c.updated_at > at, and_(t.c.updated_at == at, t.c.id > row_id)))
    q = q.order_by(t.c.updated_at, t.c.id).limit(limit + 1)
    with engine.connect() as conn:
        rows = list(conn.execute(q).mappings().all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = cursors.encode(rows[-1]["updated_at"], rows[-1]["id"], scope) if rows else cursor
    return Page(rows, next_cursor, more)
