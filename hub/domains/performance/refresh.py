"""Keeping ``perf_day`` current from what changed (the ``performance_stats`` DAG, every 15 minutes).

| step | what |
|---|---|
| cases | the library cases changed since the ``case`` watermark (``updated_at``, index ``ix_lib_case_updated``), in keyset batches: their facts (``facts.case_facts``) replace their ``perf_case`` rows; the days of the old row and of the new one are *affected* — a late correction that moves a case's finish from one day to another re-aggregates both |
| evaluations, supervision, 差评 follow-ups | the days of the rows changed (follow-ups: opened or closed) since their watermarks |
| hall | the days of the device events after the ``hall`` watermark (append-only, by id) |
| days | the affected days are aggregated again, set-based (``aggregate.rebuild_days``) |
| watermarks | advance to the latest change read, but never past ``now - GRACE``: a transaction that stamped its rows earlier and committed late is read by a later run (rows within the grace are read again, which is idempotent) |

Everything happens in one transaction: a failed run leaves the figures and watermarks as they were.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, true, update

from hub.core import clock
from hub.db.tables import LIBRARY
from hub.domains.performance.aggregate import day_of, rebuild_days
from hub.domains.performance.facts import case_facts
from hub.domains.performance.tables import CASE_MEASURES, perf_case, perf_day, perf_watermark
from hub.domains.timelimit import OfficialCalendar, default_calendar

GRACE = timedelta(minutes=5)
CASE_COLUMNS = (
    "id apply_time accept_time finish_time status result_type case_type channel region_code dept_code item_code "
    "promise_days promise_unit legal_days legal_unit steps special_procedures bundle_no updated_at"
).split()


def _watermarks(conn: Connection) -> dict[str, Any]:
    return {r.source: r for r in conn.execute(select(perf_watermark))}


def _set_watermark(conn: Connection, source: str, read_at: datetime | None, read_id: int | None, now: datetime) -> None:
    values = {"read_at": read_at, "read_id": read_id, "updated_at": now}
    if conn.execute(update(perf_watermark).where(perf_watermark.c.source == source).values(**values)).rowcount == 0:
        conn.execute(insert(perf_watermark).values(source=source, **values))


def _since(col: Any, mark: Any) -> Any:
    return True if mark is None or mark.read_at is None else col > mark.read_at


def _refresh_cases(conn: Connection, mark: Any, calendar: OfficialCalendar, now: datetime, batch: int) -> tuple:
    t = LIBRARY["case"]
    cols = [t.c[n] for n in CASE_COLUMNS]
    days: set[date] = set()
    cases, latest = 0, mark.read_at if mark is not None else None
    after: tuple[datetime, int] | None = None
    while True:
        q = select(*cols).where(_since(t.c.updated_at, mark)).order_by(t.c.updated_at, t.c.id).limit(batch)
        if after is not None:
            q = q.where(or_(t.c.updated_at > after[0], and_(t.c.updated_at == after[0], t.c.id > after[1])))
        rows = [r._asdict() for r in conn.execute(q)]
        if not rows:
            break
        after = (rows[-1]["updated_at"], rows[-1]["id"])
        latest = max(latest or after[0], after[0])
        ids = [r["id"] for r in rows]
        for old in conn.execute(
            select(perf_case.c.apply_day, perf_case.c.finish_day).where(perf_case.c.case_id.in_(ids))
        ):
            days.update(d for d in old if d is not None)
        conn.execute(delete(perf_case).where(perf_case.c.case_id.in_(ids)))
        facts = [f for f in (case_facts(r, calendar, now) for r in rows) if f is not None]
        if facts:
            conn.execute(insert(perf_case), [{m: 0 for m in CASE_MEASURES} | f for f in facts])
        days.update(d for f in facts for d in (f["apply_day"], f["finish_day"]) if d is not None)
        cases += len(rows)
    return cases, days, latest


def _changed_days(conn: Connection, kind: str, mark: Any, time_cols: Iterable[str]) -> tuple[set[date], Any]:
    t = LIBRARY[kind]
    since = _since(t.c.updated_at, mark)
    days: set[date] = set()
    for name in time_cols:
        d = day_of(conn, t.c[name])
        days.update(_as_date(v) for (v,) in conn.execute(select(d).where(since, t.c[name].is_not(None)).distinct()))
    latest = conn.execute(select(func.max(t.c.updated_at)).where(since)).scalar()
    return days, latest or (mark.read_at if mark is not None else None)


def _follow_up_days(conn: Connection, mark: Any) -> tuple[set[date], Any]:
    """Days of the 差评 follow-ups opened or closed since the watermark (they carry no updated_at)."""
    from hub.domains.evaluations import evaluation_follow_up as fu  # the 差评 follow-ups' table

    c = fu.c
    since = (
        true() if mark is None or mark.read_at is None else or_(c.opened_at > mark.read_at, c.closed_at > mark.read_at)
    )
    d = day_of(conn, c.opened_at)
    days = {_as_date(v) for (v,) in conn.execute(select(d).where(since).distinct())}
    opened, closed = conn.execute(select(func.max(c.opened_at), func.max(c.closed_at)).where(since)).one()
    latest = max((t for t in (opened, closed) if t is not None), default=None)
    return days, latest or (mark.read_at if mark is not None else None)


def _as_date(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


def _hall_days(conn: Connection, mark: Any) -> tuple[set[date], int | None]:
    from devices.store import device_event  # the device gateway's table (same metadata)

    after = mark.read_id if mark is not None and mark.read_id is not None else 0
    ev = device_event.c
    where = and_(ev.id > after, ev.kind == "queue")
    days = {_as_date(v) for (v,) in conn.execute(select(day_of(conn, ev.occurred_at)).where(where).distinct())}
    latest = conn.execute(select(func.max(ev.id)).where(ev.id > after)).scalar()
    return days, latest if latest is not None else (after or None)


def hall_regions() -> dict[str, str]:
    """Each hall's region (catalog/halls.yaml); none when the file cannot be read."""
    from devices.halls import halls  # the halls catalogue lives with the device gateway

    try:
        return {h.id: h.region_code for h in halls().values()}
    except Exception:  # noqa: BLE001 — a hall without a region counts under region ''
        return {}


def refresh(
    engine: Engine, now: datetime | None = None, calendar: OfficialCalendar | None = None, batch: int = 5000
) -> dict[str, Any]:
    """Bring ``perf_day`` up to date; returns what was read and which days were aggregated again."""
    now = now or clock.now().replace(microsecond=0)
    calendar = calendar or default_calendar()
    with engine.begin() as conn:
        marks = _watermarks(conn)
        cases, days, case_at = _refresh_cases(conn, marks.get("case"), calendar, now, batch)
        e_days, e_at = _changed_days(conn, "evaluation", marks.get("evaluation"), ("eval_time",))
        s_days, s_at = _changed_days(conn, "supervision", marks.get("supervision"), ("raised_time", "end_time"))
        f_days, f_at = _follow_up_days(conn, marks.get("follow_up"))
        h_days, h_id = _hall_days(conn, marks.get("hall"))
        affected = days | e_days | s_days | f_days | h_days
        rebuild_days(conn, affected, hall_regions())
        horizon = now - GRACE
        for source, at in (("case", case_at), ("evaluation", e_at), ("supervision", s_at), ("follow_up", f_at)):
            _set_watermark(conn, source, min(at, horizon) if at is not None else None, None, now)
        _set_watermark(conn, "hall", None, h_id, now)
    return {"cases": cases, "days": sorted(d.isoformat() for d in affected)}


def reset(engine: Engine) -> None:
    """Forget every figure and watermark: the next refresh computes everything from the libraries."""
    with engine.begin() as conn:
        for t in (perf_day, perf_case, perf_watermark):
            conn.execute(delete(t))
