"""The supervision scan (监察扫描), the 督办 workflow and reporting upward.

``scan`` evaluates open cases (not 办结/作废/退件) and the cases concluded since the last
scan with the monitoring rules, and raises one supervision record per (case, rule,
level) — never twice, whatever the number of scans: the supervision number is
deterministic and an existing one is left alone. Records go through the ingest pipeline
as the system ``govhub-supervision`` (which must be in catalog/systems.yaml), so they get
lineage, history, outbox events and reporting like any other record.

``workflow`` moves a record 发起 → 已指派 (assign) → 已签收 (acknowledge) → 已办结
(resolve); each transition is logged in ``supervision_action`` and the record's new state
goes through the pipeline as an update, so the previous state is kept in record_history.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date, datetime
from typing import Literal

from sqlalchemy import Column, DateTime, Engine, Index, Integer, String, Table, Text, and_, func, insert, or_, select

from hub.core import clock
from hub.core.errors import WorkflowError
from hub.db.tables import LIBRARY, Id, metadata
from hub.domains.evaluations import overdue
from hub.domains.supervision.rules import Finding, MonitoringRule, evaluate, load_rules
from hub.model.masking import mask_text
from hub.outbound import reporting
from hub.wiring import standard_pipeline

SYSTEM = "govhub-supervision"
SUPERVISOR_DEPT = "电子监察系统"
CLOSED = ("办结", "作废", "退件")
TRANSITIONS = {"assign": ("发起", "已指派"), "acknowledge": ("已指派", "已签收"), "resolve": ("已签收", "已办结")}

supervision_action = Table(
    "supervision_action",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("supervision_no", String(64), nullable=False),
    Column("action", String(16), nullable=False, comment="raise | assign | acknowledge | resolve"),
    Column("actor", String(100), nullable=False),
    Column("note", Text(), nullable=True),
    Column("at", DateTime(), nullable=False),
    Index("ix_supervision_action_no", "supervision_no", "id"),
)

supervision_scan = Table(
    "supervision_scan",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "ran_at", DateTime(), nullable=False, comment="hub clock at the start: the watermark on lib_case.updated_at"
    ),
    Column("as_of", DateTime(), nullable=False, comment="the instant the rules were evaluated at"),
    Column("cases", Integer(), nullable=False),
    Column("findings", Integer(), nullable=False),
    Column("raised", Integer(), nullable=False),
)


SupervisionReason = Literal["not_found", "unknown_action", "actor_required", "wrong_status", "out_of_order"]


class SupervisionActionError(WorkflowError):
    """A 督办 transition cannot be done: an unknown supervision number or action, or out of order."""

    def __init__(self, status: int, reason: SupervisionReason, message: str):
        super().__init__(message, reason=reason, status=status)


def supervision_no(rule_id: str, level: str, case_no: str) -> str:
    """``SV-<rule>-<level>-<case_no>``; the case number is replaced by a digest when that is longer than 64."""
    no = f"SV-{rule_id}-{level}-{case_no}"
    if len(no) <= 64:
        return no
    return f"SV-{rule_id}-{level}-" + hashlib.blake2b(case_no.encode(), digest_size=10).hexdigest()


def _ingest(engine: Engine, records: list[dict], message_id: str):
    body = json.dumps({"records": records}, ensure_ascii=False, default=_json_default).encode()
    summary = standard_pipeline(engine).ingest(
        io.BytesIO(body), SYSTEM, fmt="json", kind="supervision", message_id=message_id
    )
    if summary.counts["quarantined"]:
        raise RuntimeError(f"supervision records quarantined: {dict(summary.reasons)} (message {message_id})")
    return summary


def _json_default(v):
    if isinstance(v, (datetime, date)):
        return v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat()
    return str(v)


def _item_finder(conn):
    t = LIBRARY["item"]
    cache: dict[tuple, dict | None] = {}

    def find(code: str, version: str | None) -> dict | None:
        if (code, version) not in cache:
            rows = (
                conn.execute(select(t).where(t.c.item_code == code).order_by(t.c.updated_at.desc(), t.c.id.desc()))
                .mappings()
                .all()
            )
            exact = [r for r in rows if version and r["item_version"] == version]
            row = (exact or rows or [None])[0]
            cache[(code, version)] = dict(row) if row is not None else None
        return cache[(code, version)]

    return find


def _record(f: Finding, case: dict, now: datetime) -> dict:
    return {
        "supervision_no": supervision_no(f.rule.id, f.level, case["case_no"]),
        "case_no": case["case_no"],
        "item_code": case.get("item_code"),
        "item_name": case.get("item_name"),
        "dept_code": case["dept_code"],
        "dept_name": case["dept_name"],
        "region_code": case["region_code"],
        "supervisor_dept": SUPERVISOR_DEPT,
        "rule_type": f.rule.rule_type,
        "level": f.level,
        "description": mask_text(f.description),
        "evidence": mask_text(f.evidence),
        "raised_time": now,
        "status": "发起",
        "source_time": now,
    }


def _overdue_follow_ups(conn, engine: Engine, now: datetime, existing: set[str]) -> dict[str, dict]:
    """A 差评 whose follow-up was not closed in time is itself supervised (评价, 黄牌)."""
    c, s = LIBRARY["case"], LIBRARY["supervision"]
    out = {}
    for fu in overdue(engine, now):
        no = supervision_no("evaluation-follow-up", "黄牌", f"{fu['source_system']}:{fu['eval_no']}")
        if conn.execute(select(s.c.id).where(s.c.source_system == SYSTEM, s.c.supervision_no == no)).first():
            existing.add(no)
            continue
        case = (
            conn.execute(
                select(c.c.dept_name, c.c.item_code, c.c.item_name).where(c.c.case_no == fu["case_no"])
            ).first()
            if fu.get("case_no")
            else None
        )
        out[no] = {
            k: v
            for k, v in {
                "supervision_no": no,
                "case_no": fu.get("case_no"),
                "item_code": case.item_code if case else None,
                "item_name": case.item_name if case else None,
                "dept_code": fu["dept_code"],
                "dept_name": case.dept_name if case else fu["dept_code"],
                "region_code": fu["region_code"],
                "supervisor_dept": SUPERVISOR_DEPT,
                "rule_type": "评价",
                "level": "黄牌",
                "description": f"差评 {fu['eval_no']} 的整改回访未在期限内办结",
                "evidence": f"due {fu['due_at']}",
                "raised_time": now,
                "status": "发起",
                "source_time": now,
            }.items()
            if v is not None
        }  # the contract has no nulls: absent means unknown
    return out


def _cases_to_scan(conn) -> list:
    """The open cases, and those concluded (办结/作废/退件) since the last scan."""
    c = LIBRARY["case"]
    last = conn.execute(select(func.max(supervision_scan.c.ran_at))).scalar()
    closed_since = c.c.status.in_(CLOSED) if last is None else and_(c.c.status.in_(CLOSED), c.c.updated_at >= last)
    return list(
        conn.execute(select(c).where(or_(c.c.status.not_in(CLOSED), closed_since)).order_by(c.c.id)).mappings().all()
    )


def _findings(conn, cases: list, rules: list[MonitoringRule], now: datetime) -> tuple[dict[str, dict], int]:
    """The supervision records the rules find at ``now`` (one per number), and how many findings there were."""
    find_item = _item_finder(conn)
    found: dict[str, dict] = {}
    n_findings = 0
    for row in cases:
        case = dict(row)
        for f in evaluate(rules, case, find_item(case["item_code"], case.get("item_version")), now):
            n_findings += 1
            rec = _record(f, case, now)
            found.setdefault(rec["supervision_no"], rec)
    return found, n_findings


def _raised_before(conn, nos: list[str]) -> set[str]:
    """Which of these supervision numbers were raised already."""
    s = LIBRARY["supervision"]
    existing: set[str] = set()
    for i in range(0, len(nos), 500):
        existing |= set(
            conn.execute(
                select(s.c.supervision_no).where(s.c.source_system == SYSTEM, s.c.supervision_no.in_(nos[i : i + 500]))
            ).scalars()
        )
    return existing


def _raise(engine: Engine, new: list[dict], ran_at: datetime, now: datetime) -> None:
    """Ingests the new supervision records as one message and logs their ``raise`` actions."""
    _ingest(engine, new, f"supervision-scan:{ran_at:%Y%m%dT%H%M%S}:{now:%Y%m%dT%H%M%S}:{len(new)}")
    with engine.begin() as conn:
        conn.execute(
            insert(supervision_action),
            [
                {
                    "supervision_no": r["supervision_no"],
                    "action": "raise",
                    "actor": SYSTEM,
                    "note": r["description"],
                    "at": now,
                }
                for r in new
            ],
        )


def scan(engine: Engine, now: datetime | None = None, rules: list[MonitoringRule] | None = None) -> dict:
    """Evaluate the open cases (and those concluded since the last scan) at ``now``; raise
    each new finding once. Returns counts and the supervision numbers raised."""
    ran_at = clock.now().replace(microsecond=0)
    now = (now or clock.now()).replace(microsecond=0)
    rules = load_rules() if rules is None else rules
    with engine.connect() as conn:
        cases = _cases_to_scan(conn)
        found, n_findings = _findings(conn, cases, rules, now)
        existing = _raised_before(conn, list(found))
        found.update(_overdue_follow_ups(conn, engine, now, existing))
    new = [r for no, r in found.items() if no not in existing]
    if new:
        _raise(engine, new, ran_at, now)
    with engine.begin() as conn:
        conn.execute(
            insert(supervision_scan).values(
                ran_at=ran_at, as_of=now, cases=len(cases), findings=n_findings, raised=len(new)
            )
        )
    return {
        "as_of": now.isoformat(sep=" "),
        "cases": len(cases),
        "findings": n_findings,
        "raised": len(new),
        "already_raised": len(existing),
        "supervision_nos": sorted(r["supervision_no"] for r in new),
    }


def _load(conn, no: str) -> dict:
    s = LIBRARY["supervision"]
    row = conn.execute(select(s).where(s.c.source_system == SYSTEM, s.c.supervision_no == no)).mappings().first()
    if row is None:
        raise SupervisionActionError(404, "not_found", f"no supervision record {no!r} raised by {SYSTEM}")
    return dict(row)


def workflow(
    engine: Engine, supervision_no: str, action: str, actor: str, note: str | None = None, at: datetime | None = None
) -> dict:
    """Apply one 督办 transition (assign | acknowledge | resolve) by ``actor`` at ``at`` (default now)."""
    if action not in TRANSITIONS:
        raise SupervisionActionError(422, "unknown_action", f"unknown action {action!r}; one of {sorted(TRANSITIONS)}")
    if not actor or not actor.strip():
        raise SupervisionActionError(422, "actor_required", "an actor is required")
    at = (at or clock.now()).replace(microsecond=0)
    before, after = TRANSITIONS[action]
    s = LIBRARY["supervision"]
    with engine.connect() as conn:
        row = _load(conn, supervision_no)
        last = conn.execute(
            select(func.max(supervision_action.c.at)).where(supervision_action.c.supervision_no == supervision_no)
        ).scalar()
    if row["status"] != before:
        raise SupervisionActionError(
            409, "wrong_status", f"{supervision_no} is {row['status']}; {action} needs {before}"
        )
    if at < row["raised_time"] or (last is not None and at < last):
        raise SupervisionActionError(
            409,
            "out_of_order",
            f"{action} at {at} is earlier than the record's last transition ({last or row['raised_time']})",
        )
    rec = {
        name: row[name]
        for name in s.c.keys()
        if name not in ("id", "source_system", "version", "payload_hash", "received_at", "updated_at", "lineage_id")
    }
    rec = {k: v for k, v in rec.items() if v is not None}
    rec.update(status=after, source_time=at)
    if action == "assign":
        rec["supervisor"] = actor
    if action == "resolve":
        rec["end_time"] = at
        if note:
            rec["result"] = mask_text(note)
    _ingest(engine, [rec], f"supervision-{action}:{supervision_no}:{at:%Y%m%dT%H%M%S}")
    with engine.begin() as conn:
        conn.execute(
            insert(supervision_action).values(
                supervision_no=supervision_no, action=action, actor=actor, note=mask_text(note) if note else None, at=at
            )
        )
        version = _load(conn, supervision_no)["version"]
    return {
        "supervision_no": supervision_no,
        "action": action,
        "status": after,
        "at": at.isoformat(sep=" "),
        "actor": actor,
        "version": version,
    }


def actions(engine: Engine, supervision_no: str) -> list[dict]:
    """The transition log of one record, oldest first."""
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(supervision_action)
                .where(supervision_action.c.supervision_no == supervision_no)
                .order_by(supervision_action.c.id)
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


def list_supervision(
    engine: Engine, status: str | None = None, case_no: str | None = None, limit: int = 100
) -> list[dict]:
    """Supervision records raised by the hub, newest first (for ``govhub supervision list``)."""
    s = LIBRARY["supervision"]
    q = select(
        s.c.supervision_no,
        s.c.case_no,
        s.c.rule_type,
        s.c.level,
        s.c.status,
        s.c.dept_name,
        s.c.raised_time,
        s.c.end_time,
        s.c.version,
    ).where(s.c.source_system == SYSTEM)
    if status:
        q = q.where(s.c.status == status)
    if case_no:
        q = q.where(s.c.case_no == case_no)
    with engine.connect() as conn:
        return [
            dict(r) for r in conn.execute(q.order_by(s.c.raised_time.desc(), s.c.id.desc()).limit(limit)).mappings()
        ]


def report(engine: Engine, peer_id: str) -> dict:
    """Report new and changed supervision records to ``peer_id`` (by watermark, see hub.outbound.reporting)."""
    return reporting.run(engine, peer_id, "supervision").as_dict()
