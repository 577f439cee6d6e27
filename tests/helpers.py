"""Small helpers shared by the test tiers (not fixtures)."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from hub.db.tables import LIBRARY, lineage, quarantine


def xml_doc(records, kind="case", encoding="utf-8", message_id=None) -> bytes:
    from synth.generator import write_xml

    buf = io.BytesIO()
    write_xml(iter(records), kind, buf, encoding=encoding, message_id=message_id)
    return buf.getvalue()


def jsonl_doc(records) -> bytes:
    from synth.generator import write_jsonl

    buf = io.BytesIO()
    write_jsonl(iter(records), buf)
    return buf.getvalue()


def count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def library_count(engine, kind: str) -> int:
    return count(engine, LIBRARY[kind])


def outcomes(engine, system: str | None = None) -> dict[str, int]:
    q = select(lineage.c.outcome, func.count()).group_by(lineage.c.outcome)
    if system:
        q = q.where(lineage.c.source_system == system)
    with engine.connect() as conn:
        return {o: n for o, n in conn.execute(q)}


def quarantine_rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(quarantine).order_by(quarantine.c.id))]
