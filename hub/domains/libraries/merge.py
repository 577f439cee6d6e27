"""Resource-library refresh (资源库更新): pull person, enterprise and project updates from
a sharing platform (数据共享平台) and merge them field by field into the libraries by the
declared precedence (``hub.domains.libraries.precedence``).

    counts = refresh(engine, "sz-sharing")
    # {'pulled': 120, 'merged': 80, 'unchanged': 38, 'conflicts': 5, 'quarantined': 2}

Datasheet
---------
Feed
    The system's catalogue ``endpoint`` is a cursor-paginated pull
    (``rest://host/api?pull_path=/updates``, see ``adapters.rest``) of change entries in
    the platform's order: ``{"kind": "enterprise", "record": {...canonical...}}``, for the
    kinds the precedence file declares. A page holding an entry that is not such a
    wrapper is refused whole (``RejectedError``) and the refresh stops before it: skipping
    one entry of an ordered change feed would lose a change for good.
Checks
    Every record passes the hub's ingress checks (JSON Schema, the system's mapping, the
    dictionary, the domain rules) through ``Pipeline.open``/``prepared``; records that
    fail are quarantined with lineage and reason, as any message's are.
Merge, per field (key fields and source_time are not merged)
    An absent value never clears a kept one; an empty field takes any offered value.
    Otherwise the offered value replaces the kept one only if the offering source ranks
    at least as high for that field as the source that set the kept value (equal rank:
    the newer source_time wins). The kept value's source is its ``field_provenance`` row,
    or the library row's source when there is none or the value changed since (the
    pipeline stores rows whole, without provenance).
Provenance
    ``field_provenance`` (kind, record_key, field) → source system, source time and a
    digest of the value it set. A source that confirms a kept value and would have won
    the field takes its provenance over. When a merge hands a row to a new source, the
    values the row keeps from its former source get provenance naming that source.
Conflicts
    A different source offering a different value that does not win is recorded once in
    ``merge_conflict`` per (kind, key, field, offering source, offered value), both values
    masked (``hub.model.masking``); ``status`` is ``open`` until an administrator settles it.
History, events, lineage
    When a record changes, its previous values go to ``record_history`` (reason
    ``merged``), ``version`` goes up, the row's source becomes the merging system and its
    source_time the newer of the two; an outbox event (``created``/``updated``, with the
    changed fields) and, for the system's ``report_to`` peers, a delivery follow. Lineage
    gets one row per record: ``stored`` (new | merged), ``duplicate`` (unchanged) or
    ``quarantined``.
Cursor and transactions
    One transaction per page holds its merges, conflicts, lineage and the cursor after it
    (``refresh_cursor``), so an interrupted refresh resumes after the last committed page.
Idempotent
    Pulling the feed again, however it is cut into pages, changes nothing: an offer
    already merged changes no field, conflicts are kept once per offered value and
    defective records once per source; a page read again whole is recognised as the
    same message (its id is derived from its content).
Counts
    ``pulled`` = ``merged`` (records that created or changed a row) + ``unchanged`` +
    ``quarantined``; ``conflicts``: conflict rows newly recorded.

Here: the refresh run, its pages and messages, and the cursor. The merge of one batch is
``hub.domains.libraries.merge_batch``; the field-by-field decision,
``hub.domains.libraries.decision``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections import Counter

from psycopg.errors import UniqueViolation  # raised raw by COPY on PostgreSQL
from sqlalchemy import Column, Connection, DateTime, Engine, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from adapters.base import Adapter, Envelope
from adapters.errors import RejectedError
from adapters.registry import open_adapter
from hub.catalog.systems import CatalogError, System, get_system
from hub.core import clock
from hub.db.tables import metadata, quarantine
from hub.domains.libraries.merge_batch import _merge_batch, field_provenance, merge_conflict
from hub.domains.libraries.precedence import KindPrecedence, Precedence
from hub.domains.libraries.precedence import precedence as current_precedence
from hub.ingest.pipeline import OpenMessage, Pipeline, batches
from hub.ingest.store import Prepared, StoreConflict, add_counts, record_message, store_batch
from hub.ingest.writers import write_lineage
from hub.model.outcomes import Detail, Outcome

__all__ = ["COUNTS", "field_provenance", "merge_conflict", "refresh", "refresh_cursor", "stored_cursor"]

log = logging.getLogger("govhub.libraries")

COUNTS = ("pulled", "merged", "unchanged", "conflicts", "quarantined")

refresh_cursor = Table(
    "refresh_cursor",
    metadata,
    Column("system", String(64), primary_key=True),
    Column("cursor", String(500), nullable=False, comment="next_cursor after the last committed page"),
    Column("updated_at", DateTime(), nullable=False),
)


def refresh(
    engine: Engine, system_id: str, adapter: Adapter | None = None, precedence: Precedence | None = None
) -> dict:
    """Merge the system's change feed from the stored cursor on; returns the counts.

    ``adapter``: read it instead of opening the system's endpoint; it is read from where
    it stands (open it with ``cursor=stored_cursor(engine, system_id)`` to resume) and
    left open. ``precedence``: instead of the file in force. Adapter errors propagate,
    the pages before them committed."""
    system = get_system(system_id)
    prec = precedence or current_precedence()
    own = adapter is None
    if adapter is None:
        if not system.endpoint:
            raise CatalogError(
                f"system {system_id} has no endpoint in the catalogue; add its change-feed URL to refresh from it"
            )
        start = stored_cursor(engine, system_id)
        adapter = open_adapter(system.endpoint, **({"cursor": start} if start else {}))
    counts = Counter(dict.fromkeys(COUNTS, 0))
    pipeline = Pipeline(engine)
    try:
        for envelope in adapter.read():
            page = _merge_page(engine, pipeline, system, prec, envelope)
            counts.update(page)
            log.info("refresh %s, page %s: %s", system_id, envelope.message_id, _line(page))
    finally:
        if own:
            adapter.close()
    log.info("refreshed the libraries from %s: %s", system_id, _line(counts))
    return {k: counts[k] for k in COUNTS}


def stored_cursor(engine: Engine, system_id: str) -> str | None:
    """Where the system's feed continues: the cursor after the last committed page."""
    with engine.connect() as conn:
        return conn.execute(select(refresh_cursor.c.cursor).where(refresh_cursor.c.system == system_id)).scalar()


def _line(counts: Counter) -> str:
    return " ".join(f"{k}={counts[k]}" for k in COUNTS)


def _entries_by_kind(envelope: Envelope, prec: Precedence) -> dict[str, list]:
    try:
        entries = json.loads(envelope.body)["records"]
    except (ValueError, KeyError, TypeError):
        raise RejectedError(f"page {envelope.message_id}: not a JSON batch of change entries") from None
    out: dict[str, list] = {}
    for i, entry in enumerate(entries, 1):
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind not in prec.kinds:
            raise RejectedError(
                f'page {envelope.message_id}: entry {i} is not {{"kind": one of {", ".join(prec.kinds)}, '
                f'"record": {{...}}}}; the refresh stops before this page'
            )
        out.setdefault(kind, []).append(entry.get("record"))
    return out


def _merge_page(engine: Engine, pipeline: Pipeline, system: System, prec: Precedence, envelope: Envelope) -> Counter:
    messages = []
    for kind, records in _entries_by_kind(envelope, prec).items():
        body = json.dumps({"records": records}, ensure_ascii=False).encode("utf-8")
        # a content-derived id: a page read again is the same message, a page that grew is not
        m = pipeline.open(
            io.BytesIO(body),
            system,
            fmt="json",
            kind=kind,
            message_id=f"refresh:{kind}:{hashlib.sha256(body).hexdigest()[:40]}",
        )
        messages.append((m, list(pipeline.prepared(m))))
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                counts: Counter = Counter()
                for m, prepared in messages:
                    counts.update(_merge_message(conn, m, prepared, prec.of(m.ctx.kind.kind), pipeline.batch_size))
                if envelope.handle:
                    _save_cursor(conn, system.id, str(envelope.handle))
                return counts
        except (IntegrityError, StoreConflict, UniqueViolation):  # StoreConflict: from store_batch
            # another writer changed or created one of these records first: merge again
            if attempt == 4:
                raise
            log.info(
                "a refresh page from %s raced another writer (attempt %d); merging it again", system.id, attempt + 1
            )
            for _, prepared in messages:
                for p in prepared:
                    p.outcome = p.detail = ""
                    p.version = None
    raise AssertionError("unreachable")


def _save_cursor(conn: Connection, system_id: str, cursor: str) -> None:
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(refresh_cursor)
    row = {"system": system_id, "cursor": cursor, "updated_at": clock.now()}
    conn.execute(
        ins.values(**row).on_conflict_do_update(
            index_elements=["system"], set_={"cursor": cursor, "updated_at": row["updated_at"]}
        )
    )


def _merge_message(
    conn: Connection, m: OpenMessage, prepared: list[Prepared], kp: KindPrecedence, batch_size: int
) -> Counter:
    ctx = m.ctx
    if m.seen:  # this page content was merged before: lineage records the repeat, nothing else
        done = store_batch(conn, ctx, prepared, message_seen=True)
        return Counter(pulled=len(prepared), unchanged=done[Outcome.DUPLICATE])
    counts = Counter(pulled=len(prepared))
    outcomes: Counter = Counter()
    bad = [p for p in prepared if p.defect is not None]
    if bad:
        # a feed read again (from an older cursor, cut into other pages) offers the same
        # defective records in other messages: quarantined once per source, not per message
        before = set(
            conn.execute(
                select(quarantine.c.payload).where(
                    quarantine.c.source_system == ctx.system,
                    quarantine.c.kind == ctx.kind.kind,
                    quarantine.c.payload.in_([p.raw.payload for p in bad]),
                )
            ).scalars()
        )
        again = [p for p in bad if p.raw.payload in before]
        for p in again:
            p.outcome, p.detail = Outcome.DUPLICATE, Detail.ALREADY_QUARANTINED
        write_lineage(conn, ctx, again)
        fresh = [p for p in bad if p.raw.payload not in before]
        done = store_batch(conn, ctx, fresh) if fresh else Counter()  # the pipeline's own quarantine
        outcomes.update(done)
        outcomes.update(duplicate=len(again))
        add_counts(conn, ctx.system, ctx.kind.kind, Counter(duplicate=len(again)))
        counts.update(quarantined=done[Outcome.QUARANTINED], unchanged=done[Outcome.DUPLICATE] + len(again))
    # a key repeated in the page starts a new batch, so it merges onto its predecessor's result
    for batch in batches((p for p in prepared if p.defect is None), batch_size):
        merged = _merge_batch(conn, m, kp, batch)
        outcomes.update(p.outcome for p in batch)
        counts.update(merged)
    record_message(
        conn, m.system.id, ctx.message_id, ctx.kind.kind, "json", ctx.received_at, outcomes, ctx.message_id[:32]
    )
    return counts
