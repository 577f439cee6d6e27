"""Re-aggregating days of ``perf_day``, set-based: one ``DELETE`` for the days, then one
``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`` per source, so a day costs a few
statements whatever the number of cases in it, and nothing outside the days is read.

| source | day | dimensions | measures |
|---|---|---|---|
| ``perf_case`` (application) | ``apply_day`` | region, dept, item, handler | received, accepted, not_accepted, immediate, online, express |
| ``perf_case`` (finish) | ``finish_day`` | region, dept, item, handler | finished … bundles |
| ``lib_evaluation`` | ``eval_time`` | region, dept, item, window, staff | evaluations, satisfied (4, 5), bad (1, 2) |
| ``evaluation_follow_up`` | ``opened_at`` | region, dept, window, staff | follow_ups, followed_in_time (closed by ``due_at``) |
| ``lib_supervision`` | ``raised_time`` / ``end_time`` | region, dept, item | yellow (黄牌), red (红牌, 超法定期限), supervised / supervised_closed (已办结) |
| ``device_event`` (queue) | ``occurred_at`` | hall's region, window | tickets (issued), wait (issued → called, same hall, ticket and day), served |
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Date, and_, case, cast, delete, func, literal, or_, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement, Select

from hub.db.tables import LIBRARY
from hub.domains.performance.tables import APPLY_MEASURES, FINISH_MEASURES, perf_case, perf_day

_KEY = ["day", "region_code", "dept_code", "item_code", "window_no", "handler_id"]


def day_of(conn: Connection, col: Any) -> ColumnElement[Any]:
    """The CST date of a naive timestamp column, in the connection's dialect."""
    if conn.dialect.name == "sqlite":
        return type_coerce(func.date(col), Date)
    return cast(col, Date)


def _seconds(conn: Connection, later: Any, earlier: Any) -> ColumnElement[Any]:
    if conn.dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400
    return func.extract("epoch", later - earlier)


def _in_days(col: Any, days: Sequence[date]) -> ColumnElement[bool]:
    """``col`` (a timestamp) falls on one of ``days``: ranges, so an index on ``col`` is usable."""
    return or_(
        *(and_(col >= datetime.combine(d, time()), col < datetime.combine(d + timedelta(days=1), time())) for d in days)
    )


def _c(v: Any) -> Any:
    return func.coalesce(v, "")


def _upsert(conn: Connection, query: Select[Any], measures: Sequence[str]) -> None:
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(perf_day)
    stmt = ins.from_select(_KEY + list(measures), query)
    stmt = stmt.on_conflict_do_update(index_elements=_KEY, set_={m: getattr(stmt.excluded, m) for m in measures})
    conn.execute(stmt)


def _cases(conn: Connection, days: Sequence[date], day_col: Any, measures: Sequence[str]) -> None:
    pc = perf_case.c
    dims = [pc.region_code, pc.dept_code, pc.item_code, literal("").label("window_no"), pc.handler_id]
    q = (
        select(day_col, *dims, *(func.sum(pc[m]).label(m) for m in measures))
        .where(day_col.in_(days))
        .group_by(day_col, pc.region_code, pc.dept_code, pc.item_code, pc.handler_id)
    )
    _upsert(conn, q, measures)


def _evaluations(conn: Connection, days: Sequence[date]) -> None:
    e = LIBRARY["evaluation"].c
    d = day_of(conn, e.eval_time)
    dims = [_c(e.region_code), _c(e.dept_code), _c(e.item_code), _c(e.window_no), _c(e.staff_id)]
    q = (
        select(
            d,
            *dims,
            func.count().label("evaluations"),
            func.sum(case((e.satisfaction.in_(("4", "5")), 1), else_=0)),
            func.sum(case((e.satisfaction.in_(("1", "2")), 1), else_=0)),
        )
        .where(_in_days(e.eval_time, days))
        .group_by(d, *dims)
    )
    _upsert(conn, q, ("evaluations", "satisfied", "bad"))


def _follow_ups(conn: Connection, days: Sequence[date]) -> None:
    from hub.domains.evaluations import evaluation_follow_up as fu  # the 差评 follow-ups' table

    c = fu.c
    d = day_of(conn, c.opened_at)
    dims = [_c(c.region_code), _c(c.dept_code), literal(""), _c(c.window_no), _c(c.staff_id)]
    in_time = case((and_(c.closed_at.is_not(None), c.closed_at <= c.due_at), 1), else_=0)
    q = (
        select(d, *dims, func.count(), func.sum(in_time))
        .where(_in_days(c.opened_at, days))
        .group_by(d, dims[0], dims[1], dims[3], dims[4])
    )
    _upsert(conn, q, ("follow_ups", "followed_in_time"))


def _supervision(conn: Connection, days: Sequence[date]) -> None:
    s = LIBRARY["supervision"].c
    dims = [_c(s.region_code), _c(s.dept_code), _c(s.item_code), literal(""), literal("")]
    raised = day_of(conn, s.raised_time)
    q = (
        select(
            raised,
            *dims,
            func.sum(case((s.level == "黄牌", 1), else_=0)),
            func.sum(case((s.level.in_(("红牌", "超法定期限")), 1), else_=0)),
            func.count(),
        )
        .where(_in_days(s.raised_time, days))
        .group_by(raised, *dims[:3])
    )
    _upsert(conn, q, ("yellow", "red", "supervised"))
    ended = day_of(conn, s.end_time)
    q = (
        select(ended, *dims, func.count())
        .where(_in_days(s.end_time, days), s.status == "已办结")
        .group_by(ended, *dims[:3])
    )
    _upsert(conn, q, ("supervised_closed",))


def _hall(conn: Connection, days: Sequence[date], hall_regions: dict[str, str]) -> None:
    from devices.store import device_event  # the device gateway's table (same metadata)

    ev = device_event.c
    d = day_of(conn, ev.occurred_at)
    region = case(*((ev.hall == h, r) for h, r in hall_regions.items()), else_="") if hall_regions else literal("")
    queue = and_(ev.kind == "queue", _in_days(ev.occurred_at, days))
    called = device_event.alias("called")
    wait = _seconds(conn, called.c.occurred_at, ev.occurred_at)
    window = _c(called.c.window_no)
    q = (
        select(
            d,
            region,
            literal(""),
            literal(""),
            window,
            literal(""),
            func.count(),
            func.coalesce(func.sum(wait), 0),
            func.count(called.c.id),
        )
        .select_from(
            device_event.outerjoin(
                called,
                and_(
                    called.c.kind == "queue",
                    called.c.action == "called",
                    called.c.hall == ev.hall,
                    called.c.ticket_no == ev.ticket_no,
                    day_of(conn, called.c.occurred_at) == d,
                ),
            )
        )
        .where(queue, ev.action == "issued")
        .group_by(d, region, window)
    )
    _upsert(conn, q, ("tickets", "wait_sum_s", "wait_n"))
    window = _c(ev.window_no)
    q = (
        select(d, region, literal(""), literal(""), window, literal(""), func.count())
        .where(queue, ev.action == "served")
        .group_by(d, region, window)
    )
    _upsert(conn, q, ("served",))


def rebuild_days(conn: Connection, days: Iterable[date], hall_regions: dict[str, str], chunk: int = 31) -> int:
    """Delete and aggregate again ``days`` of ``perf_day``; returns the number of days."""
    todo = sorted(set(days))
    for i in range(0, len(todo), chunk):
        part = todo[i : i + chunk]
        conn.execute(delete(perf_day).where(perf_day.c.day.in_(part)))
        _cases(conn, part, perf_case.c.apply_day, APPLY_MEASURES)
        _cases(conn, part, perf_case.c.finish_day, FINISH_MEASURES)
        _evaluations(conn, part)
        _follow_ups(conn, part)
        _supervision(conn, part)
        _hall(conn, part, hall_regions)
    return len(todo)
