"""Daily reconciliation (对账) of reported cases with a peer: what we delivered against
what the peer says it holds, per item and day; each disagreement becomes a
``reconcile_discrepancy`` row.

    counts = reconcile(engine, "js-province", date(2026, 3, 2))
    # {'items': 41, 'matched': 40, 'mismatched': 1, 'opened': 1, 'resolved': 0, 'ours': 388, 'theirs': 387}

Datasheet
---------
Ours
    Cases with a ``delivery`` to the peer in status ``acknowledged`` or ``sent`` (any
    reason, any version), counted once per case number, grouped by the item code of the
    library row. The day of a case is the date of its ``apply_time`` (申请时间, CST): both
    sides read it from the record itself, whereas delivery and receipt times fall on
    different days around midnight and would make false mismatches.
Theirs (protocol)
    The peer's catalogue ``endpoint`` (``rest://``) serves, cursor-paginated like any
    pull, ``<reconcile_path>?day=YYYY-MM-DD`` (endpoint option ``reconcile_path``, default
    ``/reconcile/case``) with records ``{"item_code", "count", "digest"}``, digest =
    SHA-256 hex of the item's sorted case numbers joined by ``"\\n"``; and, asked only for
    items that disagree, ``...?day=...&item_code=...`` with records ``{"case_no"}``.
Discrepancies
    One row per (peer, day, item) whose count or digest differs, with up to
    ``SAMPLE`` case numbers we delivered that the peer lacks (``missing_sample``) and
    that it holds without our delivery (``extra_sample``). A rerun updates the row in
    place (counts, digests, samples, ``checked_at``; ``detected_at`` stays); a row whose
    item agrees again becomes ``resolved``, and ``open`` again if it disagrees later.
Counts
    ``items`` compared (either side has cases), ``matched``, ``mismatched``, ``opened``
    (rows that became open in this run), ``resolved``, ``ours``/``theirs`` (cases).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import Column, Date, DateTime, Engine, Index, Integer, String, Table, UniqueConstraint, select, update

from adapters.errors import ConfigError
from adapters.registry import open_adapter
from hub.catalog.systems import System, get_system
from hub.core import clock
from hub.db.tables import LIBRARY, Id, Json, delivery, metadata
from hub.model.outcomes import DELIVERED

log = logging.getLogger("govhub.reconcile")

SAMPLE = 20
DEFAULT_PATH = "/reconcile/case"

reconcile_discrepancy = Table(
    "reconcile_discrepancy",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("peer", String(64), nullable=False),
    Column("day", Date(), nullable=False, comment="apply_time date of the cases compared"),
    Column("item_code", String(40), nullable=False),
    Column("ours_count", Integer(), nullable=False),
    Column("theirs_count", Integer(), nullable=False),
    Column("ours_digest", String(64), nullable=True),
    Column("theirs_digest", String(64), nullable=True),
    Column("missing_sample", Json, nullable=False, comment="case numbers delivered that the peer lacks"),
    Column("extra_sample", Json, nullable=False, comment="case numbers the peer holds without our delivery"),
    Column("detected_at", DateTime(), nullable=False),
    Column("checked_at", DateTime(), nullable=False),
    Column("status", String(12), nullable=False, comment="open | resolved"),
    UniqueConstraint("peer", "day", "item_code", name="uq_reconcile_discrepancy_item"),
    Index("ix_reconcile_discrepancy_status", "status", "peer"),
    comment="对账差异",
)


def digest(case_numbers: Iterable[str]) -> str:
    """The protocol's digest of a set of case numbers (sorted, joined by newlines, SHA-256 hex)."""
    return hashlib.sha256("\n".join(sorted(case_numbers)).encode("utf-8")).hexdigest()


def reconcile(engine: Engine, peer_id: str, day: date) -> dict[str, int]:
    """Compare one day's delivered cases with the peer's holdings; returns the counts."""
    peer = get_system(peer_id)
    ours = delivered_cases(engine, peer_id, day)
    theirs = {r["item_code"]: (int(r["count"]), r["digest"]) for r in _ask(peer, day)}
    now = clock.now().replace(microsecond=0)
    items = sorted(ours.keys() | theirs.keys())
    mismatched: dict[str, dict[str, Any]] = {}
    for item in items:
        mine = ours.get(item, set())
        ours_pair = (len(mine), digest(mine) if mine else None)
        theirs_pair = theirs.get(item, (0, None))
        if ours_pair != theirs_pair:
            held = {r["case_no"] for r in _ask(peer, day, item)}
            mismatched[item] = {
                "ours_count": ours_pair[0],
                "ours_digest": ours_pair[1],
                "theirs_count": theirs_pair[0],
                "theirs_digest": theirs_pair[1],
                "missing_sample": sorted(mine - held)[:SAMPLE],
                "extra_sample": sorted(held - mine)[:SAMPLE],
            }
    opened, resolved = _record(engine, peer_id, day, mismatched, now)
    counts = {
        "items": len(items),
        "matched": len(items) - len(mismatched),
        "mismatched": len(mismatched),
        "opened": opened,
        "resolved": resolved,
        "ours": sum(len(v) for v in ours.values()),
        "theirs": sum(n for n, _ in theirs.values()),
    }
    log.info("reconciled %s with %s: %s", day, peer_id, " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def delivered_cases(engine: Engine, peer_id: str, day: date) -> dict[str, set[str]]:
    """Item code → case numbers applied for on ``day`` that went out to the peer."""
    t = LIBRARY["case"]
    start = datetime.combine(day, time())
    q = (
        select(t.c.item_code, t.c.case_no)
        .distinct()
        .join(delivery, (delivery.c.source_system == t.c.source_system) & (delivery.c.record_key == t.c.case_no))
        .where(
            delivery.c.peer == peer_id,
            delivery.c.kind == "case",
            delivery.c.status.in_(DELIVERED),
            t.c.apply_time >= start,
            t.c.apply_time < start + timedelta(days=1),
        )
    )
    out: dict[str, set[str]] = {}
    with engine.connect() as conn:
        for item, case_no in conn.execute(q):
            out.setdefault(item, set()).add(case_no)
    return out


def _ask(peer: System, day: date, item_code: str | None = None) -> list[dict[str, Any]]:
    if not peer.endpoint:
        raise ConfigError(f"system {peer.id} has no endpoint in the catalogue; reconciling needs one")
    path = dict(parse_qsl(urlsplit(peer.endpoint).query)).get("reconcile_path", DEFAULT_PATH)
    query = {"day": day.isoformat(), **({"item_code": item_code} if item_code else {})}
    with open_adapter(peer.endpoint, pull_path=f"{path}?{urlencode(query)}") as adapter:
        return [r for page in adapter.read() for r in json.loads(page.body)["records"]]


def _record(
    engine: Engine, peer_id: str, day: date, mismatched: dict[str, dict[str, Any]], now: datetime
) -> tuple[int, int]:
    """Upsert one row per mismatched item, resolve the rows that agree again."""
    t = reconcile_discrepancy
    opened = resolved = 0
    with engine.begin() as conn:
        existing = {
            r.item_code: r
            for r in conn.execute(select(t.c.id, t.c.item_code, t.c.status).where(t.c.peer == peer_id, t.c.day == day))
        }
        for item, values in mismatched.items():
            row = existing.get(item)
            if row is None:
                conn.execute(
                    t.insert().values(
                        peer=peer_id, day=day, item_code=item, detected_at=now, checked_at=now, status="open", **values
                    )
                )
                opened += 1
            else:
                conn.execute(update(t).where(t.c.id == row.id).values(checked_at=now, status="open", **values))
                opened += row.status != "open"
        for item, row in existing.items():
            if item not in mismatched and row.status == "open":
                conn.execute(update(t).where(t.c.id == row.id).values(status="resolved", checked_at=now))
                resolved += 1
    return opened, resolved
