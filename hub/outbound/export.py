"""``govhub export``: a kind's records of a peer's region, written in that peer's format to
a file — exactly what delivery would send (for SFTP / batch peers, and for checking by
hand). Records the format cannot express are left out and listed with the reason.

The records are the library's current rows of the peer's region (as reporting selects
them), changed in ``[since, until)`` when given. Without ``formats:`` for the kind the
file is the canonical contract (XML, validated against ``schemas/xsd/<kind>.xsd``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from hub.catalog.systems import get_system
from hub.core import clock
from hub.db.tables import LIBRARY, delivery
from hub.model.dictionary import kind as dictionary_kind
from hub.model.masking import mask_text
from hub.model.outcomes import DELIVERED
from hub.model.schemagen import xsd_path
from hub.outbound.formats import Item, render
from hub.outbound.peerformat import format_of
from hub.outbound.reporting import region_filter
from hub.outbound.serialize import to_xml


@dataclass
class Exported:
    records: int
    format: str
    schema: str | None
    out: str
    defects: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "format": self.format,
            "schema": self.schema,
            "out": self.out,
            "defects": len(self.defects),
            "defect_reasons": self.defects,
        }


def _records(
    engine: Engine, peer: str, kind: str, since: datetime | None, until: datetime | None
) -> list[tuple[str, dict[str, Any], bool]]:
    t = LIBRARY[kind]
    k = dictionary_kind(kind)
    q = select(t).where(t.c.source_system != peer, region_filter(t, peer)).order_by(t.c.updated_at, t.c.id)
    if since is not None:
        q = q.where(t.c.updated_at >= since)
    if until is not None:
        q = q.where(t.c.updated_at < until)
    with engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
        held = {
            (s, k)
            for s, k in conn.execute(
                select(delivery.c.source_system, delivery.c.record_key).where(
                    delivery.c.peer == peer, delivery.c.kind == kind, delivery.c.status.in_(DELIVERED)
                )
            )
        }
    out = []
    for r in rows:
        key = "|".join(str(r[n]) for n in k.key)
        rec = {f.name: r[f.name] for f in k.fields if r[f.name] is not None}
        out.append((key, rec, (r["source_system"], key) in held))
    return out


def export(
    engine: Engine, peer_id: str, kind: str, out: Path, since: datetime | None = None, until: datetime | None = None
) -> Exported:
    peer = get_system(peer_id)
    records = _records(engine, peer_id, kind, since, until)
    message_id = f"govhub:{peer_id}:{kind}:export:{since or ''}-{until or ''}"
    m = format_of(peer, kind)
    if m is None:
        body = to_xml(kind, [rec for _, rec, _ in records], message_id)
        out.write_bytes(body)
        return Exported(len(records), f"canonical_{kind}_xml", str(xsd_path(kind)), str(out))
    items = [Item(str(i), rec, seen) for i, (_, rec, seen) in enumerate(records, start=1)]
    rendered = render(m, items, message_id, clock.now())
    keys = {str(i): key for i, (key, _, _) in enumerate(records, start=1)}
    out.write_bytes(rendered.body or b"")  # validated against the peer's schema by render
    schema = m.schema
    return Exported(
        len(rendered.rows),
        m.label,
        str(schema) if schema else None,
        str(out),
        {keys[k]: mask_text(why) for k, why in rendered.defects.items()},
    )
