"""Reading the quarantine for administrators: list with filters, show one record with
its personal data masked. What administrators do with a record (correct and retry,
reject) is ``hub.quarantine.workflow``; nothing here writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, or_, select

from hub.db.tables import quarantine
from hub.model.masking import mask_payload
from hub.model.outcomes import QuarantineStatus
from hub.quarantine.actions import quarantine_action

STATUSES = tuple(s.value for s in QuarantineStatus)  # plain strings: click.Choice shows an enum by its name


def list_records(
    engine: Engine,
    system: str | None = None,
    reason: str | None = None,
    kind: str | None = None,
    status: str | None = "open",
    limit: int = 50,
    rule: str | None = None,
    since: datetime | None = None,
    message_id: str | None = None,
) -> list[dict]:
    """Newest first. ``rule`` matches a rule exactly or every version of it
    (``mapping:dept_b_case_csv`` matches ``mapping:dept_b_case_csv@1``); ``status``
    ``all`` (or None) lists every status; ``since`` is a received time (CST); ``message_id``
    one message's records (a push answer links to them)."""
    attempts = (
        select(func.count())
        .where(
            quarantine_action.c.quarantine_id == quarantine.c.id, quarantine_action.c.action.in_(("correct", "retry"))
        )
        .scalar_subquery()
        .label("attempts")
    )
    q = (
        select(
            quarantine.c.id,
            quarantine.c.source_system,
            quarantine.c.kind,
            quarantine.c.message_id,
            quarantine.c.seq,
            quarantine.c.reason,
            quarantine.c.field,
            quarantine.c.rule,
            quarantine.c.received_at,
            quarantine.c.status,
            quarantine.c.resolved_by,
            quarantine.c.message,
            attempts,
        )
        .order_by(quarantine.c.id.desc())
        .limit(limit)
    )
    for col, val in (("source_system", system), ("reason", reason), ("kind", kind), ("message_id", message_id)):
        if val:
            q = q.where(quarantine.c[col] == val)
    if status and status != "all":
        q = q.where(quarantine.c.status == status)
    if rule:
        q = q.where(or_(quarantine.c.rule == rule, quarantine.c.rule.startswith(rule + "@", autoescape=True)))
    if since is not None:
        q = q.where(quarantine.c.received_at >= since)
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
