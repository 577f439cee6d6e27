"""Reading the quarantine for administrators: list with filters, show one record with
its personal data masked. (Correct-and-retry and rejection come with the data-quality
work; nothing here deletes anything.)"""

from __future__ import annotations

from sqlalchemy import Engine, select

from hub.masking import mask_payload
from hub.models import quarantine


def list_records(engine: Engine, system: str | None = None, reason: str | None = None, kind: str | None = None,
                 status: str | None = "open", limit: int = 50) -> list[dict]:
    q = select(quarantine.c.id, quarantine.c.source_system, quarantine.c.kind, quarantine.c.message_id,
               quarantine.c.seq, quarantine.c.reason, quarantine.c.field, quarantine.c.rule,
               quarantine.c.received_at, quarantine.c.status, quarantine.c.message).order_by(quarantine.c.id.desc()).limit(limit)
    for col, val in (("source_system", system), ("reason", reason), ("kind", kind), ("status", status)):
        if val:
            q = q.where(quarantine.c[col] == val)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def show(engine: Engine, qid: int) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(select(quarantine).where(quarantine.c.id == qid)).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["payload"] = mask_payload(row["kind"], row["payload"], row["payload_encoding"], row["mapping"])
    return out
