"""Idempotent storage of one batch of prepared records, in one transaction.

For every record exactly one outcome is written to ``lineage``:

- ``stored`` — new (``new``), changed (``updated``: the previous values go to
  ``record_history`` first), or older than what the library holds (``stale``: kept in
  ``record_history``, the library row is left alone);
- ``duplicate`` — same natural key and same content (``same_content``), a message id
  already processed (``same_message``), or a defective record already quarantined from
  the same message (``already_quarantined``);
- ``quarantined`` — with its reason, rule, field and original payload.

Stored records get an outbox event in the same transaction, so the record and its event
cannot diverge; the store's observers (``hub.outbound.delivery.enqueue_reports``, attached
by ``hub.wiring``) are handed the events inside that transaction too. ``ingest_counter``
keeps the running totals behind ``govhub stats``. A write that loses a race with another
writer raises :class:`StoreConflict`, whatever the driver said.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from psycopg.errors import UniqueViolation  # raised raw by COPY on PostgreSQL
from sqlalchemy import ColumnElement, Connection, Table, and_, bindparam, insert, select, text, tuple_
from sqlalchemy.exc import IntegrityError

from hub.core.errors import StorageError
from hub.core.faults import pause_point
from hub.db.tables import LIBRARY, ingest_message, lineage, outbox, quarantine, record_history
from hub.ingest.rows import EVENTS_EXCHANGE as EVENTS_EXCHANGE
from hub.ingest.rows import add_counts as add_counts
from hub.ingest.rows import bulk_insert as bulk_insert
from hub.ingest.rows import content_hash as content_hash
from hub.ingest.rows import dialect_insert, no_nul, outbox_row, storable_payload
from hub.ingest.rows import text_hash as text_hash
from hub.model.canonical import json_ready
from hub.model.defects import Defect
from hub.model.dictionary import Kind
from hub.model.dictionary import kind as dictionary_kind
from hub.model.outcomes import Detail, Outcome, QuarantineStatus

if TYPE_CHECKING:
    from hub.ingest.decode import RawRecord

# EVENTS_EXCHANGE, content_hash, add_counts, bulk_insert, text_hash: still importable from here (hub.domains uses them)


class StoreConflict(StorageError):
    """Another writer stored one of this batch's keys, or changed one of its rows, first:
    the batch is rolled back and may be classified and written again."""

    reason = "store_conflict"


class ConcurrentUpdate(StoreConflict):
    """Another writer changed a row of this batch; the batch is retried from scratch."""

    reason = "concurrent_update"


# Called inside the batch's transaction with (conn, ctx, the outbox rows just written).
BatchObserver = Callable[[Connection, "BatchContext", list[dict[str, Any]]], None]
# a record's natural key (its kind's key fields), and what the library holds for it: (id, version, payload_hash, source_time)
Key = tuple[Any, ...]
Held = tuple[Any, ...]


@dataclass(slots=True)
class Prepared:
    seq: int
    record: dict[str, Any] | None
    defect: Defect | None
    key: Key | None
    hash: str
    raw: RawRecord  # for the original payload when quarantined
    outcome: str = ""
    detail: str = ""
    version: int | None = None

    _key_text: str | None = None

    @property
    def key_text(self) -> str | None:
        if self._key_text is None and self.key is not None:
            self._key_text = "|".join(map(str, self.key))  # asked for by lineage, outbox and results
        return self._key_text

    # A record that passed the checks has its canonical record and key; a defective one its defect.
    @property
    def canonical(self) -> dict[str, Any]:
        assert self.record is not None, "a defective record has no canonical record"
        return self.record

    @property
    def natural_key(self) -> Key:
        assert self.key is not None, "a defective record has no key"
        return self.key

    @property
    def problem(self) -> Defect:
        assert self.defect is not None, "a good record has no defect"
        return self.defect


@dataclass(frozen=True)
class BatchContext:
    system: str
    kind: Kind
    message_id: str
    mapping: str
    schema_version: str
    received_at: datetime
    report_to: tuple[str, ...] = ()  # peers that get every stored record (hub.outbound.delivery)
    correction_of: int | None = None  # an administrator's correct-and-retry of this quarantine id
    corrected_by: str | None = None


def _key_clause(table: Table, k: Kind, system: str, keys: list[Key]) -> ColumnElement[bool]:
    cols = [table.c[n] for n in k.key]
    where = [table.c.source_system == system] if k.key_scoped_by_source else []
    if len(cols) == 1:
        where.append(cols[0].in_([key[0] for key in keys]))
    else:
        where.append(tuple_(*cols).in_(keys))
    return and_(*where)


def _existing(conn: Connection, ctx: BatchContext, keys: list[Key]) -> dict[Key, Held]:
    if not keys:
        return {}
    if conn.dialect.name == "postgresql":
        return _existing_pg(conn, ctx, keys)
    t = LIBRARY[ctx.kind.kind]
    cols = [t.c[n] for n in ctx.kind.key]
    rows = conn.execute(
        select(t.c.id, t.c.version, t.c.payload_hash, t.c.source_time, *cols).where(
            _key_clause(t, ctx.kind, ctx.system, keys)
        )
    )
    return {tuple(r[4:]): (r[0], r[1], r[2], r[3]) for r in rows}


def _existing_pg(conn: Connection, ctx: BatchContext, keys: list[Key]) -> dict[Key, Held]:
    """One index probe per key. ``key IN (2,000 values)`` let the planner of a freshly
    loaded library (no statistics yet) scan every row of the source and compare it with
    the whole list: 0.46 s per batch at 50,000 rows, growing with the library."""
    k, t = ctx.kind, LIBRARY[ctx.kind.kind]
    names = list(k.key)
    arrays = [f"%s::{t.c[n].type.compile(dialect=conn.dialect)}[]" for n in names]
    match = " AND ".join(f"t.{n} = k.{n}" for n in names)
    params: list[Any] = [[key[i] for key in keys] for i in range(len(names))]
    if k.key_scoped_by_source:
        match += " AND t.source_system = %s"
        params.append(ctx.system)
    sql = (
        f"SELECT t.id, t.version, t.payload_hash, t.source_time, {', '.join('t.' + n for n in names)} "
        f"FROM unnest({', '.join(arrays)}) AS k({', '.join(names)}) "
        f"CROSS JOIN LATERAL (SELECT * FROM {t.name} t WHERE {match}) t"
    )
    driver = conn.connection.driver_connection
    assert driver is not None  # an open connection has its driver's
    with driver.cursor() as cur:  # the same connection and transaction
        cur.execute(sql, params)
        return {tuple(r[4:]): (r[0], r[1], r[2], r[3]) for r in cur.fetchall()}


def _already_quarantined(conn: Connection, ctx: BatchContext, items: list[Prepared]) -> set[tuple[int, str]]:
    if not items:
        return set()
    rows = conn.execute(
        select(lineage.c.seq, lineage.c.payload_hash).where(
            lineage.c.source_system == ctx.system,
            lineage.c.message_id == ctx.message_id,
            lineage.c.outcome == Outcome.QUARANTINED,
            lineage.c.seq.in_([p.seq for p in items]),
        )
    )
    return {(r[0], r[1]) for r in rows}


def classify(conn: Connection, ctx: BatchContext, batch: list[Prepared], message_seen: bool = False) -> dict[Key, Held]:
    if message_seen:
        for p in batch:
            p.outcome, p.detail = Outcome.DUPLICATE, Detail.SAME_MESSAGE
        return {}
    good = [p for p in batch if p.defect is None]
    existing = _existing(conn, ctx, [p.natural_key for p in good])
    for p in good:
        ex = existing.get(p.natural_key)
        if ex is None:
            p.outcome, p.detail, p.version = Outcome.STORED, Detail.NEW, 1
        elif ex[2] == p.hash:
            p.outcome, p.detail, p.version = Outcome.DUPLICATE, Detail.SAME_CONTENT, ex[1]
        elif p.canonical.get("source_time") and ex[3] and p.canonical["source_time"] < ex[3]:
            p.outcome, p.detail, p.version = Outcome.STORED, Detail.STALE, ex[1]
        else:
            p.outcome, p.detail, p.version = Outcome.STORED, Detail.UPDATED, ex[1] + 1
    bad = [p for p in batch if p.defect is not None]
    seen = _already_quarantined(conn, ctx, bad)
    for p in bad:
        if (p.seq, p.hash) in seen:
            p.outcome, p.detail = Outcome.DUPLICATE, Detail.ALREADY_QUARANTINED
        else:
            p.outcome, p.detail = Outcome.QUARANTINED, p.problem.reason
    return existing


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


def _one_writer_per_message(conn: Connection, ctx: BatchContext) -> None:
    """Two copies of one message handled at once (a redelivery while the first copy is
    still in work, two workers) must not both quarantine a defective record: unlike a
    stored record, a quarantined one has no key for a unique index to catch. On
    PostgreSQL the second copy's batch waits here until the first commits, and then
    classifies against what it wrote (the lock ends with the transaction). SQLite has one
    writer at a time, but its driver begins the transaction only at the first write, after
    the reads that classify: a write that changes nothing takes the write lock first."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"govhub-message:{ctx.system}:{ctx.message_id}"},
        )
    elif conn.dialect.name == "sqlite":
        conn.execute(text("UPDATE lineage SET seq = seq WHERE 1 = 0"))


def store_batch(
    conn: Connection,
    ctx: BatchContext,
    batch: list[Prepared],
    message_seen: bool = False,
    observers: Iterable[BatchObserver] = (),
) -> Counter[str]:
    """Classify and write one batch; returns the outcome counts. ``observers`` are called
    with the outbox rows written, inside the transaction. A lost race with another writer
    raises :class:`StoreConflict` (the caller's transaction rolls back)."""
    try:
        return _store_batch(conn, ctx, batch, message_seen, observers)
    except (IntegrityError, UniqueViolation) as exc:
        raise StoreConflict(f"another writer stored one of these keys first: {type(exc).__name__}") from exc


# a record of the batch with the id of the lineage row written for it
Written = list[tuple[Prepared, int]]


def _store_batch(
    conn: Connection, ctx: BatchContext, batch: list[Prepared], message_seen: bool, observers: Iterable[BatchObserver]
) -> Counter[str]:
    _one_writer_per_message(conn, ctx)
    existing = classify(conn, ctx, batch, message_seen)
    written = list(zip(batch, _write_lineage(conn, ctx, batch)))
    by_detail: dict[str, Written] = {}
    for p, lid in written:
        by_detail.setdefault(p.detail, []).append((p, lid))
    new, updated = by_detail.get(Detail.NEW, []), by_detail.get(Detail.UPDATED, [])
    if new:
        _insert_new(conn, ctx, new)
    if updated:
        _replace_updated(conn, ctx, updated, existing)
    stale = by_detail.get(Detail.STALE, [])
    if stale:
        _keep_stale(conn, ctx, stale, existing)
    quarantined = [(p, lid) for p, lid in written if p.outcome == Outcome.QUARANTINED]
    if quarantined:
        _quarantine(conn, ctx, quarantined)
    _publish(conn, ctx, new + updated, observers)
    counts = Counter(p.outcome for p in batch)
    add_counts(conn, ctx.system, ctx.kind.kind, counts)
    pause_point("before_commit")
    return counts


def _write_lineage(conn: Connection, ctx: BatchContext, batch: list[Prepared]) -> list[int]:
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


def _insert_new(conn: Connection, ctx: BatchContext, new: Written) -> None:
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


def _replace_updated(conn: Connection, ctx: BatchContext, updated: Written, existing: dict[Key, Held]) -> None:
    """The previous values go to ``record_history``, then the library rows are updated,
    each only if still at the version classified against: a row another writer changed
    meanwhile makes the batch a :class:`ConcurrentUpdate`."""
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
    if res.rowcount not in (-1, len(updated)):
        raise ConcurrentUpdate(f"{len(updated) - res.rowcount} rows changed underneath this batch")


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


def _keep_stale(conn: Connection, ctx: BatchContext, stale: Written, existing: dict[Key, Held]) -> None:
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


def _quarantine(conn: Connection, ctx: BatchContext, quarantined: Written) -> None:
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
                "rule": p.problem.rule,
                "field": no_nul(p.problem.field),
                "schema_version": ctx.schema_version,
                "mapping": ctx.mapping,
                **storable_payload(p.raw.payload, p.raw.payload_encoding),
                "status": QuarantineStatus.OPEN,
            }
            for p, lid in quarantined
        ],
    )


def _publish(conn: Connection, ctx: BatchContext, stored: Written, observers: Iterable[BatchObserver]) -> None:
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


def message_seen(conn: Connection, system: str, message_id: str, digest: str | None = None) -> bool:
    """Was this message processed before? A sender that reuses a message id for other
    content (a catalogue republished under the same id) is not taken at its word: with
    a digest on both sides they must match."""
    row = conn.execute(
        select(ingest_message.c.payload_hash).where(
            ingest_message.c.source_system == system, ingest_message.c.message_id == message_id
        )
    ).first()
    if row is None:
        return False
    return digest is None or not row[0] or row[0] == digest


def record_message(
    conn: Connection,
    system: str,
    message_id: str,
    kind: str,
    fmt: str,
    received_at: datetime,
    counts: Counter[str],
    payload_hash: str,
) -> None:
    stmt = dialect_insert(conn, ingest_message).values(
        source_system=system,
        message_id=message_id,
        kind=kind,
        format=fmt,
        received_at=received_at,
        records=sum(counts.values()),
        stored=counts[Outcome.STORED],
        duplicate=counts[Outcome.DUPLICATE],
        quarantined=counts[Outcome.QUARANTINED],
        payload_hash=payload_hash,
    )
    # a reused message id with other content: remember the latest content's digest
    stmt = stmt.on_conflict_do_update(
        index_elements=["source_system", "message_id"],
        set_={"payload_hash": stmt.excluded.payload_hash, "received_at": stmt.excluded.received_at},
    )
    conn.execute(stmt)
