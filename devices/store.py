"""``device_event``: every canonical device event, once (unique ``event_id``), with the
columns the queue statistics read and the time it was published on the bus.

The table is declared on ``hub.db.tables.metadata`` so the hub's migrations create it.
Resends are recognised by ``event_id`` (insert … on conflict do nothing). An event whose
publication failed keeps ``published_at`` empty and goes out with the next batch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Connection, DateTime, Index, String, Table, UniqueConstraint, select, update
from sqlalchemy.dialects import postgresql, sqlite

from devices.events import QueueEvent, WindowEvent
from hub.db.tables import Id, Json, metadata

device_event = Table(
    "device_event",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, comment="deterministic from vendor, hall, device, sequence, time"),
    Column("hall", String(64), nullable=False, comment="政务服务大厅"),
    Column("kind", String(16), nullable=False, comment="queue | window | evaluation"),
    Column(
        "action",
        String(16),
        nullable=True,
        comment="queue: issued | called | served | abandoned | id_read; window: the status",
    ),
    Column("vendor", String(32), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("ticket_no", String(16), nullable=True, comment="排号"),
    Column("item_code", String(64), nullable=True, comment="事项编码 or queue name"),
    Column("window_no", String(16), nullable=True, comment="窗口号"),
    Column("occurred_at", DateTime(), nullable=False, comment="CST, as the device reported it"),
    Column("received_at", DateTime(), nullable=False),
    Column("published_at", DateTime(), nullable=True),
    Column("body", Json, nullable=False, comment="the canonical event; ID numbers only masked and hashed"),
    UniqueConstraint("event_id", name="uq_device_event_event_id"),
    Index("ix_device_event_hall_time", "hall", "kind", "occurred_at"),
    Index("ix_device_event_unpublished", "published_at", "id"),
    comment="大厅设备事件",
)


def _row(e) -> dict:
    action = e.action if isinstance(e, QueueEvent) else e.status if isinstance(e, WindowEvent) else None
    return {
        "event_id": e.event_id,
        "hall": e.hall,
        "kind": e.kind,
        "action": action,
        "vendor": e.vendor,
        "device_id": e.device_id,
        "ticket_no": getattr(e, "ticket_no", None),
        "item_code": getattr(e, "item_code", None),
        "window_no": getattr(e, "window_no", None),
        "occurred_at": e.occurred_at,
        "received_at": e.received_at,
        "body": e.wire(),
    }


def insert_new(conn: Connection, events: list) -> set[str]:
    """Insert the events not stored yet; return the ids of those inserted."""
    rows, seen = [], set()
    for e in events:  # a payload may repeat an event: the first one counts
        if e.event_id not in seen:
            seen.add(e.event_id)
            rows.append(_row(e))
    if not rows:
        return set()
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(device_event)
    stmt = ins.on_conflict_do_nothing(index_elements=["event_id"]).returning(device_event.c.event_id)
    return {r[0] for r in conn.execute(stmt, rows)}


def take_unpublished(conn: Connection, limit: int) -> list[dict]:
    """Oldest unpublished events (event_id, routing key parts, body); on PostgreSQL the
    rows are locked so competing gateways publish disjoint sets."""
    q = (
        select(
            device_event.c.id, device_event.c.event_id, device_event.c.kind, device_event.c.hall, device_event.c.body
        )
        .where(device_event.c.published_at.is_(None))
        .order_by(device_event.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return [dict(r) for r in conn.execute(q).mappings()]


def mark_published(conn: Connection, ids: list[int], at: datetime) -> None:
    conn.execute(update(device_event).where(device_event.c.id.in_(ids)).values(published_at=at))
