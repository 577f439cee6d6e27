"""The writers of each outcome of a classified batch: one ``lineage`` row per record,
the library rows of new and updated records (the replaced values kept in
``record_history``), stale records kept in ``record_history`` only, quarantined records
with their original payload, and the outbox events of what was stored.

Called in this order by ``hub.ingest.store`` inside the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, cast

from sqlalchemy import Connection, String, bindparam, insert, select

from hub.db.tables import LIBRARY, lineage, outbox, quarantine, record_history
from hub.ingest.batch import BatchContext, BatchObserver, Held, Key, Prepared, Written
from hub.ingest.rows import bulk_insert, no_nul, outbox_row, storable_payload
from hub.model.canonical import json_ready
from hub.model.dictionary import Kind
from hub.model.dictionary import kind as dictionary_kind
from hub.model.outcomes import Detail, QuarantineStatus


def _field_values(k: Kind, rec: dict[str, Any]) -> dict[str, Any]:
    # canonical records hold only the kind's fields: absent ones become None
    empty = _empty_row(k.kind)
    row = {**empty, **rec}
    return row if len(row) == len(empty) else {n: rec.get(n) for n in empty}


@cache
def _empty_row(kind: str) -> dict[str, None]:
    return dict.fromkeys(f.name for f in dictionary_kind(kind).fields)


def _json_values(rec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: json_ready(v) for k, v in rec.items() if v is not None}


def write_lineage(conn: Connection, ctx: BatchContext, batch: list[Prepared]) -> list[int]:
    """One lineage row per record, whatever its outcome; returns their ids in batch order."""
    return bulk_insert(
        conn,
        lineage,
        [
            {
                "source_system": ctx.system,
                "kind": ctx.kind.kind,
                "message_id": ctx.message_id,
                "seq": p.seq,
                "record_key": p.key_text,
                "received_at": ctx.received_at,
                "payload_hash": p.hash,
                "mapping": ctx.mapping,
                "schema_version": ctx.schema_version,
                "outcome": p.outcome,
                "detail": p.detail,
                "record_version": p.version,
                **({"correction_of": ctx.correction_of, "corrected_by": ctx.corrected_by} if ctx.correction_of else {}),
            }
            for p in batch
        ],
        returning_ids=True,
    )


def supersede_lineage(conn: Connection, old_id: int | None, new_id: int, at: Any) -> None:
    """Mark a quarantined record's lineage row as replaced by its correction's row. The row is
    kept (lineage is evidence); the books count only rows that nothing superseded."""
    if old_id is not None:
        conn.execute(
            lineage.update()
            .where(lineage.c.id == old_id, lineage.c.superseded_by.is_(None))
            .values(superseded_by=new_id, superseded_at=at)
        )


def insert_new(conn: Connection, ctx: BatchContext, new: Written) -> None:
    k, now = ctx.kind, ctx.received_at
    bulk_insert(
        conn,
        LIBRARY[k.kind],
        [
            {
                **_field_values(k, p.canonical),
                "source_system": ctx.system,
                "version": 1,
                "payload_hash": p.hash,
                "received_at": now,
                "updated_at": now,
                "lineage_id": lid,
            }
            for p, lid in new
        ],
    )


def replace_updated(conn: Connection, ctx: BatchContext, updated: Written, existing: dict[Key, Held]) -> int:
    """The previous values go to ``record_history``, then the library rows are updated,
    each only if still at the version classified against. Returns the rows updated (-1:
    the driver cannot tell): fewer than ``updated`` means another writer changed one
    meanwhile, which the store raises as ``ConcurrentUpdate``."""
    k, t, now = ctx.kind, LIBRARY[ctx.kind.kind], ctx.received_at
    conn.execute(insert(record_history), _replaced_history(conn, ctx, updated, existing))
    stmt = (
        t.update()
        .where(t.c.id == bindparam("_id"), t.c.version == bindparam("_old_version"))
        .values(
            {
                c: bindparam(c)
                for c in [f.name for f in k.fields]
                + ["source_system", "version", "payload_hash", "updated_at", "lineage_id"]
            }
        )
    )
    res = conn.execute(
        stmt,
        [
            {
                **_field_values(k, p.canonical),
                "source_system": ctx.system,
                "version": p.version,
                "payload_hash": p.hash,
                "updated_at": now,
                "lineage_id": lid,
                "_id": existing[p.natural_key][0],
                "_old_version": existing[p.natural_key][1],
            }
            for p, lid in updated
        ],
    )
    return res.rowcount


def _replaced_history(
    conn: Connection, ctx: BatchContext, updated: Written, existing: dict[Key, Held]
) -> list[dict[str, Any]]:
    """The ``record_history`` rows keeping what the updated records replace, with the fields that changed."""
    k, t = ctx.kind, LIBRARY[ctx.kind.kind]
    ids = [existing[p.natural_key][0] for p, _ in updated]
    previous = {r._mapping["id"]: r._mapping for r in conn.execute(select(t).where(t.c.id.in_(ids)))}
    history: list[dict[str, Any]] = []
    for p, lid in updated:
        rid = existing[p.natural_key][0]
        old = previous[rid]
        old_values = {f.name: old[f.name] for f in k.fields}
        changed = sorted(
            n for n, v in _field_values(k, p.canonical).items() if n != "source_time" and v != old_values[n]
        )
        history.append(
            {
                "kind": k.kind,
                "record_id": rid,
                "record_key": p.key_text,
                "version": old["version"],
                "source_system": old["source_system"],
                "source_time": old["source_time"],
                "recorded_at": ctx.received_at,
                "lineage_id": lid,
                "reason": "replaced",
                "changed_fields": changed,
                "values": _json_values(old_values),
            }
        )
    return history


def keep_stale(conn: Connection, ctx: BatchContext, stale: Written, existing: dict[Key, Held]) -> None:
    """A record older than the library's goes to ``record_history`` only."""
    conn.execute(
        insert(record_history),
        [
            {
                "kind": ctx.kind.kind,
                "record_id": existing[p.natural_key][0],
                "record_key": p.key_text,
                "version": p.version,
                "source_system": ctx.system,
                "source_time": p.canonical.get("source_time"),
                "recorded_at": ctx.received_at,
                "lineage_id": lid,
                "reason": "stale",
                "changed_fields": [],
                "values": _json_values(p.canonical),
            }
            for p, lid in stale
        ],
    )


# A defect's rule and field name come from the input (an unknown element named with 300
# characters): cut to the columns' size, or PostgreSQL refuses the row and the push fails.
_RULE_CHARS = cast(String, quarantine.c.rule.type).length or 100
_FIELD_CHARS = cast(String, quarantine.c.field.type).length or 100


def _fit(text: str | None, size: int) -> str | None:
    return text if text is None or len(text) <= size else text[: size - 1] + "…"


def write_quarantine(conn: Connection, ctx: BatchContext, quarantined: Written) -> None:
    conn.execute(
        insert(quarantine),
        [
            {
                "lineage_id": lid,
                "source_system": ctx.system,
                "kind": ctx.kind.kind,
                "message_id": ctx.message_id,
                "seq": p.seq,
                "received_at": ctx.received_at,
                "reason": p.problem.reason,
                "message": no_nul(p.problem.message),
                "rule": _fit(p.problem.rule, _RULE_CHARS),
                "field": _fit(no_nul(p.problem.field), _FIELD_CHARS),
                "schema_version": ctx.schema_version,
                "mapping": ctx.mapping,
                **storable_payload(p.raw.payload, p.raw.payload_encoding),
                "status": QuarantineStatus.OPEN,
            }
            for p, lid in quarantined
        ],
    )


def publish(conn: Connection, ctx: BatchContext, stored: Written, observers: Iterable[BatchObserver]) -> None:
    """An outbox event per new or updated record, and the observers handed them, in this transaction."""
    k, now = ctx.kind, ctx.received_at
    events = [
        outbox_row(
            k,
            ctx.system,
            ctx.message_id,
            p.canonical,
            p.key_text,
            p.version,
            "created" if p.detail == Detail.NEW else "updated",
            lid,
            now,
        )
        for p, lid in stored
    ]
    if events:
        bulk_insert(conn, outbox, events)
        for observe in observers:
            observe(conn, ctx, events)
