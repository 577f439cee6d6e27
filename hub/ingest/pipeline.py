"""The ingest pipeline: decode → validate → map → canonicalise → rules → idempotent
upsert → lineage → route (outbox), batch by batch.

What happens around the store is attached by the caller, not known here: observers of
each batch (called inside its transaction with the outbox rows it wrote, e.g. delivery
queueing) and of each committed message (e.g. the batch quality check). ``hub.wiring``
builds the pipeline with the hub's standard observers.

Every record that arrives ends as stored, duplicate or quarantined, and
``received = stored + duplicate + quarantined`` holds for every message. A batch is one
database transaction; a crash loses at most the uncommitted batch, and a redelivery of
the same message turns what was already committed into duplicates.
"""

from __future__ import annotations

import contextvars
import hashlib
import io
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

from sqlalchemy import Connection, Engine

from hub.audit import chain
from hub.audit.objects import Capture, ObjectStore
from hub.catalog.access import AccessDenied, authorise_record
from hub.catalog.systems import System, get_system
from hub.core import clock
from hub.ingest import decode
from hub.ingest.batching import Finish, last_marked, record_result
from hub.ingest.batching import batches as batches
from hub.ingest.counters import timed_batch
from hub.ingest.decode import MessageInfo, RawRecord
from hub.ingest.gc_tuning import throughput_gc
from hub.ingest.results import ResultSink
from hub.ingest.rows import content_hash, text_hash
from hub.ingest.store import (
    BatchContext,
    BatchObserver,
    Prepared,
    StoreConflict,
    message_seen,
    record_message,
    store_batch,
)
from hub.model.canonical import FieldDefect, canonicalise
from hub.model.defects import Defect
from hub.model.mapping import Mapping, MappingApplyError
from hub.model.masking import mask_text
from hub.model.outcomes import RECORD_OUTCOMES, Outcome
from hub.model.rules import RuleContext, RuleDefect, check

log = logging.getLogger("govhub.pipeline")


@dataclass
class Summary:
    system: str
    kind: str
    mapping: str
    message_id: str
    counts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    details: Counter[str] = field(default_factory=Counter)

    @property
    def received(self) -> int:
        return sum(self.counts[o] for o in RECORD_OUTCOMES)

    def add(self, other: Summary) -> None:
        self.counts.update(other.counts)
        self.reasons.update(other.reasons)
        self.details.update(other.details)

    def as_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "kind": self.kind,
            "mapping": self.mapping,
            "message_id": self.message_id,
            "received": self.received,
            "stored": self.counts["stored"],
            "duplicate": self.counts["duplicate"],
            "quarantined": self.counts["quarantined"],
            "quarantined_by_reason": dict(self.reasons),
            "details": dict(self.details),
        }


def prepare(
    raw: RawRecord, mapping: Mapping, ctx: RuleContext, authorise: Callable[[dict[str, Any]], None] | None = None
) -> Prepared:
    """One raw record → a typed canonical record with its key and hash, or a defect."""
    k = mapping.kind
    defect = raw.defect
    if defect is None:
        assert raw.data is not None  # decode gives a record without a defect its data
        try:
            rec = canonicalise(k, mapping.apply(raw.data))
            check(k.kind, rec, ctx)
            if authorise is not None:
                authorise(rec)
            return Prepared(raw.seq, rec, None, tuple(rec[n] for n in k.key), content_hash(rec), raw)
        except MappingApplyError as e:
            defect = Defect(e.reason, mask_text(e.message), f"mapping:{mapping.label}", e.field)
        except FieldDefect as e:
            defect = Defect(e.reason, mask_text(e.message), f"dictionary:{k.schema_version}", e.field)
        except RuleDefect as e:
            defect = Defect(e.reason, mask_text(e.message), e.rule, e.field)
        except AccessDenied as e:
            defect = Defect(e.reason, mask_text(e.message), "access", None)
    return Prepared(raw.seq, None, defect, None, text_hash(raw.payload), raw)


# Called after a message's records and its ingest_message row are committed: (engine, system, kind, message_id).
MessageObserver = Callable[[Engine, str, str, str], None]


class Pipeline:
    """``on_batch_stored``: called inside each batch's transaction with the outbox rows
    it wrote (``hub.ingest.store.BatchObserver``); ``on_message_committed``: called once a
    new message is recorded (``MessageObserver``). Both default to none."""

    def __init__(
        self,
        engine: Engine,
        rules: RuleContext | None = None,
        batch_size: int = 2000,
        on_batch_stored: Iterable[BatchObserver] = (),
        on_message_committed: Iterable[MessageObserver] = (),
        objects: ObjectStore | None = None,
    ):
        self.engine = engine
        self.objects = objects
        self.rules = rules
        self.batch_size = batch_size
        self.on_batch_stored = tuple(on_batch_stored)
        self.on_message_committed = tuple(on_message_committed)

    def _rules_for(self, system: System) -> RuleContext:
        base = self.rules or RuleContext()
        if system.uscc_allow:
            return RuleContext(divisions=base.divisions, now=base.now, uscc_allow=frozenset(system.uscc_allow))
        return base

    def open(
        self,
        stream: IO[bytes],
        system: System | str,
        fmt: str | None = None,
        kind: str | None = None,
        message_id: str | None = None,
        filename: str | None = None,
        digest: str | None = None,
        document: Any = None,
        channel: str = "internal",
        exact: bytes | None = None,
    ) -> OpenMessage:
        """Start reading one message: resolve the mapping, read the document's own
        message id, and learn whether this message was processed before. ``digest``
        (of the whole body, when the caller has it) makes a reused message id with other
        content count as a new message. ``document``: the JSON body already parsed by
        the caller (the REST ingress checks its shape), so it is not parsed twice."""
        system = get_system(system) if isinstance(system, str) else system
        # the exact bytes, for the exchange log: kept by digest once the decoder is done
        capture = (self.objects or ObjectStore()).capture(stream, exact)
        reader = capture.reader()
        head = reader.peek(4096)[:4096]
        fmt = fmt or decode.sniff_format(head, filename)
        if kind is None and fmt == "xml" and not any(k.endswith("/xml") for k in system.mappings):
            kind = decode.sniff_kind(head)
        mapping = system.mapping_for(kind, fmt)
        k = mapping.kind
        info = MessageInfo()
        raws = decode.read(reader, mapping, info, **({"document": document} if document is not None else {}))
        first = next(raws, None)
        msg_id = info.message_id or message_id
        if not msg_id:
            raise ValueError("a message id is needed (pass one, or use file_message_id for files)")
        ctx = BatchContext(
            system.id,
            k,
            msg_id,
            mapping.label,
            k.schema_version,
            clock.now().replace(microsecond=0),
            system.report_to,
            sender=system,
        )
        with self.engine.connect() as conn:
            seen = message_seen(conn, system.id, msg_id, digest)
            if not seen and digest and message_seen(conn, system.id, msg_id):
                log.warning(
                    "message id %s from %s was used before for other content; processing it again", msg_id, system.id
                )

        def all_raws() -> Iterator[RawRecord]:
            if first is not None:
                yield first
                yield from raws

        return OpenMessage(system, mapping, fmt, ctx, seen, all_raws(), digest, capture, channel)

    def prepared(self, m: OpenMessage, authorise: Callable[[dict[str, Any]], None] | None = None) -> Iterator[Prepared]:
        """Decode, validate, map and check each record (no database writes). Every record
        is authorised against the sending system (``hub.catalog.access.authorise_record``)
        unless ``authorise`` replaces that check: a record the sender does not own is
        quarantined with the reason, whatever the ingress."""
        if m.seen:
            return (Prepared(r.seq, None, None, None, "", r) for r in m.raws)
        rules = self._rules_for(m.system)
        if authorise is None:
            system, kind = m.system, m.mapping.kind.kind
            authorise = lambda record: authorise_record(system, kind, record)  # noqa: E731
        return (prepare(r, m.mapping, rules, authorise) for r in m.raws)

    def store(
        self,
        m: OpenMessage,
        prepared: Iterable[Prepared],
        on_batch: Callable[[int], None] | None = None,
        results: ResultSink | None = None,
    ) -> Summary:
        """Write prepared records batch by batch; ``results`` receives one dict per record
        (seq, key, outcome, detail, reason, message) — what a sender is told."""
        ctx = m.ctx
        summary = Summary(m.system.id, ctx.kind.kind, m.mapping.label, ctx.message_id)
        finish = partial(self._finish, m, summary)
        cut = last_marked(batches(prepared, self.batch_size), on_last=_finisher(m))
        with throughput_gc():  # decode, prepare and store allocate a lot, and free nearly all of it at once
            for batch, counts in self._stored(ctx, cut, m.seen, finish):
                summary.counts.update(counts)
                summary.details.update(p.detail for p in batch)
                summary.reasons.update(p.problem.reason for p in batch if p.outcome == Outcome.QUARANTINED)
                if results is not None:
                    results.extend(record_result(p) for p in batch)
                if on_batch:
                    on_batch(len(batch))
        if not summary.received:  # a message without records is logged all the same
            _finisher(m)()
            with self.engine.begin() as conn:
                finish(conn, Counter())
        elif not m.seen:
            for observe in self.on_message_committed:
                observe(self.engine, m.system.id, ctx.kind.kind, ctx.message_id)
        log.info(
            "ingested %s from %s: received=%d stored=%d duplicate=%d quarantined=%d",
            ctx.message_id,
            m.system.id,
            summary.received,
            summary.counts["stored"],
            summary.counts["duplicate"],
            summary.counts["quarantined"],
        )
        return summary

    def ingest(
        self,
        stream: IO[bytes],
        system: System | str,
        fmt: str | None = None,
        kind: str | None = None,
        message_id: str | None = None,
        filename: str | None = None,
        on_batch: Callable[[int], None] | None = None,
        results: ResultSink | None = None,
        authorise: Callable[[dict[str, Any]], None] | None = None,
        digest: str | None = None,
        channel: str = "internal",
        exact: bytes | None = None,
    ) -> Summary:
        """Ingest one message (a file or a bus/HTTP body) read from the binary ``stream``.

        ``message_id`` is the sender's id; without one, the document's own
        ``message_id`` attribute is used, and failing that a digest of the content
        (computed by the caller, see ``file_message_id``). Each canonical record is
        authorised against ``system`` (``authorise``, when given, replaces that check) and
        a record it does not own is quarantined with the reason: REST, SOAP, drops and the
        bus worker alike."""
        if digest is None and isinstance(stream, io.BytesIO):
            digest = body_digest(stream.getvalue())
        m = self.open(stream, system, fmt, kind, message_id, filename, digest, channel=channel, exact=exact)
        return self.store(m, self.prepared(m, authorise), on_batch, results)

    def _finish(self, m: OpenMessage, summary: Summary, conn: Connection, last: Counter[str]) -> None:
        """In the transaction of the message's last batch: record the message and log it."""
        total = summary.counts + last
        received = sum(total[o] for o in RECORD_OUTCOMES)
        if not m.seen and received:
            ctx = m.ctx
            record_message(
                conn, m.system.id, ctx.message_id, ctx.kind.kind, m.fmt, ctx.received_at, total, m.digest or ""
            )
        assert m.capture is not None and m.capture.result is not None  # finished when the last batch was cut
        digest, size = m.capture.result
        outcome: dict[str, int] = {"received": received}
        outcome.update((str(o), total[o]) for o in RECORD_OUTCOMES)
        chain.append(
            conn,
            direction="in",
            channel=m.channel,
            system=m.system.id,
            peer=None,
            message_id=m.ctx.message_id,
            digest=digest,
            size=size,
            outcome=outcome,
        )

    def _stored(
        self, ctx: BatchContext, cut: Iterator[tuple[list[Prepared], bool]], seen: bool, finish: Finish
    ) -> Iterator[tuple[list[Prepared], Counter[str]]]:
        """Store batch after batch, in order. On PostgreSQL one writer thread stores a
        batch while this thread prepares the next (the database's work and ours overlap;
        the wait releases the GIL). The next batch is handed over only once the previous
        one has committed, so a failed batch stops the message: nothing after it is
        written, as without the thread."""
        if self.engine.dialect.name != "postgresql":
            for batch, last in cut:
                yield batch, self._store(ctx, batch, seen, finish if last else None)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="govhub-writer") as writer:
            pending = None
            for batch, last in cut:  # preparing this batch overlapped with storing the previous one
                if pending is not None:
                    yield pending[0], pending[1].result()
                # the writer's log lines carry this message's correlation id (a context variable)
                done = finish if last else None
                pending = (batch, writer.submit(contextvars.copy_context().run, self._store, ctx, batch, seen, done))
            if pending is not None:
                yield pending[0], pending[1].result()

    def _store(self, ctx: BatchContext, batch: list[Prepared], seen: bool, finish: Finish | None) -> Counter[str]:
        with timed_batch(ctx.kind.kind):
            return self._store_retrying(ctx, batch, seen, finish)

    def _store_retrying(
        self, ctx: BatchContext, batch: list[Prepared], seen: bool, finish: Finish | None
    ) -> Counter[str]:
        """The message's last batch also records the message and appends its exchange-log
        entry (``finish``), in its transaction; an earlier batch first checks that the log
        can be written, so a log that refuses stops the message before anything commits."""
        for attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    if finish is None:
                        chain.probe(conn)
                    counts = store_batch(conn, ctx, batch, seen, self.on_batch_stored)
                    if finish is not None:
                        finish(conn, counts)
                    return counts
            except StoreConflict:
                # another worker stored one of these keys first: classify again
                if attempt == 4:
                    raise
                log.info(
                    "a batch of %d raced another writer (attempt %d); classifying it again", len(batch), attempt + 1
                )
                for p in batch:
                    p.outcome = p.detail = ""
                    p.version = None
        raise AssertionError("unreachable")


@dataclass
class OpenMessage:
    system: System
    mapping: Mapping
    fmt: str
    ctx: BatchContext
    seen: bool  # processed before: every record is a duplicate
    raws: Iterator[RawRecord]
    digest: str | None = None
    capture: Capture | None = None
    channel: str = "internal"


def _finisher(m: OpenMessage) -> Callable[[], object]:
    assert m.capture is not None
    return m.capture.finish


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def file_message_id(path: str | os.PathLike[str]) -> str:
    """A stable message id for a file without one: the digest of its bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()[:40]
