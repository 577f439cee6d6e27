"""Poll a drop (``sftp://``, ``file://``; also an ``amqp://`` queue — any adapter that
reads and acks) into the pipeline, exactly once in effect.

    with open_adapter("sftp://hub@10.32.5.81/outbox?password_env=CS_SFTP_PASSWORD&known_hosts=...") as drop:
        counts = poll_drop(drop, "cs-approval", standard_pipeline(engine))  # hub.wiring
    # Counter({'files': 3, 'stored': 150})

Each envelope is ingested (committed), and only then acknowledged (moved to ``done``).
A hub killed between the two leaves the file in the drop; the next poll reads it again
with the same message id and the pipeline turns its records into duplicates — nothing
is lost and nothing is stored twice. The pipeline authorises every record against the
drop's system: others' records are quarantined as forbidden. A file the hub can never ingest (its system, kind
or mapping is unknown) is quarantined whole and acknowledged, so it cannot block the
drop; a file whose name is unsafe (path traversal, control or invisible characters) is
quarantined by name once and left untouched; anything else (the database is down)
propagates and leaves the file for later.
"""

from __future__ import annotations

import io
import logging
from collections import Counter

from sqlalchemy import select
from sqlalchemy.exc import DataError

from adapters.base import Adapter, Envelope
from hub.catalog.systems import CatalogError
from hub.core import correlation
from hub.core.errors import GovhubError, InputError
from hub.core.faults import pause_point
from hub.db.tables import quarantine
from hub.ingest.pipeline import Pipeline
from hub.ingest.rows import quarantine_message
from hub.model.dictionary import DictionaryError
from hub.model.mapping import MappingError
from hub.model.masking import mask_text
from hub.model.outcomes import Outcome, Reason

log = logging.getLogger("govhub.drop")


def poll_drop(adapter: Adapter, system_id: str, pipeline: Pipeline, limit: int | None = None) -> Counter[str]:
    """Ingest what the drop holds now (at most ``limit`` files or messages); returns
    ``files`` (envelopes handled) and the record outcomes (``stored``, ``duplicate``,
    ``quarantined``) summed."""
    counts: Counter[str] = Counter()
    for envelope in adapter.read(limit):
        # each file is an ingress: its lines (and its records' deliveries) carry one id,
        # and the caller's id is back in force afterwards
        with correlation.bound(correlation.accept((envelope.headers or {}).get(correlation.BUS_HEADER))):
            counts.update(_take(adapter, envelope, system_id, pipeline))
    return counts


def _take(
    adapter: Adapter,
    envelope: Envelope,
    system_id: str,
    pipeline: Pipeline,
) -> Counter[str]:
    """Ingest one file or message of the drop, then acknowledge it (after the commit)."""
    counts: Counter[str] = Counter()
    if (envelope.headers or {}).get("refused"):
        counts[Outcome.QUARANTINED] += _refuse_name(pipeline, system_id, envelope)
        return counts
    log.info("%s from %s: ingesting (message %s)", envelope.filename, system_id, envelope.message_id)
    try:
        summary = pipeline.ingest(
            io.BytesIO(envelope.body),
            system_id,
            fmt=envelope.format,
            kind=envelope.kind,
            filename=envelope.filename,
            message_id=envelope.message_id,
            channel=adapter.scheme,  # file, sftp, … : the drop the bytes came through
        )
        counts.update(summary.counts)
    except (CatalogError, MappingError, DictionaryError, InputError, DataError) as exc:
        # InputError: the file names an id the hub cannot keep (a 300-character message_id
        # attribute); DataError: the database refused one of its values. Either way the
        # file would fail every poll: it is quarantined whole and moved aside, and the
        # poll goes on with the next file. The database being away is an OperationalError: it propagates.
        why = str(exc) if isinstance(exc, GovhubError) else f"the database refused a value ({type(exc.orig).__name__})"
        log.error("%s from %s cannot be ingested; quarantined whole: %s", envelope.filename, system_id, mask_text(why))
        _quarantine_once(pipeline, system_id, envelope, why)
        counts[Outcome.QUARANTINED] += 1
    pause_point("drop_before_ack")  # test hook: committed, not yet acknowledged
    adapter.ack(envelope)
    counts["files"] += 1
    return counts


def _refuse_name(pipeline: Pipeline, system_id: str, envelope: Envelope) -> int:
    """A file whose name is unsafe (``../../etc/x.xml``, a NUL, a right-to-left override)
    is neither fetched nor moved: its name is quarantined once as ``file_name_unsafe``
    and it stays where it is for an operator. Returns 1 the first time, then 0."""
    name = envelope.headers["listed_name"]
    reason = envelope.headers.get("refused_reason") or "file_name_unsafe"  # or file_too_large (adapters.sftp)
    log.warning("%s: file %s refused, left in place: %s", system_id, ascii(name)[:300], envelope.headers["refused"])
    note = (
        f"file{' name' if reason == 'file_name_unsafe' else ''} {ascii(name)[:1000]} refused: "
        f"{envelope.headers['refused']}; nothing was read or moved. Remove or rename the file on the server"
    )
    return int(_quarantine_once(pipeline, system_id, envelope, note, reason, note.encode("ascii")))


def _quarantine_once(
    pipeline: Pipeline,
    system_id: str,
    envelope: Envelope,
    message: str,
    reason: str = Reason.MESSAGE_INVALID,
    body: bytes | None = None,
) -> bool:
    """Quarantine the whole file unless a poll killed before its ack already did."""
    with pipeline.engine.connect() as conn:
        done = conn.execute(
            select(quarantine.c.id)
            .where(quarantine.c.source_system == system_id, quarantine.c.message_id == envelope.message_id)
            .limit(1)
        ).first()
    if done is None:
        quarantine_message(
            pipeline.engine,
            system_id,
            envelope.kind or "unknown",
            envelope.message_id,
            envelope.body if body is None else body,
            reason,
            message,
            "drop",
        )
    return done is None
