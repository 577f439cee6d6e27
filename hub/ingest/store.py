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
cannot diverge. ``ingest_counter`` keeps the running totals behind ``govhub stats``.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter

import msgspec
from sqlalchemy import JSON, Connection, and_, bindparam, insert, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from hub.core import correlation
from hub.model.canonical import json_ready
from hub.model.defects import Defect
from hub.model.dictionary import Kind
from hub.core.faults import pause_point
from hub.db.tables import LIBRARY, ingest_counter, ingest_message, lineage, outbox, quarantine, record_history
from hub.core.errors import StorageError
from hub.model.outcomes import Detail, Outcome, QuarantineStatus

EVENTS_EXCHANGE = "govhub.events"
_ENC = msgspec.json.Encoder(order="sorted", decimal_format="string")


def content_hash(record: dict) -> str:
    """Digest of the canonical content; ``source_time`` is left out so a re-send of
    unchanged content with a new timestamp is recognised as a duplicate."""
    source_time = record.pop("source_time", _ABSENT)  # cheaper than copying the record without it
    try:
        return _blake2b(_ENC.encode(record), digest_size=16).hexdigest()
    finally:
        if source_time is not _ABSENT:
            record["source_time"] = source_time


_ABSENT = object()
_blake2b = hashlib.blake2b


def storable_payload(payload: str, encoding: str) -> dict:
    """``payload`` / ``payload_encoding`` for a quarantine row. PostgreSQL text cannot hold
    NUL, so a payload with one is kept as base64 of its UTF-8 bytes: exact, and replayable."""
    if "\x00" in payload:
        return {"payload": base64.b64encode(payload.encode("utf-8", "surrogatepass")).decode("ascii"),
                "payload_encoding": "base64"}
    return {"payload": payload, "payload_encoding": encoding}


def no_nul(text: str | None) -> str | None:
    """A message or field name that quotes a NUL (a JSON key ``"a\\u0000"``) shows it as ␀."""
    return text.replace("\x00", "\u2400") if text else text


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass(slots=True)
class Prepared:
    seq: int
    record: dict | None
    defect: Defect | None
    key: tuple | None
    hash: str
    raw: object  # the RawRecord, for the original payload when quarantined
    outcome: str = ""
    detail: str = ""
    version: int | None = None

    _key_text: str | None = None

    @property
    def key_text(self) -> str | None:
        if self._key_text is None and self.key is not None:
            self._key_text = "|".join(map(str, self.key))  # asked for by lineage, outbox and results
        return self._key_text


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


def _dialect_insert(conn: Connection, table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _key_clause(table, k: Kind, system: str, keys: list[tuple]):
    cols = [table.c[n] for n in k.key]
    where = [table.c.source_system == system] if k.key_scoped_by_source else []
    if len(cols) == 1:
        where.append(cols[0].in_([key[0] for key in keys]))
    else:
        where.append(tuple_(*cols).in_(keys))
    return and_(*where)


def _existing(conn: Connection, ctx: BatchContext, keys: list[tuple]) -> dict[tuple, tuple]:
    if not keys:
        return {}
    if conn.dialect.name == "postgresql":
        return _existing_pg(conn, ctx, keys)
    t = LIBRARY[ctx.kind.kind]
    cols = [t.c[n] for n in ctx.kind.key]
    rows = conn.execute(
        select(t.c.id, t.c.version, t.c.payload_hash, t.c.source_time, *cols).where(_key_clause(t, ctx.kind, ctx.system, keys))
    )
    return {tuple(r[4:]): (r[0], r[1], r[2], r[3]) for r in rows}


def _existing_pg(conn: Connection, ctx: BatchContext, keys: list[tuple]) -> dict[tuple, tuple]:
    """One index probe per key. ``key IN (2,000 values)`` let the planner of a freshly
    loaded library (no statistics yet) scan every row of the source and compare it with
    the whole list: 0.46 s per batch at 50,000 rows, growing with the library."""
    k, t = ctx.kind, LIBRARY[ctx.kind.kind]
    names = list(k.key)
    arrays = [f"%s::{t.c[n].type.compile(dialect=conn.dialect)}[]" for n in names]
    match = " AND ".join(f"t.{n} = k.{n}" for n in names)
    params: list = [[key[i] for key in keys] for i in range(len(names))]
    if k.key_scoped_by_source:
        match += " AND t.source_system = %s"
        params.append(ctx.system)
    sql = (f"SELECT t.id, t.version, t.payload_hash, t.source_time, {', '.join('t.' + n for n in names)} "
           f"FROM unnest({', '.join(arrays)}) AS k({', '.join(names)}) "
           f"CROSS JOIN LATERAL (SELECT * FROM {t.name} t WHERE {match}) t")
    with conn.connection.driver_connection.cursor() as cur:  # the same connection and transaction
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


def classify(conn: Connection, ctx: BatchContext, batch: list[Prepared], message_seen: bool = False) -> dict[tuple, tuple]:
    if message_seen:
        for p in batch:
            p.outcome, p.detail = Outcome.DUPLICATE, Detail.SAME_MESSAGE
        return {}
    good = [p for p in batch if p.defect is None]
    existing = _existing(conn, ctx, [p.key for p in good])
    for p in good:
        ex = existing.get(p.key)
        if ex is None:
            p.outcome, p.detail, p.version = Outcome.STORED, Detail.NEW, 1
        elif ex[2] == p.hash:
            p.outcome, p.detail, p.version = Outcome.DUPLICATE, Detail.SAME_CONTENT, ex[1]
        elif p.record.get("source_time") and ex[3] and p.record["source_time"] < ex[3]:
            p.outcome, p.detail, p.version = Outcome.STORED, Detail.STALE, ex[1]
        else:
            p.outcome, p.detail, p.version = Outcome.STORED, Detail.UPDATED, ex[1] + 1
    bad = [p for p in batch if p.defect is not None]
    seen = _already_quarantined(conn, ctx, bad)
    for p in bad:
        if (p.seq, p.hash) in seen:
            p.outcome, p.detail = Outcome.DUPLICATE, Detail.ALREADY_QUARANTINED
        else:
            p.outcome, p.detail = Outcome.QUARANTINED, p.defect.reason
    return existing


def _field_values(k: Kind, rec: dict) -> dict:
    # canonical records hold only the kind's fields: absent ones become None
    empty = _empty_row(k.kind)
    row = {**empty, **rec}
    return row if len(row) == len(empty) else {n: rec.get(n) for n in empty}


@lru_cache(maxsize=None)
def _empty_row(kind: str) -> dict:
    from hub.model.dictionary import kind as dictionary_kind

    return dict.fromkeys(f.name for f in dictionary_kind(kind).fields)


def _json_values(rec: dict) -> dict:
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
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                     {"k": f"govhub-message:{ctx.system}:{ctx.message_id}"})
    elif conn.dialect.name == "sqlite":
        conn.execute(text("UPDATE lineage SET seq = seq WHERE 1 = 0"))


def store_batch(conn: Connection, ctx: BatchContext, batch: list[Prepared], message_seen: bool = False) -> Counter:
    """Classify and write one batch; returns the outcome counts."""
    k, t, now = ctx.kind, LIBRARY[ctx.kind.kind], ctx.received_at
    _one_writer_per_message(conn, ctx)
    existing = classify(conn, ctx, batch, message_seen)

    lineage_ids = bulk_insert(conn, lineage, [
        {
            "source_system": ctx.system, "kind": k.kind, "message_id": ctx.message_id, "seq": p.seq,
            "record_key": p.key_text, "received_at": now, "payload_hash": p.hash, "mapping": ctx.mapping,
            "schema_version": ctx.schema_version, "outcome": p.outcome, "detail": p.detail, "record_version": p.version,
            **({"correction_of": ctx.correction_of, "corrected_by": ctx.corrected_by} if ctx.correction_of else {}),
        }
        for p in batch
    ], returning_ids=True)
    by_detail: dict[str, list[tuple[Prepared, int]]] = {}
    for p, lid in zip(batch, lineage_ids):
        by_detail.setdefault(p.detail, []).append((p, lid))

    new = by_detail.get(Detail.NEW, [])
    if new:
        bulk_insert(conn, t, [
            {**_field_values(k, p.record), "source_system": ctx.system, "version": 1, "payload_hash": p.hash,
             "received_at": now, "updated_at": now, "lineage_id": lid}
            for p, lid in new
        ])

    updated = by_detail.get(Detail.UPDATED, [])
    if updated:
        ids = [existing[p.key][0] for p, _ in updated]
        previous = {r._mapping["id"]: r._mapping for r in conn.execute(select(t).where(t.c.id.in_(ids)))}
        history = []
        for p, lid in updated:
            rid = existing[p.key][0]
            old = previous[rid]
            old_values = {f.name: old[f.name] for f in k.fields}
            changed = sorted(n for n, v in _field_values(k, p.record).items() if n != "source_time" and v != old_values[n])
            history.append({
                "kind": k.kind, "record_id": rid, "record_key": p.key_text, "version": old["version"],
                "source_system": old["source_system"], "source_time": old["source_time"], "recorded_at": now,
                "lineage_id": lid, "reason": "replaced", "changed_fields": changed, "values": _json_values(old_values),
            })
        conn.execute(insert(record_history), history)
        stmt = (
            t.update()
            .where(t.c.id == bindparam("_id"), t.c.version == bindparam("_old_version"))
            .values({c: bindparam(c) for c in [f.name for f in k.fields] + ["source_system", "version", "payload_hash", "updated_at", "lineage_id"]})
        )
        res = conn.execute(stmt, [
            {**_field_values(k, p.record), "source_system": ctx.system, "version": p.version, "payload_hash": p.hash,
             "updated_at": now, "lineage_id": lid, "_id": existing[p.key][0], "_old_version": existing[p.key][1]}
            for p, lid in updated
        ])
        if res.rowcount not in (-1, len(updated)):
            raise ConcurrentUpdate(f"{len(updated) - res.rowcount} rows changed underneath this batch")

    stale = by_detail.get(Detail.STALE, [])
    if stale:
        conn.execute(insert(record_history), [
            {"kind": k.kind, "record_id": existing[p.key][0], "record_key": p.key_text, "version": p.version,
             "source_system": ctx.system, "source_time": p.record.get("source_time"), "recorded_at": now,
             "lineage_id": lid, "reason": "stale", "changed_fields": [], "values": _json_values(p.record)}
            for p, lid in stale
        ])

    quarantined = [(p, lid) for p, lid in zip(batch, lineage_ids) if p.outcome == Outcome.QUARANTINED]
    if quarantined:
        conn.execute(insert(quarantine), [
            {"lineage_id": lid, "source_system": ctx.system, "kind": k.kind, "message_id": ctx.message_id, "seq": p.seq,
             "received_at": now, "reason": p.defect.reason, "message": no_nul(p.defect.message), "rule": p.defect.rule,
             "field": no_nul(p.defect.field), "schema_version": ctx.schema_version, "mapping": ctx.mapping,
             **storable_payload(p.raw.payload, p.raw.payload_encoding), "status": QuarantineStatus.OPEN}
            for p, lid in quarantined
        ])

    events = new + updated
    if events:
        bulk_insert(conn, outbox, [
            {"exchange": EVENTS_EXCHANGE,
             "routing_key": f"{k.kind}.{p.record.get('region_code') or 'unknown'}.{ctx.system}",
             "kind": k.kind, "record_key": p.key_text, "event": "created" if p.detail == Detail.NEW else "updated",
             "body": {"event": "created" if p.detail == Detail.NEW else "updated", "kind": k.kind, "key": p.key_text,
                      "version": p.version, "source_system": ctx.system, "region_code": p.record.get("region_code"),
                      "message_id": ctx.message_id, "lineage_id": lid, "correlation_id": correlation.current()},
             "created_at": now}
            for p, lid in events
        ])

    if events and ctx.report_to:
        from hub.outbound.delivery import enqueue

        items = [(ctx.system, p.key_text, p.version, p.key_text) for p, _ in events]
        for peer in ctx.report_to:
            enqueue(conn, peer, k.kind, items, now)

    counts = Counter(p.outcome for p in batch)
    add_counts(conn, ctx.system, k.kind, counts)
    pause_point("before_commit")
    return counts


def bulk_insert(conn: Connection, table, rows: list[dict], returning_ids: bool = False) -> list[int]:
    """Insert many rows; on PostgreSQL with COPY (an order of magnitude faster than
    multi-row INSERT for thousands of rows), elsewhere with executemany. With
    ``returning_ids`` the new primary keys come back in row order."""
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        if returning_ids:
            return list(conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())
        conn.execute(insert(table), rows)
        return []
    raw = conn.connection.driver_connection  # the same psycopg connection, inside the same transaction
    ids: list[int] = []
    cols = list(rows[0])
    if returning_ids:
        with raw.cursor() as cur:
            cur.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", (table.name, len(rows)))
            ids = [r[0] for r in cur.fetchall()]
        cols = ["id", *cols]
    data_cols = [c for c in cols if c != "id"]
    json_at = [i for i, c in enumerate(data_cols) if isinstance(table.c[c].type, JSON)]
    pick = itemgetter(*data_cols)  # one C call per row instead of a Python loop over its cells
    encode = _JSON_CELL.encode

    with raw.cursor() as cur:
        with cur.copy(f'COPY {table.name} ({", ".join(cols)}) FROM STDIN') as copy:
            write = copy.write_row
            for i, row in enumerate(rows):
                values = pick(row)
                if len(data_cols) == 1:
                    values = (values,)
                if json_at:
                    values = list(values)
                    for j in json_at:
                        if values[j] is not None:
                            values[j] = encode(values[j]).decode()
                write((ids[i], *values) if returning_ids else values)
    return ids


_JSON_CELL = msgspec.json.Encoder(decimal_format="string")


def add_counts(conn: Connection, system: str, kind: str, counts: Counter) -> None:
    rows = [{"source_system": system, "kind": kind, "outcome": o, "n": n} for o, n in counts.items() if n]
    if not rows:
        return
    stmt = _dialect_insert(conn, ingest_counter)
    stmt = stmt.on_conflict_do_update(
        index_elements=["source_system", "kind", "outcome"], set_={"n": ingest_counter.c.n + stmt.excluded.n}
    )
    conn.execute(stmt, rows)


def message_seen(conn: Connection, system: str, message_id: str, digest: str | None = None) -> bool:
    """Was this message processed before? A sender that reuses a message id for other
    content (a catalogue republished under the same id) is not taken at its word: with
    a digest on both sides they must match."""
    row = conn.execute(
        select(ingest_message.c.payload_hash).where(ingest_message.c.source_system == system,
                                                    ingest_message.c.message_id == message_id)
    ).first()
    if row is None:
        return False
    return digest is None or not row[0] or row[0] == digest


def record_message(conn: Connection, system: str, message_id: str, kind: str, fmt: str, received_at: datetime,
                   counts: Counter, payload_hash: str) -> None:
    stmt = _dialect_insert(conn, ingest_message).values(
        source_system=system, message_id=message_id, kind=kind, format=fmt, received_at=received_at,
        records=sum(counts.values()), stored=counts[Outcome.STORED], duplicate=counts[Outcome.DUPLICATE],
        quarantined=counts[Outcome.QUARANTINED], payload_hash=payload_hash,
    )
    # a reused message id with other content: remember the latest content's digest
    stmt = stmt.on_conflict_do_update(index_elements=["source_system", "message_id"],
                                      set_={"payload_hash": stmt.excluded.payload_hash, "received_at": stmt.excluded.received_at})
    conn.execute(stmt)


class ConcurrentUpdate(StorageError):
    """Another writer changed a row of this batch; the batch is retried from scratch."""

    reason = "concurrent_update"
