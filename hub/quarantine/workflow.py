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
"""

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field as dc_field
from typing import Callable, Literal

from psycopg.errors import UniqueViolation
from sqlalchemy import (BigInteger, Column, DateTime, Engine, Index, String, Table, Text, insert, or_, select, update)
from sqlalchemy.exc import IntegrityError

from hub.core import clock
from hub.ingest import decode
from hub.catalog.access import authorise_record
from hub.model.defects import Defect
from hub.model.mapping import Mapping, MappingError, get_mapping, reload_mappings
from hub.model.masking import mask_payload, mask_text
from hub.db.tables import Id, Json, lineage, metadata, quarantine
from hub.ingest.pipeline import Pipeline, prepare
from hub.quarantine.payload import PayloadError, as_message, edit, flatten, view
from hub.ingest.store import BatchContext, ConcurrentUpdate, Prepared, add_counts, store_batch
from hub.catalog.systems import CatalogError, System, get_system
from hub.core.errors import WorkflowError
from hub.model.outcomes import Outcome, QuarantineStatus

log = logging.getLogger("govhub.quarantine")

quarantine_action = Table(
    "quarantine_action",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("quarantine_id", BigInteger(), nullable=False),
    Column("action", String(12), nullable=False, comment="correct | retry | reject | export"),
    Column("operator", String(100), nullable=False, comment="the administrator"),
    Column("at", DateTime(), nullable=False),
    Column("note", Text(), nullable=True, comment="personal data masked"),
    Column("outcome", String(12), nullable=False, comment="stored | duplicate | quarantined | rejected | exported"),
    Column("detail", String(40), nullable=True, comment="new | updated | stale | same_content, or the reason it failed again"),
    Column("message", Text(), nullable=True, comment="why it failed again (masked)"),
    Column("rule", String(100), nullable=True),
    Column("field", String(100), nullable=True),
    Column("mapping", String(100), nullable=True, comment="the mapping (name@version) the retry used"),
    Column("schema_version", String(40), nullable=True),
    Column("lineage_id", BigInteger(), nullable=True, comment="the lineage row of the stored record"),
    Column("changes", Json, nullable=True, comment="source field → [before, after], masked"),
    Column("payload", Text(), nullable=True, comment="the corrected record tried (as quarantine.payload: shown masked only)"),
    Index("ix_quarantine_action_quarantine", "quarantine_id", "id"),
    comment="隔离区处理记录",
)

RULE = "quarantine:retry"  # the "rule" of a defect found by the retry itself (no record in the payload)


ActionReason = Literal["operator_required", "note_required", "filter_required", "not_found", "not_open", "whole_message",
                       "library_refresh", "unknown_system", "kind_changed", "bad_correction"]


class QuarantineActionError(WorkflowError):
    """A quarantine action (retry, reject, export) cannot be done; ``status`` is the HTTP
    status, ``reason`` a code."""

    def __init__(self, status: int, reason: ActionReason, message: str):
        super().__init__(message, reason=reason, status=status)


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
        return {"retried": self.retried, "stored": self.outcomes[Outcome.STORED], "duplicate": self.outcomes[Outcome.DUPLICATE],
                "still_quarantined": self.outcomes[Outcome.QUARANTINED], "still_quarantined_by_reason": dict(self.reasons),
                "skipped": dict(self.skipped), "quarantine_ids": self.quarantine_ids}


def _operator(name: str | None) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise QuarantineActionError(422, "operator_required", "say who you are: --operator NAME (up to 100 characters); "
                            "it is kept with every action")
    return name


def _note(note: str | None, required: bool = False) -> str | None:
    note = (note or "").strip()
    if required and not note:
        raise QuarantineActionError(422, "note_required", "give a reason with --note TEXT; it is kept with the action")
    return mask_text(note) if note else None  # a note is a remark: no personal data needed in it


def _row(conn, qid: int) -> dict:
    row = conn.execute(select(quarantine).where(quarantine.c.id == qid)).mappings().first()
    if row is None:
        raise QuarantineActionError(404, "not_found", f"no quarantined record #{qid}; `govhub quarantine list` shows the ids")
    return dict(row)


def _open(row: dict) -> None:
    if row["status"] != QuarantineStatus.OPEN:
        raise QuarantineActionError(409, "not_open", f"quarantined record #{row['id']} is {row['status']} already "
                            f"(by {row['resolved_by']} at {row['resolved_at']}); `govhub quarantine history {row['id']}`")


@dataclass(frozen=True)
class _Plan:
    system: System
    mapping: Mapping
    fmt: str


def _fmt_from_label(label: str) -> str | None:
    name = label.split("@", 1)[0]
    if name.startswith("canonical_"):
        return name.rpartition("_")[2]
    try:
        return get_mapping(name).spec.format
    except MappingError:
        return None


def _fmt_from_payload(payload: str, encoding: str) -> str:
    if encoding == "csv":
        return "csv"
    s = payload.lstrip()
    return "xml" if s.startswith("<") else "jsonl"


class _Planner:
    """Where a quarantined record is read again: system and mapping, resolved once per run."""

    def __init__(self, engine: Engine, pipeline: Pipeline | None = None):
        self.pipeline = pipeline or Pipeline(engine)
        self._rules: dict[str, object] = {}

    def plan(self, row: dict) -> _Plan:
        if row["seq"] == 0 or row["mapping"] in ("-", ""):
            raise QuarantineActionError(409, "whole_message", f"#{row['id']} is a whole message that could not be read "
                                f"({row['reason']}); the sender must send it again — then reject this entry with a note")
        if row["message_id"].startswith("refresh:"):
            raise QuarantineActionError(409, "library_refresh", f"#{row['id']} came from a resource-library refresh, which merges "
                                "by field precedence; correct it at the sharing platform and refresh again — then reject "
                                "this entry with a note")
        try:
            system = get_system(row["source_system"])
        except CatalogError:
            raise QuarantineActionError(409, "unknown_system", f"#{row['id']} came from {row['source_system']}, which the "
                                "catalogue no longer lists; add it back or reject this entry") from None
        fmt = _fmt_from_label(row["mapping"]) or _fmt_from_payload(row["payload"], row["payload_encoding"])
        name = row["mapping"].split("@", 1)[0]
        try:
            mapping = get_mapping(name)
        except MappingError:  # renamed or removed since: what the catalogue names now
            mapping = system.mapping_for(row["kind"], fmt)
        if mapping.kind.kind != row["kind"]:
            raise QuarantineActionError(409, "kind_changed", f"mapping {mapping.label} now reads {mapping.kind.kind}, "
                                f"not {row['kind']}; fix the mapping or reject this entry")
        return _Plan(system, mapping, fmt)

    def rules(self, system: System):
        if system.id not in self._rules:
            self._rules[system.id] = self.pipeline._rules_for(system)
        return self._rules[system.id]


def _read_one(row: dict, text: str, encoding: str, plan: _Plan, given: bool) -> decode.RawRecord:
    try:
        body = as_message(text, encoding, plan.fmt, plan.mapping)
    except PayloadError as exc:
        raise QuarantineActionError(422, "bad_correction", str(exc)) from None
    raws = list(decode.read(io.BufferedReader(io.BytesIO(body)), plan.mapping, decode.MessageInfo()))
    if given and len(raws) != 1:
        raise QuarantineActionError(422, "bad_correction", f"a corrected record holds exactly one {row['kind']} record in the form "
                            f"the source sends ({plan.fmt}); this one holds {len(raws)}")
    if not raws:
        return decode.RawRecord(row["seq"], None, Defect(
            "payload_unreadable", "the kept payload holds no readable record; give the whole corrected record "
            "(govhub quarantine retry ID --payload FILE)", RULE), text)
    raw = raws[0]
    raw.seq = row["seq"]
    return raw


def _authorise(system: System, kind: str):
    if system.level != "department":
        return None
    return lambda record: authorise_record(system, kind, record)


def _masked_changes(kind: str, mapping: str, before: dict | None, after: dict | None) -> dict:
    if before is None or after is None:
        return {"(record)": ["(unreadable)" if before is None else "(whole record)", "(replaced)"]}
    fb, fa = flatten(before), flatten(after)
    changed = sorted(k for k in fb.keys() | fa.keys() if fb.get(k) != fa.get(k))
    if not changed:
        return {}
    mb = flatten(json.loads(mask_payload(kind, json.dumps(before, ensure_ascii=False), "text", mapping)))
    ma = flatten(json.loads(mask_payload(kind, json.dumps(after, ensure_ascii=False), "text", mapping)))
    return {k: [mb.get(k), ma.get(k)] for k in changed}


def retry(engine: Engine, qid: int, operator: str, note: str | None = None, changes: dict[str, str] | None = None,
          payload: str | None = None, *, planner: _Planner | None = None) -> Attempt:
    """Correct (``changes`` on the record's own fields, or a whole ``payload``) and retry
    one open quarantined record; or retry it unchanged after a fix of mapping or rules."""
    operator, note = _operator(operator), _note(note)
    if changes and payload is not None:
        raise QuarantineActionError(422, "bad_correction", "give either field corrections or a whole corrected record, not both")
    if planner is None:  # one record: read mappings and catalogue afresh (a bulk run does it once)
        reload_configuration()
        planner = _Planner(engine)
    with engine.connect() as conn:
        row = _row(conn, qid)
    _open(row)
    plan = planner.plan(row)
    kind = plan.mapping.kind.kind
    action, text, encoding = "retry", row["payload"], row["payload_encoding"]
    if changes:
        try:
            text = edit(text, encoding, plan.fmt, plan.mapping, changes)
        except PayloadError as exc:
            raise QuarantineActionError(422, "bad_correction", str(exc)) from None
        action, encoding = "correct", ("csv" if plan.fmt == "csv" else "text")
    elif payload is not None:
        action, text, encoding = "correct", payload.strip("\ufeff\r\n"), ("csv" if plan.fmt == "csv" else "text")
    raw = _read_one(row, text, encoding, plan, given=action == "correct")
    p = prepare(raw, plan.mapping, planner.rules(plan.system), _authorise(plan.system, kind))
    diff = (_masked_changes(kind, plan.mapping.label, view(row["payload"], row["payload_encoding"], plan.fmt, plan.mapping),
                            view(text, encoding, plan.fmt, plan.mapping)) if action == "correct" else {})
    now = clock.now().replace(microsecond=0)
    trace = {"quarantine_id": qid, "action": action, "operator": operator, "at": now, "note": note,
             "mapping": plan.mapping.label, "schema_version": plan.mapping.kind.schema_version, "changes": diff or None,
             "payload": text if action == "correct" else None}
    if p.defect is not None:
        with engine.begin() as conn:
            _open(_row(conn, qid))
            conn.execute(insert(quarantine_action).values(**trace, outcome=Outcome.QUARANTINED, detail=p.defect.reason,
                                                          message=p.defect.message, rule=p.defect.rule, field=p.defect.field))
        log.info("quarantine #%d %s by %s: still quarantined (%s)", qid, action, operator, p.defect.reason)
        return Attempt(qid, action, Outcome.QUARANTINED, p.defect.reason, reason=p.defect.reason, message=p.defect.message,
                       rule=p.defect.rule, field=p.defect.field, mapping=plan.mapping.label, changes=diff)
    ctx = BatchContext(plan.system.id, plan.mapping.kind, row["message_id"], plan.mapping.label,
                       plan.mapping.kind.schema_version, now, plan.system.report_to, correction_of=qid, corrected_by=operator)
    lineage_id = _store(engine, ctx, p, trace, row, note)
    log.info("quarantine #%d %s by %s: %s (%s)", qid, action, operator, p.outcome, p.detail)
    # a person's key is their ID number: what is reported is masked
    return Attempt(qid, action, p.outcome, p.detail, record_key=mask_text(p.key_text), lineage_id=lineage_id,
                   mapping=plan.mapping.label, changes=diff)


def _store(engine: Engine, ctx: BatchContext, p: Prepared, trace: dict, row: dict, note: str | None) -> int:
    qid = row["id"]
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                # claiming the row first: of two administrators retrying at once, one wins
                claimed = conn.execute(update(quarantine).where(quarantine.c.id == qid, quarantine.c.status == QuarantineStatus.OPEN).values(
                    status=QuarantineStatus.RETRIED, resolved_by=ctx.corrected_by, resolved_at=ctx.received_at, note=note)).rowcount
                if claimed != 1:
                    _open(_row(conn, qid))
                    raise QuarantineActionError(409, "not_open", f"quarantined record #{qid} changed meanwhile; look again")
                store_batch(conn, ctx, [p])
                add_counts(conn, row["source_system"], row["kind"], Counter({Outcome.QUARANTINED: -1}))
                lineage_id = conn.execute(select(lineage.c.id).where(lineage.c.correction_of == qid)
                                          .order_by(lineage.c.id.desc()).limit(1)).scalar_one()
                conn.execute(insert(quarantine_action).values(**trace, outcome=p.outcome, detail=p.detail,
                                                              lineage_id=lineage_id))
                return lineage_id
        except (IntegrityError, ConcurrentUpdate, UniqueViolation):
            if attempt == 4:  # another writer stored this key first, five times over: give up loudly
                raise
            p.outcome = p.detail = ""
            p.version = None
    raise AssertionError("unreachable")


def reject(engine: Engine, qid: int, operator: str, note: str) -> dict:
    """Close an open quarantined record without storing it (stays counted as quarantined)."""
    operator, note = _operator(operator), _note(note, required=True)
    now = clock.now().replace(microsecond=0)
    with engine.begin() as conn:
        row = _row(conn, qid)
        _open(row)
        done = conn.execute(update(quarantine).where(quarantine.c.id == qid, quarantine.c.status == QuarantineStatus.OPEN).values(
            status=QuarantineStatus.REJECTED, resolved_by=operator, resolved_at=now, note=note)).rowcount
        if done != 1:
            raise QuarantineActionError(409, "not_open", f"quarantined record #{qid} changed meanwhile; look again")
        conn.execute(insert(quarantine_action).values(quarantine_id=qid, action="reject", operator=operator, at=now,
                                                      note=note, outcome=Outcome.REJECTED))
    log.info("quarantine #%d rejected by %s", qid, operator)
    return {"quarantine_id": qid, "status": QuarantineStatus.REJECTED, "resolved_by": operator, "resolved_at": now, "note": note}


def matching_ids(engine: Engine, rule: str | None = None, system: str | None = None, kind: str | None = None,
                 reason: str | None = None) -> list[int]:
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


def retry_matching(engine: Engine, operator: str, rule: str | None = None, system: str | None = None,
                   kind: str | None = None, reason: str | None = None, note: str | None = None,
                   ids: list[int] | None = None, on_record: Callable[[Attempt | None], None] | None = None) -> RetrySummary:
    """Retry every open record of a rule (and/or source system, kind, reason) with the
    mappings, rules and catalogue as they are now — after a fix."""
    operator = _operator(operator)
    if not (rule or system or kind or reason or ids):
        raise QuarantineActionError(422, "filter_required", "say which records: --rule R (and/or --system, --kind, --reason)")
    reload_configuration()
    note = note or f"retry after a fix: {', '.join(f'{k}={v}' for k, v in (('rule', rule), ('system', system), ('kind', kind), ('reason', reason)) if v)}"
    planner = _Planner(engine)
    summary = RetrySummary()
    for qid in ids if ids is not None else matching_ids(engine, rule, system, kind, reason):
        try:
            a = retry(engine, qid, operator, note, planner=planner)
        except QuarantineActionError as exc:
            summary.skipped[exc.reason] += 1
            a = None
        else:
            summary.retried += 1
            summary.outcomes[a.outcome] += 1
            summary.quarantine_ids.append(qid)
            if a.outcome == Outcome.QUARANTINED:
                summary.reasons[a.reason] += 1
        if on_record:
            on_record(a)
    return summary


def reload_configuration() -> None:
    """Read mappings and the catalogue again, so a retry sees the fix just made."""
    from hub.catalog.systems import _systems_at

    reload_mappings()
    _systems_at.cache_clear()


def export(engine: Engine, qid: int, operator: str, note: str | None = None) -> tuple[str, str]:
    """The original payload, unmasked, for an administrator to correct it in a file
    (``retry ID --payload FILE``); traced like every other action."""
    operator, note = _operator(operator), _note(note)
    with engine.begin() as conn:
        row = _row(conn, qid)
        conn.execute(insert(quarantine_action).values(quarantine_id=qid, action="export", operator=operator,
                                                      at=clock.now().replace(microsecond=0), note=note, outcome=Outcome.EXPORTED))
    log.info("quarantine #%d exported by %s", qid, operator)
    return row["payload"], row["payload_encoding"]


def history(engine: Engine, qid: int) -> dict:
    """What happened to a quarantined record: its actions and its lineage, masked."""
    from hub.quarantine.view import show

    row = show(engine, qid)
    if row is None:
        raise QuarantineActionError(404, "not_found", f"no quarantined record #{qid}; `govhub quarantine list` shows the ids")
    with engine.connect() as conn:
        actions = [dict(r) for r in conn.execute(select(quarantine_action).where(quarantine_action.c.quarantine_id == qid)
                                                 .order_by(quarantine_action.c.id)).mappings()]
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


