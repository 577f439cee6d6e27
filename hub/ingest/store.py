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
from collections.abc import Iterable
from datetime import datetime

from psycopg.errors import UniqueViolation  # raised raw by COPY on PostgreSQL
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError

from hub.core.errors import StorageError
from hub.core.faults import pause_point
from hub.db.tables import ingest_message
from hub.ingest.batch import BatchContext as BatchContext
from hub.ingest.batch import BatchObserver as BatchObserver
from hub.ingest.batch import Held as Held
from hub.ingest.batch import Key as Key
from hub.ingest.batch import Prepared as Prepared
from hub.ingest.batch import Written as Written
from hub.ingest.classify import classify as classify
from hub.ingest.rows import EVENTS_EXCHANGE as EVENTS_EXCHANGE
from hub.ingest.rows import add_counts as add_counts
from hub.ingest.rows import bulk_insert as bulk_insert
from hub.ingest.rows import content_hash as content_hash
from hub.ingest.rows import dialect_insert
from hub.ingest.rows import text_hash as text_hash
from hub.ingest.writers import insert_new, keep_stale, publish, replace_updated, write_lineage, write_quarantine
from hub.model.outcomes import Detail, Outcome

# EVENTS_EXCHANGE, content_hash, add_counts, bulk_insert, text_hash: still importable from here (hub.domains uses them);
# the batch's types (hub.ingest.batch) and classify (hub.ingest.classify) too


class StoreConflict(StorageError):
    """Another writer stored one of this batch's keys, or changed one of its rows, first:
    the batch is rolled back and may be classified and written again."""

    reason = "store_conflict"


class ConcurrentUpdate(StoreConflict):
    """Another writer changed a row of this batch; the batch is retried from scratch."""

    reason = "concurrent_update"


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


def _store_batch(
    conn: Connection, ctx: BatchContext, batch: list[Prepared], message_seen: bool, observers: Iterable[BatchObserver]
) -> Counter[str]:
    _one_writer_per_message(conn, ctx)
    existing = classify(conn, ctx, batch, message_seen)
    written = list(zip(batch, write_lineage(conn, ctx, batch)))
    by_detail: dict[str, Written] = {}
    for p, lid in written:
        by_detail.setdefault(p.detail, []).append((p, lid))
    new, updated = by_detail.get(Detail.NEW, []), by_detail.get(Detail.UPDATED, [])
    if new:
        insert_new(conn, ctx, new)
    if updated:
        rowcount = replace_updated(conn, ctx, updated, existing)
        if rowcount not in (-1, len(updated)):
            raise ConcurrentUpdate(f"{len(updated) - rowcount} rows changed underneath this batch")
    stale = by_detail.get(Detail.STALE, [])
    if stale:
        keep_stale(conn, ctx, stale, existing)
    quarantined = [(p, lid) for p, lid in written if p.outcome == Outcome.QUARANTINED]
    if quarantined:
        write_quarantine(conn, ctx, quarantined)
    publish(conn, ctx, new + updated, observers)
    counts = Counter(p.outcome for p in batch)
    add_counts(conn, ctx.system, ctx.kind.kind, counts)
    pause_point("before_commit")
    return counts


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
