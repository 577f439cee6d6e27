"""A bundle's progress (套餐进度): the ``bundle`` and ``bundle_part`` tables, the bundle's
status joined from its parts' statuses, and ``join``, which follows every dispatched part
in the case library and writes each change of a bundle's status as an outbox event.
The datasheet is in ``hub.domains.bundles``."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import Column, Connection, DateTime, Engine, Index, Integer, String, Table, insert, select, update

from hub.core import clock
from hub.db.tables import LIBRARY, Json, metadata, outbox
from hub.ingest.store import EVENTS_EXCHANGE

PENDING = "待分发"  # a part not yet dispatched; a bundle with such a part
CONCLUDED = "办结"
ENDED = frozenset({"不予受理", "退件", "作废"})  # a part that ended without conclusion

bundle = Table(
    "bundle",
    metadata,
    Column("bundle_no", String(60), primary_key=True, comment="套餐办件编号"),
    Column("bundle_code", String(40), nullable=False, comment="套餐编码"),
    Column("system", String(64), nullable=False, comment="the one-window system that accepted it"),
    Column("region_code", String(6), nullable=False),
    Column("applicant_type", String(16), nullable=False),
    Column("applicant_name", String(200), nullable=False),
    Column("applicant_id_no", String(40), nullable=False),
    Column("application_hash", String(32), nullable=False, comment="tells a repeat from another application"),
    Column("status", String(16), nullable=False, comment="待分发 | 办理中 | 办结 | 部分退件 | 退件"),
    Column("created_at", DateTime(), nullable=False),
    Column("updated_at", DateTime(), nullable=False),
    Column("finished_at", DateTime(), nullable=True, comment="every part 办结 or ended"),
    Index("ix_bundle_open", "finished_at", "bundle_no"),
    comment="套餐申请",
)

bundle_part = Table(
    "bundle_part",
    metadata,
    Column("bundle_no", String(60), primary_key=True),
    Column("seq", Integer(), primary_key=True),
    Column("item_code", String(40), nullable=False),
    Column("dept_system", String(64), nullable=False, comment="the department system it is dispatched to"),
    Column("case_no", String(64), nullable=False),
    Column("record", Json, nullable=False, comment="the part's canonical case, as dispatched"),
    Column("status", String(16), nullable=False, comment="待分发, then its case's status"),
    Column("dispatched_at", DateTime(), nullable=True),
    Column("finished_at", DateTime(), nullable=True),
    Index("ix_bundle_part_undispatched", "dispatched_at"),
    comment="套餐拆分的部门事项",
)


def bundle_status(part_statuses: list[str]) -> str:
    """The bundle's status from its parts' (first rule that holds): 待分发 if a part is
    not dispatched; 办结 if every part is 办结; 退件 if every part ended without
    conclusion (不予受理, 退件, 作废); 部分退件 if some did; else 办理中."""
    if PENDING in part_statuses:
        return PENDING
    if all(s == CONCLUDED for s in part_statuses):
        return CONCLUDED
    ended = sum(s in ENDED for s in part_statuses)
    if ended == len(part_statuses):
        return "退件"
    return "部分退件" if ended else "办理中"


def _library_cases(conn: Connection, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """Case library rows by (source system, case number)."""
    if not pairs:
        return {}
    t = LIBRARY["case"]
    rows = conn.execute(
        select(t.c.source_system, t.c.case_no, t.c.version, t.c.status, t.c.finish_time).where(
            t.c.source_system.in_(sorted({s for s, _ in pairs})), t.c.case_no.in_(sorted({c for _, c in pairs}))
        )
    ).mappings()
    return {(r["source_system"], r["case_no"]): dict(r) for r in rows if (r["source_system"], r["case_no"]) in pairs}


def _derive(conn: Connection, bundle_no: str, now: datetime) -> tuple[bool, bool]:
    """Re-derive one bundle's status; returns (status changed, finished now)."""
    b = conn.execute(select(bundle).where(bundle.c.bundle_no == bundle_no)).mappings().one()
    statuses = list(conn.execute(select(bundle_part.c.status).where(bundle_part.c.bundle_no == bundle_no)).scalars())
    status = bundle_status(statuses)
    finished = all(s == CONCLUDED or s in ENDED for s in statuses)
    if status == b["status"] and finished == (b["finished_at"] is not None):
        return False, False
    won = conn.execute(
        update(bundle)
        .where(bundle.c.bundle_no == bundle_no, bundle.c.status == b["status"])
        .values(status=status, updated_at=now, finished_at=now if finished else None)
    ).rowcount
    if not won:  # a concurrent join got there first and wrote the event
        return False, False
    if status != b["status"]:
        conn.execute(
            insert(outbox).values(
                exchange=EVENTS_EXCHANGE,
                routing_key=f"bundle.{b['region_code']}.{b['system']}",
                kind="bundle",
                record_key=bundle_no,
                event="status",
                created_at=now,
                body={
                    "event": "bundle.status",
                    "bundle_no": bundle_no,
                    "bundle_code": b["bundle_code"],
                    "region_code": b["region_code"],
                    "from": b["status"],
                    "to": status,
                    "parts": dict(Counter(statuses)),
                },
            )
        )
    return status != b["status"], finished


def join(engine: Engine, page: int = 500) -> dict:
    """Follow every unfinished bundle's parts in the case library (see the datasheet)."""
    counts = Counter(open=0, parts_changed=0, changed=0, finished=0)
    after = ""
    while True:
        with engine.connect() as conn:
            heads = dict(
                conn.execute(
                    select(bundle.c.bundle_no, bundle.c.system)
                    .where(bundle.c.finished_at.is_(None), bundle.c.bundle_no > after)
                    .order_by(bundle.c.bundle_no)
                    .limit(page)
                ).all()
            )
            if not heads:
                break
            after = list(heads)[-1]  # the database's own order (collations differ from Python's)
            parts = (
                conn.execute(
                    select(bundle_part).where(
                        bundle_part.c.bundle_no.in_(heads), bundle_part.c.dispatched_at.is_not(None)
                    )
                )
                .mappings()
                .all()
            )
            cases = _library_cases(
                conn, {(s, p["case_no"]) for p in parts for s in (p["dept_system"], heads[p["bundle_no"]])}
            )
        counts["open"] += len(heads)
        now = clock.now()
        touched: dict[str, int] = defaultdict(int)
        with engine.begin() as conn:
            for p in parts:
                case = cases.get((p["dept_system"], p["case_no"])) or cases.get((heads[p["bundle_no"]], p["case_no"]))
                if case is None or case["status"] == p["status"]:
                    continue
                final = case["status"] == CONCLUDED or case["status"] in ENDED
                touched[p["bundle_no"]] += conn.execute(
                    update(bundle_part)
                    .where(
                        bundle_part.c.bundle_no == p["bundle_no"],
                        bundle_part.c.seq == p["seq"],
                        bundle_part.c.status == p["status"],
                    )
                    .values(status=case["status"], finished_at=(case["finish_time"] or now) if final else None)
                ).rowcount
            for no in sorted(n for n, k in touched.items() if k):
                changed, finished = _derive(conn, no, now)
                counts["parts_changed"] += touched[no]
                counts["changed"] += changed
                counts["finished"] += finished
    return dict(counts)
