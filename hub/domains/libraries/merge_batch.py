"""Writing one batch of a resource-library refresh: the offered records' rows read with
their provenance and known conflicts, each merge decided (``hub.domains.libraries.decision``),
then in the page's transaction the lineage, new and changed library rows (previous values
to ``record_history``), ``field_provenance``, ``merge_conflict`` (values masked), outbox
events and deliveries to the ``report_to`` peers."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Index,
    RowMapping,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    insert,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite

from hub.db.tables import LIBRARY, Id, metadata, outbox, record_history
from hub.domains.libraries.decision import _decide, _Merge
from hub.domains.libraries.precedence import KindPrecedence
from hub.ingest.pipeline import OpenMessage
from hub.ingest.store import (
    EVENTS_EXCHANGE,
    ConcurrentUpdate,
    Prepared,
    add_counts,
    bulk_insert,
    content_hash,
)
from hub.ingest.writers import write_lineage
from hub.model.canonical import json_ready
from hub.model.dictionary import Kind
from hub.model.masking import mask_record
from hub.model.outcomes import Detail, Outcome
from hub.outbound.delivery import enqueue

field_provenance = Table(
    "field_provenance",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("record_key", String(200), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("source_system", String(64), nullable=False, comment="the source whose value the field holds"),
    Column("source_time", DateTime(), nullable=True, comment="that source's update time"),
    Column("value_hash", String(32), nullable=False, comment="digest of the value it set"),
    Column("updated_at", DateTime(), nullable=False),
    comment="字段来源",
)

merge_conflict = Table(
    "merge_conflict",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("record_key", String(200), nullable=False),
    Column("field", String(64), nullable=False),
    Column("kept_source", String(64), nullable=False),
    Column("kept_value_masked", Text(), nullable=True),
    Column("offered_source", String(64), nullable=False),
    Column("offered_value_masked", Text(), nullable=True),
    Column("offered_hash", String(32), nullable=False, comment="digest of the offered value (unmasked)"),
    Column("offered_time", DateTime(), nullable=True, comment="the offering source's update time"),
    Column("detected_at", DateTime(), nullable=False),
    Column("status", String(12), nullable=False, default="open", comment="open | resolved | dismissed"),
    UniqueConstraint("kind", "record_key", "field", "offered_source", "offered_hash", name="uq_merge_conflict_offer"),
    Index("ix_merge_conflict_status", "status", "kind"),
    comment="合并冲突",
)


def _key_rows(conn: Connection, t: Table, k: Kind, keys: list[tuple]) -> dict[str, dict]:
    cols = [t.c[n] for n in k.key]
    where = cols[0].in_([key[0] for key in keys]) if len(cols) == 1 else tuple_(*cols).in_(keys)
    return {"|".join(str(r[n]) for n in k.key): dict(r) for r in conn.execute(select(t).where(where)).mappings()}


def _key_text(p: Prepared) -> str:
    text = p.key_text
    assert text is not None, "a defective record has no key"
    return text


def _masked(kind: str, name: str, value) -> str | None:
    if value is None:
        return None
    masked = mask_record(kind, {name: json_ready(value)})[name]
    return masked if isinstance(masked, str) else json.dumps(masked, ensure_ascii=False)


def _provenance(conn: Connection, kind: str, keys: list[str]) -> dict[str, dict[str, RowMapping]]:
    """The stored provenance of the offered records' fields, by record key and field."""
    provenance: dict[str, dict[str, RowMapping]] = {}
    for r in conn.execute(
        select(field_provenance).where(field_provenance.c.kind == kind, field_provenance.c.record_key.in_(keys))
    ).mappings():
        provenance.setdefault(r["record_key"], {})[r["field"]] = r
    return provenance


def _known_conflicts(conn: Connection, kind: str, source: str, keys: list[str]) -> set[tuple]:
    """The conflicts this source already offered for these records: (record key, field, offered hash)."""
    return set(
        conn.execute(
            select(merge_conflict.c.record_key, merge_conflict.c.field, merge_conflict.c.offered_hash).where(
                merge_conflict.c.kind == kind,
                merge_conflict.c.offered_source == source,
                merge_conflict.c.record_key.in_(keys),
            )
        ).all()
    )


def _set_outcomes(batch: list[Prepared], merges: list[_Merge]) -> None:
    """Each record's lineage outcome and version: new, merged (changed) or unchanged."""
    for p, mg in zip(batch, merges):
        if mg.row is None:
            p.outcome, p.detail, p.version = Outcome.STORED, Detail.NEW, 1
        elif mg.changed:
            p.outcome, p.detail, p.version = Outcome.STORED, Detail.MERGED, mg.row["version"] + 1
        else:
            p.outcome, p.detail, p.version = Outcome.DUPLICATE, Detail.UNCHANGED, mg.row["version"]


def _insert_new(conn: Connection, t: Table, source: str, now: datetime, new: list[tuple]) -> None:
    bulk_insert(
        conn,
        t,
        [
            {
                **mg.values,
                "source_system": source,
                "version": 1,
                "payload_hash": p.hash,
                "received_at": now,
                "updated_at": now,
                "lineage_id": lid,
            }
            for p, mg, lid in new
        ],
    )


def _save_conflicts(
    conn: Connection,
    kind: str,
    source: str,
    now: datetime,
    decided: list[tuple[Prepared, _Merge]],
    known: set[tuple],
) -> int:
    """Stores the conflicts not already known (values masked); returns how many were offered."""
    conflicts = [
        {
            "kind": kind,
            "record_key": p.key_text,
            "field": name,
            "kept_source": kept,
            "kept_value_masked": _masked(kind, name, old),
            "offered_source": source,
            "offered_value_masked": _masked(kind, name, new_value),
            "offered_hash": h,
            "offered_time": p.canonical.get("source_time"),
            "detected_at": now,
            "status": "open",
        }
        for p, mg in decided
        for name, kept, old, new_value, h in mg.conflicts
        if (p.key_text, name, h) not in known
    ]
    if conflicts:
        ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(merge_conflict)
        conn.execute(ins.on_conflict_do_nothing(), conflicts)
    return len(conflicts)


def _announce(conn: Connection, m: OpenMessage, k: Kind, now: datetime, events: list[tuple]) -> None:
    """The outbox events of the new and changed records, and their deliveries to the ``report_to`` peers."""
    source = m.system.id
    if events:
        bulk_insert(conn, outbox, [_event(k, source, m.ctx.message_id, now, p, mg, lid) for p, mg, lid in events])
    if events and m.system.report_to:
        items = [(source, p.key_text, p.version, p.key_text) for p, _, _ in events]
        for peer in m.system.report_to:
            enqueue(conn, peer, k.kind, items, now)


def _merge_batch(conn: Connection, m: OpenMessage, kp: KindPrecedence, batch: list[Prepared]) -> Counter:
    ctx, source = m.ctx, m.system.id
    k, t, now = ctx.kind, LIBRARY[ctx.kind.kind], ctx.received_at
    keys = [_key_text(p) for p in batch]
    rows = _key_rows(conn, t, k, [p.natural_key for p in batch])
    provenance = _provenance(conn, k.kind, keys)
    known_conflicts = _known_conflicts(conn, k.kind, source, keys)

    merges = [
        _decide(k, kp, source, p.canonical, rows.get(key), provenance.get(key, {})) for p, key in zip(batch, keys)
    ]
    _set_outcomes(batch, merges)
    lineage_ids = write_lineage(conn, ctx, batch)

    new = [(p, mg, lid) for p, mg, lid in zip(batch, merges, lineage_ids) if mg.row is None]
    changed = [(p, mg, lid) for p, mg, lid in zip(batch, merges, lineage_ids) if mg.row is not None and mg.changed]
    if new:
        _insert_new(conn, t, source, now, new)
    if changed:
        _update_rows(conn, k, t, source, now, changed)
    decided = [(p, mg) for p, mg in zip(batch, merges)]
    _save_provenance(conn, k.kind, now, decided)
    conflicts = _save_conflicts(conn, k.kind, source, now, decided, known_conflicts)

    events = new + changed
    _announce(conn, m, k, now, events)
    add_counts(conn, source, k.kind, Counter(p.outcome for p in batch))
    return Counter(merged=len(events), unchanged=len(batch) - len(events), conflicts=conflicts)


def _update_rows(conn: Connection, k: Kind, t: Table, source: str, now: datetime, changed: list[tuple]) -> None:
    conn.execute(
        insert(record_history),
        [
            {
                "kind": k.kind,
                "record_id": mg.row["id"],
                "record_key": p.key_text,
                "version": mg.row["version"],
                "source_system": mg.row["source_system"],
                "source_time": mg.row["source_time"],
                "recorded_at": now,
                "lineage_id": lid,
                "reason": "merged",
                "changed_fields": sorted(mg.changed),
                "values": {f.name: json_ready(mg.row[f.name]) for f in k.fields if mg.row[f.name] is not None},
            }
            for p, mg, lid in changed
        ],
    )
    names = [f.name for f in k.fields]
    stmt = (
        t.update()
        .where(t.c.id == bindparam("_id"), t.c.version == bindparam("_old_version"))
        .values(
            {c: bindparam(c) for c in names + ["source_system", "version", "payload_hash", "updated_at", "lineage_id"]}
        )
    )
    rows = []
    for p, mg, lid in changed:
        times = [x for x in (mg.row["source_time"], p.record.get("source_time")) if x is not None]
        values = {**mg.values, "source_time": max(times) if times else None}
        rows.append(
            {
                **values,
                "source_system": source,
                "version": p.version,
                "payload_hash": content_hash({n: v for n, v in values.items() if v is not None}),
                "updated_at": now,
                "lineage_id": lid,
                "_id": mg.row["id"],
                "_old_version": mg.row["version"],
            }
        )
    res = conn.execute(stmt, rows)
    if res.rowcount not in (-1, len(rows)):
        raise ConcurrentUpdate(f"{len(rows) - res.rowcount} library rows changed underneath this refresh page")


def _save_provenance(conn: Connection, kind: str, now: datetime, merges: list[tuple[Prepared, _Merge]]) -> None:
    rows = [
        {
            "kind": kind,
            "record_key": p.key_text,
            "field": name,
            "source_system": src,
            "source_time": when,
            "value_hash": h,
            "updated_at": now,
        }
        for p, mg in merges
        for name, (src, when, h) in mg.provenance.items()
    ]
    if not rows:
        return
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(field_provenance)
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["kind", "record_key", "field"],
            set_={c: ins.excluded[c] for c in ("source_system", "source_time", "value_hash", "updated_at")},
        ),
        rows,
    )


def _event(k: Kind, source: str, message_id: str, now: datetime, p: Prepared, mg: _Merge, lineage_id: int) -> dict:
    event = "created" if mg.row is None else "updated"
    region = mg.values.get("region_code")
    return {
        "exchange": EVENTS_EXCHANGE,
        "routing_key": f"{k.kind}.{region or 'unknown'}.{source}",
        "kind": k.kind,
        "record_key": p.key_text,
        "event": event,
        "body": {
            "event": event,
            "kind": k.kind,
            "key": p.key_text,
            "version": p.version,
            "source_system": source,
            "region_code": region,
            "message_id": message_id,
            "lineage_id": lineage_id,
            "fields": sorted(mg.changed),
        },
        "created_at": now,
    }
