"""Incremental reporting upward (融通上报): records of a peer's region that changed since
its watermark are queued for delivery to it; the delivery machinery (``hub.outbound.delivery``)
sends them in order with retries and receipts.

Two watermarks per (peer, kind), both positions ``(updated_at, library row id)``:

- ``enqueued`` — everything up to here is queued. It advances in the same transaction
  as the queueing, so a run that dies half-way resumes where it stopped, and a rerun or
  an overlapping run queues nothing twice (a queued record version is unique).
- ``acknowledged`` — everything up to here is acknowledged by the peer. It advances only
  past records whose deliveries the peer has acknowledged (or that a newer version
  superseded), never past a pending or dead one.

Records younger than ``SETTLE`` are left for the next run, so a transaction that commits
late with an earlier timestamp is not skipped. ``backfill`` queues a date range again
on request; those deliveries carry their own reason and so are sent even if the same
versions were sent before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, RowMapping, Table, and_, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from hub.catalog.systems import get_system
from hub.core import clock
from hub.db.tables import LIBRARY, delivery, report_watermark
from hub.model.dictionary import kind as dictionary_kind
from hub.model.outcomes import DELIVERED, DeliveryStatus
from hub.outbound.delivery import Deliverer, enqueue

log = logging.getLogger("govhub.reporting")
SETTLE = timedelta(seconds=2)
FINAL = (*DELIVERED, DeliveryStatus.SUPERSEDED)


@dataclass
class ReportRun:
    peer: str
    kind: str
    queued: int = 0
    delivered: dict[str, int] | None = None
    acknowledged_through: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "peer": self.peer,
            "kind": self.kind,
            "queued": self.queued,
            "delivered": dict(self.delivered or {}),
            "acknowledged_through": self.acknowledged_through.isoformat() if self.acknowledged_through else None,
        }


def _watermark(conn: Connection, peer: str, kind: str) -> RowMapping | None:
    return (
        conn.execute(select(report_watermark).where(report_watermark.c.peer == peer, report_watermark.c.kind == kind))
        .mappings()
        .first()
    )


def _save(conn: Connection, peer: str, kind: str, **values: Any) -> None:
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(report_watermark)
    row = {"peer": peer, "kind": kind, "updated_at": clock.now(), **values}
    conn.execute(
        ins.values(**row).on_conflict_do_update(
            index_elements=["peer", "kind"], set_={k: row[k] for k in row if k not in ("peer", "kind")}
        )
    )


def _region_filter(t: Table, peer_id: str) -> ColumnElement[bool]:
    peer = get_system(peer_id)
    return (
        t.c.region_code.like(f"{peer.region_prefix}%") if "region_code" in t.c else true()
    )  # what where() makes of True


region_filter = _region_filter  # the records of a peer's region (govhub export selects them too)


def enqueue_changes(engine: Engine, peer: str, kind: str, limit: int = 5000) -> int:
    """Queue up to ``limit`` changed records after the watermark; returns how many."""
    t = LIBRARY[kind]
    k = dictionary_kind(kind)
    with engine.begin() as conn:
        wm = _watermark(conn, peer, kind)
        q = select(t.c.id, t.c.updated_at, t.c.source_system, t.c.version, *[t.c[n] for n in k.key]).where(
            t.c.updated_at <= clock.now() - SETTLE, t.c.source_system != peer, _region_filter(t, peer)
        )
        if wm and wm["enqueued_at"] is not None:
            q = q.where(
                or_(
                    t.c.updated_at > wm["enqueued_at"],
                    and_(t.c.updated_at == wm["enqueued_at"], t.c.id > wm["enqueued_id"]),
                )
            )
        rows = conn.execute(q.order_by(t.c.updated_at, t.c.id).limit(limit)).all()
        if not rows:
            return 0
        items = [
            (
                r.source_system,
                "|".join(str(v) for v in r[4:]),
                r.version,
                "|".join(str(v) for v in r[4:]),
                r.id,
                r.updated_at,
            )
            for r in rows
        ]
        enqueue(conn, peer, kind, items, clock.now(), reason="report")
        _save(
            conn,
            peer,
            kind,
            enqueued_at=rows[-1].updated_at,
            enqueued_id=rows[-1].id,
            acknowledged_at=wm["acknowledged_at"] if wm else None,
            acknowledged_id=wm["acknowledged_id"] if wm else None,
        )
    log.info("queued %d %s records for %s", len(rows), kind, peer)
    return len(rows)


def advance_acknowledged(engine: Engine, peer: str, kind: str) -> datetime | None:
    """Move the acknowledged watermark up to the first report delivery not yet final."""
    with engine.begin() as conn:
        wm = _watermark(conn, peer, kind)
        if not wm:
            return None
        open_ = conn.execute(
            select(delivery.c.record_updated_at, delivery.c.record_id)
            .where(
                delivery.c.peer == peer,
                delivery.c.kind == kind,
                delivery.c.reason == "report",
                delivery.c.status.not_in(FINAL),
            )
            .order_by(delivery.c.record_updated_at, delivery.c.record_id)
            .limit(1)
        ).first()
        if open_ is None:
            at, rid = wm["enqueued_at"], wm["enqueued_id"]
        else:  # the last final delivery before the first open one
            last = conn.execute(
                select(delivery.c.record_updated_at, delivery.c.record_id)
                .where(
                    delivery.c.peer == peer,
                    delivery.c.kind == kind,
                    delivery.c.reason == "report",
                    delivery.c.status.in_(FINAL),
                    or_(
                        delivery.c.record_updated_at < open_[0],
                        and_(delivery.c.record_updated_at == open_[0], delivery.c.record_id < open_[1]),
                    ),
                )
                .order_by(delivery.c.record_updated_at.desc(), delivery.c.record_id.desc())
                .limit(1)
            ).first()
            at, rid = (last[0], last[1]) if last else (wm["acknowledged_at"], wm["acknowledged_id"])
        conn.execute(
            update(report_watermark)
            .where(report_watermark.c.peer == peer, report_watermark.c.kind == kind)
            .values(acknowledged_at=at, acknowledged_id=rid, updated_at=clock.now())
        )
        acknowledged: datetime | None = at
        return acknowledged


def run(engine: Engine, peer: str, kind: str, deliverer: Deliverer | None = None, limit: int = 5000) -> ReportRun:
    """One reporting run: queue what changed, deliver, advance the acknowledged watermark."""
    own = deliverer is None
    deliverer = deliverer or Deliverer(engine)
    try:
        result = ReportRun(peer, kind)
        result.queued = enqueue_changes(engine, peer, kind, limit)
        result.delivered = deliverer.run_once(peer)
        result.acknowledged_through = advance_acknowledged(engine, peer, kind)
        return result
    finally:
        if own:
            deliverer.close()


def backfill(engine: Engine, peer: str, kind: str, start: datetime, end: datetime) -> int:
    """Queue every record of the peer's region changed in [start, end) again."""
    t = LIBRARY[kind]
    k = dictionary_kind(kind)
    tag = f"backfill:{clock.now():%Y%m%d%H%M%S}"
    with engine.begin() as conn:
        rows = conn.execute(
            select(t.c.id, t.c.updated_at, t.c.source_system, t.c.version, *[t.c[n] for n in k.key])
            .where(t.c.updated_at >= start, t.c.updated_at < end, t.c.source_system != peer, _region_filter(t, peer))
            .order_by(t.c.updated_at, t.c.id)
        ).all()
        items = [
            (
                r.source_system,
                "|".join(str(v) for v in r[4:]),
                r.version,
                "|".join(str(v) for v in r[4:]),
                r.id,
                r.updated_at,
            )
            for r in rows
        ]
        enqueue(conn, peer, kind, items, clock.now(), reason=tag)
    log.info("backfill %s: queued %d %s records for %s", tag, len(rows), kind, peer)
    return len(rows)
