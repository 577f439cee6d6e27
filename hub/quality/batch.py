"""Batch scope (批次质量检查): a kind's suite on the records of one ingest message.

The records are read back from what the message left in the libraries — its lineage rows
(stored or duplicate, in message order) joined to the library rows of their keys — so the
check needs nothing from the ingest hot path but the message's id, and can run right after
the message (``GOVHUB_QUALITY_BATCH=on``) or later from ``govhub quality batch --pending``
(``deferred``). Quarantined records are not there: the ingress rules already refused them.
A key that occurs twice in the message gives two rows, so the batch's key-uniqueness
expectation sees repeats; a record changed again since shows its current values.

At most ``MAX_ROWS`` records of a message are checked (the first ones): a suite run holds
the batch in a DataFrame, and a 200,000-record file should not take gigabytes for it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from sqlalchemy import ColumnElement, Engine, and_, exists, select, tuple_

from hub.db.tables import LIBRARY, ingest_message, lineage
from hub.model.dictionary import kind as dictionary_kind
from hub.model.outcomes import Outcome
from hub.quality.checks import SuiteRun, env_for, run_suite, store_run
from hub.quality.models import quality_run
from hub.quality.plain import run_suite as run_plain
from hub.quality.suites import suite

log = logging.getLogger("govhub.quality")
MAX_ROWS = 20_000
_CHUNK = 500


def message_records(engine: Engine, system: str, kind: str, message_id: str, limit: int = MAX_ROWS) -> list[dict]:
    k = dictionary_kind(kind)
    t = LIBRARY[kind]
    with engine.connect() as conn:
        keys = list(
            conn.execute(
                select(lineage.c.record_key)
                .where(
                    lineage.c.source_system == system,
                    lineage.c.message_id == message_id,
                    lineage.c.kind == kind,
                    lineage.c.outcome.in_((Outcome.STORED, Outcome.DUPLICATE)),
                    lineage.c.record_key.is_not(None),
                )
                .order_by(lineage.c.seq)
                .limit(limit)
            ).scalars()
        )
        wanted = sorted({tuple(key.split("|", len(k.key) - 1)) for key in keys})
        cols = [t.c[n] for n in k.key]
        rows: dict[str, dict] = {}
        for i in range(0, len(wanted), _CHUNK):
            part = wanted[i : i + _CHUNK]
            where: list[ColumnElement[bool]] = (
                [cols[0].in_([p[0] for p in part])] if len(cols) == 1 else [tuple_(*cols).in_(part)]
            )
            if k.key_scoped_by_source:
                where.append(t.c.source_system == system)
            for r in conn.execute(select(*[t.c[f.name] for f in k.fields]).where(and_(*where))):
                rec = {n: v for n, v in r._mapping.items() if v is not None}
                rows["|".join(str(rec[n]) for n in k.key)] = rec
    return [rows[key] for key in keys if key in rows]


def check_message(engine: Engine, system: str, kind: str, message_id: str, plain: bool = False) -> SuiteRun | None:
    """Run ``kind``'s suite on one message and store a ``quality_run`` row (scope batch).
    Returns None when the message left nothing in the libraries. ``plain``: evaluate in
    plain Python (``hub.quality.plain``, the push-time check) instead of Great Expectations."""
    records = message_records(engine, system, kind, message_id)
    if not records:
        return None
    if plain:
        run = run_plain(suite(kind, with_gx=False), records, env_for(engine))
    else:
        run = run_suite(suite(kind), records, env_for(engine))
    store_run(engine, run, "batch", system, message_id=message_id)
    if not run.success:
        log.warning(
            "quality: message %s from %s (%s, %d records) failed %s",
            message_id,
            system,
            kind,
            run.rows,
            ", ".join(sorted(run.failed_rules())),
        )
    return run


def pending_messages(engine: Engine, limit: int = 1000) -> Iterator[tuple[str, str, str]]:
    """(system, kind, message id) of messages without a batch check yet, oldest first."""
    m, q = ingest_message, quality_run
    checked = exists().where(
        q.c.scope == "batch", q.c.source_system == m.c.source_system, q.c.message_id == m.c.message_id
    )
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.c.source_system, m.c.kind, m.c.message_id)
            .where(~checked, m.c.stored + m.c.duplicate > 0)
            .order_by(m.c.received_at, m.c.id)
            .limit(limit)
        ).all()
    return iter([tuple(r) for r in rows])


def check_pending(engine: Engine, limit: int = 1000) -> tuple[int, int]:
    """Batch checks of messages ingested with ``GOVHUB_QUALITY_BATCH=deferred`` (or before
    the suites existed): (messages checked, messages with failed expectations)."""
    todo = list(pending_messages(engine, limit))
    failed = 0
    for system, kind, message_id in todo:
        run = check_message(engine, system, kind, message_id)
        failed += bool(run and not run.success)
    return len(todo), failed
