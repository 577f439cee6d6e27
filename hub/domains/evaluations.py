"""好差评 follow-up: a bad review (差评: satisfaction 1 非常不满意 or 2 不满意) opens a
follow-up that must be closed within N working days (official calendar), else it is
flagged overdue and handed to supervision.

Evaluations themselves arrive through the pipeline from every channel (1 PC, 2 mobile,
3 QR code, 4 hall pad, 5 other hall terminal, 6 SMS, 7 system default) into
``lib_evaluation``, linked to the case by ``case_no`` and to the window/staff by
``window_no``/``staff_id``. Reporting them upward is ``hub.outbound.reporting.run(engine, peer,
"evaluation")`` — not repeated here.

``open_follow_ups(engine, now=None, days=5)`` → ``{"bad_reviews", "opened", "already_open"}``
    One ``evaluation_follow_up`` row per stored 差评 (idempotent; a race loses quietly
    on the unique key), due at the end (23:59:59 CST) of the ``days``-th working day
    after the day it is opened.
``close_follow_up(engine, eval_no, actor, note, source_system=None, now=None)`` → the row
    ``LookupError`` when there is none (or several and no ``source_system``);
    ``ValueError`` when it is already closed.
``overdue(engine, now=None)`` → list of open follow-ups past ``due_at``
    Each is flagged once (``overdue_flagged_at``) and, in the same transaction, an outbox
    event is written: exchange ``govhub.events``, routing key
    ``evaluation.<region>.<source>``, event ``follow_up_overdue``, body
    ``{"event": "evaluation.follow_up_overdue", "eval_no", "source_system", "case_no",
    "dept_code", "region_code", "window_no", "staff_id", "opened_at", "due_at"}``.
    The supervision module raises a 评价 supervision record (督办) from that event.
    Every returned item says ``newly_flagged``.
``linked(engine, eval_no, source_system=None, masked=True)`` →
    ``{"evaluation", "case", "window", "follow_up"}``: the case by ``case_no`` (same
    source system first, else the latest of any source) and the window/staff (the
    staff's name when the case's steps name that handler). Personal data masked unless
    ``masked=False``.
"""

from __future__ import annotations

import logging
from datetime import datetime, time

from sqlalchemy import Column, DateTime, Engine, Index, String, Table, Text, UniqueConstraint, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hub.core import clock
from hub.core.errors import NotFound
from hub.db.tables import LIBRARY, Id, metadata, outbox
from hub.ingest.store import EVENTS_EXCHANGE
from hub.model.calendar import default_calendar
from hub.model.masking import mask_name, mask_phone, mask_record

log = logging.getLogger("govhub.evaluations")

BAD = ("1", "2")  # 非常不满意, 不满意

evaluation_follow_up = Table(
    "evaluation_follow_up",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("eval_no", String(64), nullable=False, comment="评价编号"),
    Column("source_system", String(64), nullable=False),
    Column("case_no", String(64), nullable=True),
    Column("dept_code", String(64), nullable=True),
    Column("region_code", String(12), nullable=True),
    Column("window_no", String(32), nullable=True),
    Column("staff_id", String(64), nullable=True),
    Column("opened_at", DateTime(), nullable=False),
    Column("due_at", DateTime(), nullable=False, comment="end of the N-th working day, CST"),
    Column("closed_at", DateTime(), nullable=True),
    Column("closed_by", String(100), nullable=True),
    Column("note", Text(), nullable=True),
    Column("overdue_flagged_at", DateTime(), nullable=True),
    UniqueConstraint("source_system", "eval_no", name="uq_evaluation_follow_up_key"),
    Index("ix_evaluation_follow_up_open", "closed_at", "due_at"),
    comment="差评整改回访",
)

_FU = evaluation_follow_up


def _insert_ignore(engine: Engine):
    d = postgresql if engine.dialect.name == "postgresql" else sqlite
    return d.insert(_FU).on_conflict_do_nothing(index_elements=["source_system", "eval_no"])


def due_at(opened_at: datetime, days: int, calendar=None) -> datetime:
    """End of the ``days``-th working day after the day of ``opened_at``."""
    if calendar is None:
        calendar = default_calendar()
    return datetime.combine(calendar.add_workdays(opened_at.date(), days), time(23, 59, 59))


def open_follow_ups(engine: Engine, now: datetime | None = None, days: int = 5) -> dict:
    if days < 0:
        raise ValueError(f"days must be 0 or more, not {days}")
    now = now or clock.now()
    due = due_at(now, days)
    ev = LIBRARY["evaluation"]
    with engine.begin() as conn:
        bad = conn.execute(select(ev.c.eval_no, ev.c.source_system).where(ev.c.satisfaction.in_(BAD))).all()
        q = (
            select(
                ev.c.eval_no,
                ev.c.source_system,
                ev.c.case_no,
                ev.c.dept_code,
                ev.c.region_code,
                ev.c.window_no,
                ev.c.staff_id,
            )
            .select_from(
                ev.outerjoin(_FU, (_FU.c.eval_no == ev.c.eval_no) & (_FU.c.source_system == ev.c.source_system))
            )
            .where(ev.c.satisfaction.in_(BAD), _FU.c.id.is_(None))
            .order_by(ev.c.id)
        )
        rows = [dict(r._mapping, opened_at=now, due_at=due) for r in conn.execute(q)]
        opened = 0
        if rows:
            opened = len(conn.execute(_insert_ignore(engine).returning(_FU.c.id), rows).all())
    log.info("evaluation follow-ups: %d bad reviews, %d opened (due %s)", len(bad), opened, due)
    return {"bad_reviews": len(bad), "opened": opened, "already_open": len(bad) - opened, "due_at": due.isoformat(" ")}


def _one(conn, eval_no: str, source_system: str | None):
    q = select(_FU).where(_FU.c.eval_no == eval_no)
    if source_system:
        q = q.where(_FU.c.source_system == source_system)
    rows = conn.execute(q).mappings().all()
    if not rows:
        raise NotFound(f"no follow-up for evaluation {eval_no}")
    if len(rows) > 1:
        raise NotFound(
            f"evaluation {eval_no} has follow-ups from several systems; name the source system", reason="ambiguous"
        )
    return rows[0]


def close_follow_up(
    engine: Engine, eval_no: str, actor: str, note: str, source_system: str | None = None, now: datetime | None = None
) -> dict:
    if not actor:
        raise ValueError("closing a follow-up needs the actor")
    now = now or clock.now()
    with engine.begin() as conn:
        row = _one(conn, eval_no, source_system)
        if row["closed_at"] is not None:
            raise ValueError(
                f"the follow-up of evaluation {eval_no} was closed at {row['closed_at']} by {row['closed_by']}"
            )
        n = conn.execute(
            update(_FU)
            .where(_FU.c.id == row["id"], _FU.c.closed_at.is_(None))
            .values(closed_at=now, closed_by=actor, note=note)
        ).rowcount
        if n != 1:
            raise ValueError(f"the follow-up of evaluation {eval_no} was closed concurrently")
        out = dict(conn.execute(select(_FU).where(_FU.c.id == row["id"])).mappings().one())
    log.info("evaluation follow-up %s closed by %s", eval_no, actor)
    return out


def _event(r, now) -> dict:
    body = {"event": "evaluation.follow_up_overdue"}
    body.update(
        {k: r[k] for k in ("eval_no", "source_system", "case_no", "dept_code", "region_code", "window_no", "staff_id")}
    )
    body.update(opened_at=r["opened_at"].isoformat(" "), due_at=r["due_at"].isoformat(" "))
    return {
        "exchange": EVENTS_EXCHANGE,
        "routing_key": f"evaluation.{r['region_code'] or 'unknown'}.{r['source_system']}",
        "kind": "evaluation",
        "record_key": r["eval_no"],
        "event": "follow_up_overdue",
        "body": body,
        "created_at": now,
    }


def overdue(engine: Engine, now: datetime | None = None) -> list[dict]:
    now = now or clock.now()
    out: list[dict] = []
    with engine.begin() as conn:
        rows = (
            conn.execute(
                select(_FU).where(_FU.c.closed_at.is_(None), _FU.c.due_at < now).order_by(_FU.c.due_at, _FU.c.id)
            )
            .mappings()
            .all()
        )
        for r in rows:
            fresh = False
            if r["overdue_flagged_at"] is None:
                # the guard makes a concurrent run flag (and emit) at most once
                fresh = (
                    conn.execute(
                        update(_FU)
                        .where(_FU.c.id == r["id"], _FU.c.overdue_flagged_at.is_(None))
                        .values(overdue_flagged_at=now)
                    ).rowcount
                    == 1
                )
                if fresh:
                    conn.execute(insert(outbox), [_event(r, now)])
            item = dict(r, newly_flagged=fresh)
            if fresh:
                item["overdue_flagged_at"] = now
            out.append(item)
    log.info("evaluation follow-ups overdue: %d (%d newly flagged)", len(out), sum(i["newly_flagged"] for i in out))
    return out


def linked(engine: Engine, eval_no: str, source_system: str | None = None, masked: bool = True) -> dict:
    ev, case = LIBRARY["evaluation"], LIBRARY["case"]
    with engine.connect() as conn:
        q = select(ev).where(ev.c.eval_no == eval_no)
        if source_system:
            q = q.where(ev.c.source_system == source_system)
        evs = conn.execute(q).mappings().all()
        if not evs:
            raise NotFound(f"no evaluation {eval_no}")
        if len(evs) > 1:
            raise NotFound(
                f"evaluation {eval_no} came from several systems; name the source system", reason="ambiguous"
            )
        e = dict(evs[0])
        c = None
        if e["case_no"]:
            cases = (
                conn.execute(select(case).where(case.c.case_no == e["case_no"]).order_by(case.c.updated_at.desc()))
                .mappings()
                .all()
            )
            same = [x for x in cases if x["source_system"] == e["source_system"]]
            c = dict((same or cases)[0]) if cases else None
        fu = (
            conn.execute(select(_FU).where(_FU.c.eval_no == eval_no, _FU.c.source_system == e["source_system"]))
            .mappings()
            .first()
        )
    staff_name = None
    if c and e["staff_id"]:
        for step in c.get("steps") or ():
            if step.get("handler_id") == e["staff_id"] and step.get("handler_name"):
                staff_name = step["handler_name"]
    window = {
        "window_no": e["window_no"],
        "staff_id": e["staff_id"],
        "staff_name": staff_name,
        "dept_code": e["dept_code"],
        "channel": e["channel"],
    }
    if masked:
        if e.get("evaluator_name"):
            e["evaluator_name"] = mask_name(e["evaluator_name"])
        if e.get("evaluator_phone"):
            e["evaluator_phone"] = mask_phone(e["evaluator_phone"])
        if c:
            c = mask_record("case", c)
    return {"evaluation": e, "case": c, "window": window, "follow_up": dict(fu) if fu else None}
