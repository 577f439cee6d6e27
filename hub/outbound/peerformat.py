"""Delivery in a peer's own format (``formats:`` in catalog/systems.yaml): the glue
between ``hub.outbound.delivery`` and ``hub.outbound.formats``.

- ``prepare``: the batch's current records → the peer's document, validated against
  its schema; records it cannot express are marked ``defect`` with the reason at once.
- ``settle``: the peer's answer → each delivery's outcome. A record any of whose rows
  the peer rejected (its per-row receipts) is a ``defect`` with the peer's reason codes;
  the others take the receipt's status. A record acknowledged now supersedes its older
  defects for that peer (the corrected version went out), so the report watermark can
  pass them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, select, update

from adapters.base import Envelope, Receipt
from hub.audit.sent import Sent
from hub.catalog.systems import System
from hub.core import clock
from hub.db.tables import delivery
from hub.model.masking import mask_text
from hub.model.outcomes import DELIVERED, DeliveryStatus
from hub.model.outmapping import OutboundMapping
from hub.outbound.formats import Item, Rendered, RowReceipt, format_for, read_receipts, render
from hub.outbound.serialize import load_records


def format_of(peer: System | None, kind: str) -> OutboundMapping | None:
    return format_for(dict(peer.formats), kind) if peer is not None else None


@dataclass
class Prepared:
    rendered: Rendered
    envelope: Envelope | None


def items_for(conn: Connection, peer_id: str, kind: str, rows: Sequence[RowMapping]) -> list[Item]:
    """The current record of each delivery, and whether the peer already holds a version."""
    by_source: dict[str, list[str]] = {}
    for r in rows:
        by_source.setdefault(r["source_system"], []).append(r["record_key"])
    current: dict[tuple[str, str], dict[str, Any]] = {}
    for src, keys in by_source.items():
        current.update({(src, k): v for k, v in load_records(conn, kind, keys, src).items()})
    held = {
        (s, k)
        for s, k in conn.execute(
            select(delivery.c.source_system, delivery.c.record_key).where(
                delivery.c.peer == peer_id,
                delivery.c.kind == kind,
                delivery.c.status.in_(DELIVERED),
                delivery.c.record_key.in_([r["record_key"] for r in rows]),
            )
        )
    }
    return [
        Item(
            str(r["id"]), current[(r["source_system"], r["record_key"])], (r["source_system"], r["record_key"]) in held
        )
        for r in rows
        if (r["source_system"], r["record_key"]) in current
    ]


def prepare(
    engine: Engine, m: OutboundMapping, peer_id: str, kind: str, rows: Sequence[RowMapping], message_id: str
) -> Prepared:
    with engine.connect() as conn:
        items = items_for(conn, peer_id, kind, rows)
    rendered = render(m, items, message_id, clock.now())
    if rendered.defects:
        mark_defects(engine, rendered.defects, message_id)
    if rendered.body is None:
        return Prepared(rendered, None)
    ext = m.spec.format
    envelope = Envelope(
        rendered.body,
        message_id,
        system="govhub",
        kind=kind,
        format=ext,
        filename=f"{message_id.replace(':', '_')}.{ext}",
        headers={"operation": m.spec.operation} if m.spec.operation else {},
    )
    return Prepared(rendered, envelope)


def mark_defects(engine: Engine, defects: dict[str, str], message_id: str | None) -> None:
    now = clock.now()
    with engine.begin() as conn:
        for key, why in defects.items():
            conn.execute(
                update(delivery)
                .where(delivery.c.id == int(key))
                .values(
                    status=DeliveryStatus.DEFECT,
                    attempts=delivery.c.attempts + 1,
                    last_error=mask_text(why)[:2000],
                    message_id=message_id,
                    updated_at=now,
                )
            )


def settle(
    engine: Engine, prepared: Prepared, rows: Sequence[RowMapping], receipt: Receipt, message_id: str, sent: Sent
) -> Counter[str]:
    """Each delivery's outcome from the peer's answer (see the module's docstring)."""
    receipts = read_receipts(prepared.rendered.mapping, receipt.answer)
    refused: dict[str, str] = {}
    for r in rows:
        key = str(r["id"])
        bad = [(rid, receipts[rid]) for rid in prepared.rendered.rows.get(key, []) if rid in receipts]
        bad = [(rid, rr) for rid, rr in bad if not rr.accepted]
        if bad:
            refused[key] = "refused by the peer: " + _reasons(bad)
    now = clock.now()
    ok = [r for r in rows if str(r["id"]) not in refused]
    with engine.begin() as conn:
        if ok:
            conn.execute(
                update(delivery)
                .where(delivery.c.id.in_([r["id"] for r in ok]))
                .values(
                    status=receipt.status,
                    attempts=delivery.c.attempts + 1,
                    message_id=message_id,
                    peer_ref=receipt.peer_ref,
                    last_error=None,
                    updated_at=now,
                    delivered_at=now if receipt.status in DELIVERED else None,
                )
            )
            _supersede_defects(conn, ok, now)
        for key, why in refused.items():
            conn.execute(
                update(delivery)
                .where(delivery.c.id == int(key))
                .values(
                    status=DeliveryStatus.DEFECT,
                    attempts=delivery.c.attempts + 1,
                    message_id=message_id,
                    peer_ref=receipt.peer_ref,
                    last_error=mask_text(why)[:2000],
                    updated_at=now,
                )
            )
        sent.log(conn, receipt.status if ok else "refused", receipt.peer_ref)
    out: Counter[str] = Counter()
    if ok:
        out[receipt.status] = len(ok)
    if refused:
        out[DeliveryStatus.DEFECT] = len(refused)
    return out


def _reasons(bad: list[tuple[str, RowReceipt]]) -> str:
    """``E101 事项编码未登记 (row 12.1); E203 … (rows 12.2-12.9)``: each reason once, with its rows."""
    by: dict[tuple[str, str], list[str]] = {}
    for rid, rr in bad:
        by.setdefault((rr.code, rr.message), []).append(rid)
    return "; ".join(
        f"{code} {msg} (row {ids[0]})" if len(ids) == 1 else f"{code} {msg} (rows {ids[0]}…{ids[-1]}, {len(ids)})"
        for (code, msg), ids in by.items()
    )


def _supersede_defects(conn: Connection, ok: Sequence[RowMapping], now: Any) -> None:
    """Older defects of records the peer now holds are superseded by the delivery that did it."""
    for r in ok:
        conn.execute(
            update(delivery)
            .where(
                delivery.c.peer == r["peer"],
                delivery.c.kind == r["kind"],
                delivery.c.source_system == r["source_system"],
                delivery.c.record_key == r["record_key"],
                delivery.c.status == DeliveryStatus.DEFECT,
                delivery.c.id < r["id"],
            )
            .values(status=DeliveryStatus.SUPERSEDED, peer_ref=f"delivery #{r['id']}", updated_at=now)
        )
