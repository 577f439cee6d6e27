"""The quarantine workflow (隔离区处理): an administrator corrects a quarantined record and
retries it, retries every record of a rule after a fix, or rejects one with a note.
Nothing is deleted; every action is a ``quarantine_action`` row.

Retry
    The record goes through the ingress path again: the source system of the quarantine
    row (as the catalogue says now), the mapping named on the row (its current file),
    the current dictionary and domain rules, and — for department systems — the rule
    that a department sends only its own department's and regions' records. A record
    that passes is stored by ``hub.ingest.store.store_batch`` (library, history, lineage with
    ``correction_of``/``corrected_by``, outbox, deliveries) in the same transaction that
    marks the quarantine row ``retried`` and traces the action.
Still defective
    The row stays ``open``; the attempt is traced with its new reason, rule and message
    (and the corrected payload that was tried), so a second try starts from the record
    as received, never from a half-applied correction.
Reject
    ``rejected`` with who, when and why. A rejected record stays counted as quarantined.
Counts
    A retried record was received once, so ``received`` does not change: it moves from
    ``quarantined`` to ``stored`` (or ``duplicate``, when the library already holds the
    same content) in ``ingest_counter``. ``received = stored + duplicate + quarantined``
    holds before and after; ``corrected`` (rows ``retried``) is shown beside it.
Not retryable
    A whole message that could not be read (``seq`` 0, mapping ``-``: an unusable bus
    message or drop file, a device's bytes) and records of a resource-library refresh
    (merged by precedence, not stored whole) are not retried here: the sender sends
    them again, and the administrator rejects the entry with a note.

Here: retry (one record, or every record of a rule) and a record's history. The action log
and reject/export are ``hub.quarantine.actions``; reading a record again,
``hub.quarantine.reread``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field

from sqlalchemy import Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from hub.audit import refused as audit_refused
from hub.core import clock
from hub.db.tables import lineage, quarantine
from hub.ingest.pipeline import prepare
from hub.ingest.store import BatchContext, Prepared, StoreConflict, add_counts, store_batch
from hub.ingest.writers import supersede_lineage
from hub.model.defects import Defect
from hub.model.masking import mask_payload, mask_text
from hub.model.outcomes import Outcome, QuarantineStatus
from hub.outbound.delivery import enqueue_reports
from hub.quarantine.actions import (
    QuarantineActionError,
    WorkflowError,
    _note,
    _open,
    _operator,
    _row,
    export,
    quarantine_action,
    reject,
)
from hub.quarantine.payload import PayloadError, edit, view
from hub.quarantine.reread import (
    _authorise,
    _fmt_from_label,
    _masked_changes,
    _Plan,
    _Planner,
    _read_one,
    reload_configuration,
)
from hub.quarantine.view import show

__all__ = [
    "Attempt",
    "QuarantineActionError",
    "RetrySummary",
    "WorkflowError",
    "export",
    "history",
    "matching_ids",
    "quarantine_action",
    "reject",
    "reload_configuration",
    "retry",
    "retry_matching",
]

log = logging.getLogger("govhub.quarantine")


@dataclass
class Attempt:
    quarantine_id: int
    action: str
    outcome: Outcome  # stored | duplicate | quarantined
    detail: str
    record_key: str | None = None
    lineage_id: int | None = None
    reason: str | None = None
    message: str | None = None
    rule: str | None = None
    field: str | None = None
    mapping: str | None = None
    changes: dict = dc_field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class RetrySummary:
    retried: int = 0
    outcomes: Counter = dc_field(default_factory=Counter)  # stored / duplicate / quarantined
    reasons: Counter = dc_field(default_factory=Counter)  # of those still quarantined
    skipped: Counter = dc_field(default_factory=Counter)  # not retryable, by reason
    quarantine_ids: list[int] = dc_field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "retried": self.retried,
            "stored": self.outcomes[Outcome.STORED],
            "duplicate": self.outcomes[Outcome.DUPLICATE],
            "still_quarantined": self.outcomes[Outcome.QUARANTINED],
            "still_quarantined_by_reason": dict(self.reasons),
            "skipped": dict(self.skipped),
            "quarantine_ids": self.quarantine_ids,
        }


def retry(
    engine: Engine,
    qid: int,
    operator: str,
    note: str | None = None,
    changes: dict[str, str] | None = None,
    payload: str | None = None,
    *,
    planner: _Planner | None = None,
) -> Attempt:
    """Correct (``changes`` on the record's own fields, or a whole ``payload``) and retry
    one open quarantined record; or retry it unchanged after a fix of mapping or rules."""
    operator, note = _operator(operator), _note(note)
    if changes and payload is not None:
        raise QuarantineActionError(
            422, "bad_correction", "give either field corrections or a whole corrected record, not both"
        )
    if planner is None:  # one record: read mappings and catalogue afresh (a bulk run does it once)
        reload_configuration()
        planner = _Planner(engine)
    with engine.connect() as conn:
        row = _row(conn, qid)
    _open(row)
    plan = planner.plan(row)
    kind = plan.mapping.kind.kind
    action, text, encoding = _correction(row, plan, changes, payload)
    raw = _read_one(row, text, encoding, plan, given=action == "correct")
    p = prepare(raw, plan.mapping, planner.rules(plan.system), _authorise(plan.system, kind))
    diff = _changed_fields(row, plan, text, encoding) if action == "correct" else {}
    now = clock.now().replace(microsecond=0)
    trace = {
        "quarantine_id": qid,
        "action": action,
        "operator": operator,
        "at": now,
        "note": note,
        "mapping": plan.mapping.label,
        "schema_version": plan.mapping.kind.schema_version,
        "changes": diff or None,
        "payload": text if action == "correct" else None,
    }
    if p.defect is not None:
        return _still_quarantined(engine, trace, p.defect, diff)
    return _corrected_and_stored(engine, trace, p, plan, row, diff)


def _correction(row: dict, plan: _Plan, changes: dict[str, str] | None, payload: str | None) -> tuple[str, str, str]:
    """The action (``retry`` or ``correct``), and the record's text and encoding to read again:
    as received, with the field corrections applied, or the whole corrected record."""
    action, text, encoding = "retry", row["payload"], row["payload_encoding"]
    if changes:
        try:
            text = edit(text, encoding, plan.fmt, plan.mapping, changes)
        except PayloadError as exc:
            raise QuarantineActionError(422, "bad_correction", str(exc)) from None
        action, encoding = "correct", ("csv" if plan.fmt == "csv" else "text")
    elif payload is not None:
        action, text, encoding = "correct", payload.strip("\ufeff\r\n"), ("csv" if plan.fmt == "csv" else "text")
    return action, text, encoding


def _changed_fields(row: dict, plan: _Plan, text: str, encoding: str) -> dict:
    """The fields a correction changed, before and after, masked."""
    return _masked_changes(
        plan.mapping.kind.kind,
        plan.mapping.label,
        view(row["payload"], row["payload_encoding"], plan.fmt, plan.mapping),
        view(text, encoding, plan.fmt, plan.mapping),
    )


def _still_quarantined(engine: Engine, trace: dict, defect: Defect, diff: dict) -> Attempt:
    """Trace an attempt that is still defective; the quarantine row stays open."""
    qid, action = trace["quarantine_id"], trace["action"]
    with engine.begin() as conn:
        _open(_row(conn, qid))
        conn.execute(
            insert(quarantine_action).values(
                **trace,
                outcome=Outcome.QUARANTINED,
                detail=defect.reason,
                message=defect.message,
                rule=defect.rule,
                field=defect.field,
            )
        )
    log.info("quarantine #%d %s by %s: still quarantined (%s)", qid, action, trace["operator"], defect.reason)
    return Attempt(
        qid,
        action,
        Outcome.QUARANTINED,
        defect.reason,
        reason=defect.reason,
        message=defect.message,
        rule=defect.rule,
        field=defect.field,
        mapping=trace["mapping"],
        changes=diff,
    )


def _corrected_and_stored(engine: Engine, trace: dict, p: Prepared, plan: _Plan, row: dict, diff: dict) -> Attempt:
    """Store a record that now passes, as a correction of its quarantine row, and trace it."""
    qid, action, operator = trace["quarantine_id"], trace["action"], trace["operator"]
    ctx = BatchContext(
        plan.system.id,
        plan.mapping.kind,
        row["message_id"],
        plan.mapping.label,
        plan.mapping.kind.schema_version,
        trace["at"],
        plan.system.report_to,
        correction_of=qid,
        corrected_by=operator,
        sender=plan.system,
    )
    lineage_id = _store(engine, ctx, p, trace, row, trace["note"])
    log.info("quarantine #%d %s by %s: %s (%s)", qid, action, operator, p.outcome, p.detail)
    # a person's key is their ID number: what is reported is masked
    key_text = p.key_text
    assert key_text is not None  # a record that passed the checks has its key
    # Outcome(): Prepared.outcome is typed str; store_batch set it to an Outcome member, which Outcome() returns as is
    return Attempt(
        qid,
        action,
        Outcome(p.outcome),
        p.detail,
        record_key=mask_text(key_text),
        lineage_id=lineage_id,
        mapping=plan.mapping.label,
        changes=diff,
    )


def _store(engine: Engine, ctx: BatchContext, p: Prepared, trace: dict, row: dict, note: str | None) -> int:
    qid = row["id"]
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                # claiming the row first: of two administrators retrying at once, one wins
                claimed = conn.execute(
                    update(quarantine)
                    .where(quarantine.c.id == qid, quarantine.c.status == QuarantineStatus.OPEN)
                    .values(
                        status=QuarantineStatus.RETRIED,
                        resolved_by=ctx.corrected_by,
                        resolved_at=ctx.received_at,
                        note=note,
                    )
                ).rowcount
                if claimed != 1:
                    _open(_row(conn, qid))
                    raise QuarantineActionError(
                        409, "not_open", f"quarantined record #{qid} changed meanwhile; look again"
                    )
                store_batch(conn, ctx, [p], observers=(enqueue_reports,))  # report_to peers, as any ingest
                add_counts(conn, row["source_system"], row["kind"], Counter({"quarantined": -1}))
                audit_refused.retried(conn, row, trace, p.outcome)  # the exchange log (存证)
                lineage_id = conn.execute(
                    select(lineage.c.id).where(lineage.c.correction_of == qid).order_by(lineage.c.id.desc()).limit(1)
                ).scalar_one()
                supersede_lineage(conn, row["lineage_id"], lineage_id, ctx.received_at)
                conn.execute(
                    insert(quarantine_action).values(**trace, outcome=p.outcome, detail=p.detail, lineage_id=lineage_id)
                )
                return lineage_id
        except (IntegrityError, StoreConflict):  # StoreConflict: store_batch lost a race; IntegrityError: the claim
            if attempt == 4:  # another writer stored this key first, five times over: give up loudly
                raise
            p.outcome = p.detail = ""
            p.version = None
    raise AssertionError("unreachable")


def matching_ids(
    engine: Engine,
    rule: str | None = None,
    system: str | None = None,
    kind: str | None = None,
    reason: str | None = None,
) -> list[int]:
    """Open quarantined records of a rule (``mapping:dept_b_case_csv`` matches every version
    of that mapping), oldest first — so a later record of the same key is applied last."""
    q = select(quarantine.c.id).where(quarantine.c.status == QuarantineStatus.OPEN).order_by(quarantine.c.id)
    if rule:
        q = q.where(or_(quarantine.c.rule == rule, quarantine.c.rule.startswith(rule + "@", autoescape=True)))
    for col, val in (("source_system", system), ("kind", kind), ("reason", reason)):
        if val:
            q = q.where(quarantine.c[col] == val)
    with engine.connect() as conn:
        return list(conn.execute(q).scalars())


def retry_matching(
    engine: Engine,
    operator: str,
    rule: str | None = None,
    system: str | None = None,
    kind: str | None = None,
    reason: str | None = None,
    note: str | None = None,
    ids: list[int] | None = None,
    on_record: Callable[[Attempt | None], None] | None = None,
) -> RetrySummary:
    """Retry every open record of a rule (and/or source system, kind, reason) with the
    mappings, rules and catalogue as they are now — after a fix."""
    operator = _operator(operator)
    if not (rule or system or kind or reason or ids):
        raise QuarantineActionError(
            422, "filter_required", "say which records: --rule R (and/or --system, --kind, --reason)"
        )
    reload_configuration()
    note = (
        note
        or f"retry after a fix: {', '.join(f'{k}={v}' for k, v in (('rule', rule), ('system', system), ('kind', kind), ('reason', reason)) if v)}"
    )
    planner = _Planner(engine)
    summary = RetrySummary()
    for qid in ids if ids is not None else matching_ids(engine, rule, system, kind, reason):
        a: Attempt | None = None
        try:
            done = retry(engine, qid, operator, note, planner=planner)
        except QuarantineActionError as exc:
            summary.skipped[exc.reason] += 1
        else:
            summary.retried += 1
            summary.outcomes[done.outcome] += 1
            summary.quarantine_ids.append(qid)
            if done.outcome == Outcome.QUARANTINED:
                summary.reasons[done.reason] += 1
            a = done
        if on_record:
            on_record(a)
    return summary


def history(engine: Engine, qid: int) -> dict:
    """What happened to a quarantined record: its actions and its lineage, masked."""
    row = show(engine, qid)
    if row is None:
        raise QuarantineActionError(
            404, "not_found", f"no quarantined record #{qid}; `govhub quarantine list` shows the ids"
        )
    with engine.connect() as conn:
        actions = [
            dict(r)
            for r in conn.execute(
                select(quarantine_action)
                .where(quarantine_action.c.quarantine_id == qid)
                .order_by(quarantine_action.c.id)
            ).mappings()
        ]
        where = lineage.c.correction_of == qid
        if row["lineage_id"] is not None:
            where = or_(where, lineage.c.id == row["lineage_id"])
        lineages = [dict(r) for r in conn.execute(select(lineage).where(where).order_by(lineage.c.id)).mappings()]
    for r in lineages:
        r["record_key"] = mask_text(r["record_key"]) if r["record_key"] else None
    for a in actions:
        if a["payload"] is not None:
            csv_form = _fmt_from_label(a["mapping"] or "") == "csv"
            a["payload"] = mask_payload(row["kind"], a["payload"], "csv" if csv_form else "text", a["mapping"])
    return {"quarantine": row, "actions": actions, "lineage": lineages}
