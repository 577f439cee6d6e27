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
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from psycopg.errors import UniqueViolation  # raised raw by COPY on PostgreSQL
from sqlalchemy import (Column, Connection, DateTime, Engine, Index, String, Table, Text, UniqueConstraint, bindparam, insert,
                        select, tuple_)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from adapters.base import Adapter, Envelope
from adapters.errors import RejectedError
from adapters.registry import open_adapter
from hub.core import clock
from hub.model.canonical import json_ready
from hub.model.dictionary import Kind
from hub.domains.libraries.precedence import KindPrecedence, Precedence, precedence as current_precedence
from hub.model.masking import mask_record
from hub.db.tables import LIBRARY, Id, lineage, metadata, outbox, quarantine, record_history
from hub.ingest.pipeline import OpenMessage, Pipeline, batches
from hub.ingest.store import (EVENTS_EXCHANGE, BatchContext, ConcurrentUpdate, Prepared, add_counts, bulk_insert, content_hash,
                       record_message, store_batch, text_hash)
from hub.catalog.systems import CatalogError, System, get_system
from hub.model.outcomes import Detail, Outcome

log = logging.getLogger("govhub.libraries")

COUNTS = ("pulled", "merged", "unchanged", "conflicts", "quarantined")

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

refresh_cursor = Table(
    "refresh_cursor",
    metadata,
    Column("system", String(64), primary_key=True),
    Column("cursor", String(500), nullable=False, comment="next_cursor after the last committed page"),
    Column("updated_at", DateTime(), nullable=False),
)


def refresh(engine: Engine, system_id: str, adapter: Adapter | None = None, precedence: Precedence | None = None) -> dict:
    """Merge the system's change feed from the stored cursor on; returns the counts.

    ``adapter``: read it instead of opening the system's endpoint; it is read from where
    it stands (open it with ``cursor=stored_cursor(engine, system_id)`` to resume) and
    left open. ``precedence``: instead of the file in force. Adapter errors propagate,
    the pages before them committed."""
    system = get_system(system_id)
    prec = precedence or current_precedence()
    own = adapter is None
    if own:
        if not system.endpoint:
            raise CatalogError(f"system {system_id} has no endpoint in the catalogue; add its change-feed URL to refresh from it")
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


def _value_hash(value) -> str:
    """Digest of one field value, equal for a value as canonicalised and as stored."""
    return text_hash(json.dumps(json_ready(value), ensure_ascii=False, sort_keys=True, default=str))


def _entries_by_kind(envelope: Envelope, prec: Precedence) -> dict[str, list]:
    try:
        entries = json.loads(envelope.body)["records"]
    except (ValueError, KeyError, TypeError):
        raise RejectedError(f"page {envelope.message_id}: not a JSON batch of change entries") from None
    out: dict[str, list] = {}
    for i, entry in enumerate(entries, 1):
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind not in prec.kinds:
            raise RejectedError(f"page {envelope.message_id}: entry {i} is not {{\"kind\": one of {', '.join(prec.kinds)}, "
                                f"\"record\": {{...}}}}; the refresh stops before this page")
        out.setdefault(kind, []).append(entry.get("record"))
    return out


def _merge_page(engine: Engine, pipeline: Pipeline, system: System, prec: Precedence, envelope: Envelope) -> Counter:
    messages = []
    for kind, records in _entries_by_kind(envelope, prec).items():
        body = json.dumps({"records": records}, ensure_ascii=False).encode("utf-8")
        # a content-derived id: a page read again is the same message, a page that grew is not
        m = pipeline.open(io.BytesIO(body), system, fmt="json", kind=kind,
                          message_id=f"refresh:{kind}:{hashlib.sha256(body).hexdigest()[:40]}")
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
        except (IntegrityError, ConcurrentUpdate, UniqueViolation):
            # another writer changed or created one of these records first: merge again
            if attempt == 4:
                raise
            log.info("a refresh page from %s raced another writer (attempt %d); merging it again", system.id, attempt + 1)
            for _, prepared in messages:
                for p in prepared:
                    p.outcome = p.detail = ""
                    p.version = None
    raise AssertionError("unreachable")


def _save_cursor(conn: Connection, system_id: str, cursor: str) -> None:
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(refresh_cursor)
    row = {"system": system_id, "cursor": cursor, "updated_at": clock.now()}
    conn.execute(ins.values(**row).on_conflict_do_update(index_elements=["system"],
                                                         set_={"cursor": cursor, "updated_at": row["updated_at"]}))


def _merge_message(conn: Connection, m: OpenMessage, prepared: list[Prepared], kp: KindPrecedence, batch_size: int) -> Counter:
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
        before = set(conn.execute(select(quarantine.c.payload).where(
            quarantine.c.source_system == ctx.system, quarantine.c.kind == ctx.kind.kind,
            quarantine.c.payload.in_([p.raw.payload for p in bad]))).scalars())
        again = [p for p in bad if p.raw.payload in before]
        for p in again:
            p.outcome, p.detail = Outcome.DUPLICATE, Detail.ALREADY_QUARANTINED
        _lineage(conn, ctx, again)
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
    record_message(conn, m.system.id, ctx.message_id, ctx.kind.kind, "json", ctx.received_at, outcomes, ctx.message_id[:32])
    return counts


def _lineage(conn: Connection, ctx: BatchContext, items: list[Prepared]) -> list[int]:
    return bulk_insert(conn, lineage, [
        {"source_system": ctx.system, "kind": ctx.kind.kind, "message_id": ctx.message_id, "seq": p.seq,
         "record_key": p.key_text, "received_at": ctx.received_at, "payload_hash": p.hash, "mapping": ctx.mapping,
         "schema_version": ctx.schema_version, "outcome": p.outcome, "detail": p.detail, "record_version": p.version}
        for p in items
    ], returning_ids=True)


@dataclass
class _Merge:
    """What merging one offered record into the library decided."""

    values: dict  # the record's values after the merge (every dictionary field)
    changed: list[str] = field(default_factory=list)
    provenance: dict[str, tuple] = field(default_factory=dict)  # field → (source, source time, value digest) to store
    conflicts: list[tuple] = field(default_factory=list)  # (field, kept source, kept value, offered value, offered digest)
    row: dict | None = None  # the library row before, None for a new record


def _key_rows(conn: Connection, t: Table, k: Kind, keys: list[tuple]) -> dict[str, dict]:
    cols = [t.c[n] for n in k.key]
    where = cols[0].in_([key[0] for key in keys]) if len(cols) == 1 else tuple_(*cols).in_(keys)
    return {"|".join(str(r[n]) for n in k.key): dict(r) for r in conn.execute(select(t).where(where)).mappings()}


def _decide(k: Kind, kp: KindPrecedence, source: str, offered: dict, row: dict | None, provenance: dict[str, dict]) -> _Merge:
    """Merge one offered canonical record into its library row (None: not held yet) by
    precedence; ``provenance`` maps field → its ``field_provenance`` row. Pure."""
    when = offered.get("source_time")
    if row is None:
        values = {f.name: offered.get(f.name) for f in k.fields}
        return _Merge(values, changed=[n for n, v in values.items() if v is not None],
                      provenance={n: (source, when, _value_hash(v)) for n, v in values.items() if v is not None and _merged(k, n)})
    out = _Merge({f.name: row[f.name] for f in k.fields}, row=row)
    inherited = {}  # fields whose value came with the row's own source, without provenance of their own
    for f in k.fields:
        name, new = f.name, offered.get(f.name)
        if new is None or not _merged(k, name):
            continue
        old, new_hash = row[name], _value_hash(new)
        old_hash = None if old is None else _value_hash(old)
        prov = provenance.get(name)
        if prov is not None and prov["value_hash"] == old_hash:
            kept, kept_time = prov["source_system"], prov["source_time"]
        else:
            kept, kept_time = row["source_system"], row["source_time"]
            if old is not None:
                inherited[name] = (kept, kept_time, old_hash)
        wins = kp.wins(name, source, when, kept, kept_time)
        if old is None or (new_hash != old_hash and wins):
            out.values[name] = new
            out.changed.append(name)
            out.provenance[name] = (source, when, new_hash)
        elif new_hash == old_hash:
            if wins and (kept, kept_time) != (source, when):
                out.provenance[name] = (source, when, new_hash)  # confirmed by a source that would have won it
        elif kept != source:
            out.conflicts.append((name, kept, old, new, new_hash))
        # else: the same source's own older value — stale, nothing to record
    if out.changed:
        # the row's source becomes the merging system: the values it keeps from its former
        # source must not be attributed to the new one
        out.provenance = {**inherited, **out.provenance}
    return out


def _merged(k: Kind, name: str) -> bool:
    return name not in k.key and name != "source_time"


def _masked(kind: str, name: str, value) -> str | None:
    if value is None:
        return None
    masked = mask_record(kind, {name: json_ready(value)})[name]
    return masked if isinstance(masked, str) else json.dumps(masked, ensure_ascii=False)


def _merge_batch(conn: Connection, m: OpenMessage, kp: KindPrecedence, batch: list[Prepared]) -> Counter:
    ctx, source = m.ctx, m.system.id
    k, t, now = ctx.kind, LIBRARY[ctx.kind.kind], ctx.received_at
    keys = [p.key_text for p in batch]
    rows = _key_rows(conn, t, k, [p.key for p in batch])
    provenance: dict[str, dict[str, dict]] = {}
    for r in conn.execute(select(field_provenance).where(field_provenance.c.kind == k.kind,
                                                         field_provenance.c.record_key.in_(keys))).mappings():
        provenance.setdefault(r["record_key"], {})[r["field"]] = r
    known_conflicts = set(conn.execute(
        select(merge_conflict.c.record_key, merge_conflict.c.field, merge_conflict.c.offered_hash).where(
            merge_conflict.c.kind == k.kind, merge_conflict.c.offered_source == source, merge_conflict.c.record_key.in_(keys))
    ).all())

    merges = [_decide(k, kp, source, p.record, rows.get(p.key_text), provenance.get(p.key_text, {})) for p in batch]
    for p, mg in zip(batch, merges):
        if mg.row is None:
            p.outcome, p.detail, p.version = Outcome.STORED, Detail.NEW, 1
        elif mg.changed:
            p.outcome, p.detail, p.version = Outcome.STORED, Detail.MERGED, mg.row["version"] + 1
        else:
            p.outcome, p.detail, p.version = Outcome.DUPLICATE, Detail.UNCHANGED, mg.row["version"]
    lineage_ids = _lineage(conn, ctx, batch)

    new = [(p, mg, lid) for p, mg, lid in zip(batch, merges, lineage_ids) if mg.row is None]
    changed = [(p, mg, lid) for p, mg, lid in zip(batch, merges, lineage_ids) if mg.row is not None and mg.changed]
    if new:
        bulk_insert(conn, t, [
            {**mg.values, "source_system": source, "version": 1, "payload_hash": p.hash, "received_at": now,
             "updated_at": now, "lineage_id": lid}
            for p, mg, lid in new
        ])
    if changed:
        _update_rows(conn, k, t, source, now, changed)
    _save_provenance(conn, k.kind, now, [(p, mg) for p, mg in zip(batch, merges)])

    conflicts = [
        {"kind": k.kind, "record_key": p.key_text, "field": name, "kept_source": kept,
         "kept_value_masked": _masked(k.kind, name, old), "offered_source": source,
         "offered_value_masked": _masked(k.kind, name, new_value), "offered_hash": h,
         "offered_time": p.record.get("source_time"), "detected_at": now, "status": "open"}
        for p, mg in zip(batch, merges) for name, kept, old, new_value, h in mg.conflicts
        if (p.key_text, name, h) not in known_conflicts
    ]
    if conflicts:
        ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(merge_conflict)
        conn.execute(ins.on_conflict_do_nothing(), conflicts)

    events = new + changed
    if events:
        bulk_insert(conn, outbox, [_event(k, source, ctx.message_id, now, p, mg, lid) for p, mg, lid in events])
    if events and m.system.report_to:
        from hub.outbound.delivery import enqueue

        items = [(source, p.key_text, p.version, p.key_text) for p, _, _ in events]
        for peer in m.system.report_to:
            enqueue(conn, peer, k.kind, items, now)
    add_counts(conn, source, k.kind, Counter(p.outcome for p in batch))
    return Counter(merged=len(events), unchanged=len(batch) - len(events), conflicts=len(conflicts))


def _update_rows(conn: Connection, k: Kind, t: Table, source: str, now: datetime, changed: list[tuple]) -> None:
    conn.execute(insert(record_history), [
        {"kind": k.kind, "record_id": mg.row["id"], "record_key": p.key_text, "version": mg.row["version"],
         "source_system": mg.row["source_system"], "source_time": mg.row["source_time"], "recorded_at": now,
         "lineage_id": lid, "reason": "merged", "changed_fields": sorted(mg.changed),
         "values": {f.name: json_ready(mg.row[f.name]) for f in k.fields if mg.row[f.name] is not None}}
        for p, mg, lid in changed
    ])
    names = [f.name for f in k.fields]
    stmt = (
        t.update()
        .where(t.c.id == bindparam("_id"), t.c.version == bindparam("_old_version"))
        .values({c: bindparam(c) for c in names + ["source_system", "version", "payload_hash", "updated_at", "lineage_id"]})
    )
    rows = []
    for p, mg, lid in changed:
        times = [x for x in (mg.row["source_time"], p.record.get("source_time")) if x is not None]
        values = {**mg.values, "source_time": max(times) if times else None}
        rows.append({**values, "source_system": source, "version": p.version,
                     "payload_hash": content_hash({n: v for n, v in values.items() if v is not None}),
                     "updated_at": now, "lineage_id": lid, "_id": mg.row["id"], "_old_version": mg.row["version"]})
    res = conn.execute(stmt, rows)
    if res.rowcount not in (-1, len(rows)):
        raise ConcurrentUpdate(f"{len(rows) - res.rowcount} library rows changed underneath this refresh page")


def _save_provenance(conn: Connection, kind: str, now: datetime, merges: list[tuple[Prepared, _Merge]]) -> None:
    rows = [
        {"kind": kind, "record_key": p.key_text, "field": name, "source_system": src, "source_time": when,
         "value_hash": h, "updated_at": now}
        for p, mg in merges for name, (src, when, h) in mg.provenance.items()
    ]
    if not rows:
        return
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(field_provenance)
    conn.execute(ins.on_conflict_do_update(
        index_elements=["kind", "record_key", "field"],
        set_={c: ins.excluded[c] for c in ("source_system", "source_time", "value_hash", "updated_at")}), rows)


def _event(k: Kind, source: str, message_id: str, now: datetime, p: Prepared, mg: _Merge, lineage_id: int) -> dict:
    event = "created" if mg.row is None else "updated"
    region = mg.values.get("region_code")
    return {
        "exchange": EVENTS_EXCHANGE, "routing_key": f"{k.kind}.{region or 'unknown'}.{source}", "kind": k.kind,
        "record_key": p.key_text, "event": event,
        "body": {"event": event, "kind": k.kind, "key": p.key_text, "version": p.version, "source_system": source,
                 "region_code": region, "message_id": message_id, "lineage_id": lineage_id, "fields": sorted(mg.changed)},
        "created_at": now,
    }
