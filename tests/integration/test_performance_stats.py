"""Performance statistics (绩效统计): the incremental figures equal a from-scratch
computation and plain SQL over the libraries, late corrections move the days they touch,
and the period query sums them (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from hub.db.tables import LIBRARY
from hub.domains.performance import query, refresh
from hub.domains.performance.tables import MEASURES, perf_case, perf_day
from synth.perf_cases import DEPTS, evaluation_row, put, random_cases, supervision_row

FIRST = date(2026, 9, 25)  # across 国庆/中秋 2026 and its swapped working days
NOW = datetime(2026, 11, 22, 10, 0)


def _snapshot(engine) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(select(perf_day)).mappings()
        return {
            tuple(str(r[k]) for k in ("day", "region_code", "dept_code", "item_code", "window_no", "handler_id")): {
                m: r[m] for m in MEASURES if r[m]
            }
            for r in rows
        }


def _sum(engine, measure: str, *where) -> dict:
    with engine.connect() as conn:
        q = select(perf_day.c.dept_code, perf_day.c.day, func.sum(perf_day.c[measure])).where(*where)
        q = q.group_by(perf_day.c.dept_code, perf_day.c.day).having(func.sum(perf_day.c[measure]) > 0)
        return {(d, str(day)[:10]): n for d, day, n in conn.execute(q)}


def _plain(engine, sql: str) -> dict:
    day = "date({col})" if engine.dialect.name == "sqlite" else "CAST({col} AS date)"
    with engine.connect() as conn:
        rows = conn.execute(text(sql.replace("DAY(", "(").format(day=day.format(col="{col}")).format(col="{col}")))
        return {(d, str(day)[:10]): n for d, day, n in rows}


def _plain_by_day(engine, table: str, col: str, where: str = "TRUE") -> dict:
    day = f"date({col})" if engine.dialect.name == "sqlite" else f"CAST({col} AS date)"
    where = where.replace("TRUE", "1=1")
    sql = f"SELECT dept_code, {day} AS d, count(*) FROM {table} WHERE {where} GROUP BY dept_code, {day}"
    with engine.connect() as conn:
        return {(d, str(day)[:10]): n for d, day, n in conn.execute(text(sql))}


def _library(engine, rng) -> None:
    with engine.begin() as conn:
        cases = random_cases(rng, FIRST, 25, 400, NOW)
        for i, c in enumerate(cases):  # changed over the last 400 minutes
            c["updated_at"] = NOW - timedelta(minutes=i)
        put(conn, "case", cases)
        put(
            conn,
            "evaluation",
            [
                evaluation_row(
                    i,
                    rng.choice(DEPTS),
                    datetime.combine(FIRST, datetime.min.time()) + timedelta(days=rng.randrange(25), hours=10),
                    rng.choice("12345"),
                    NOW,
                )
                for i in range(120)
            ],
        )
        put(
            conn,
            "supervision",
            [
                supervision_row(
                    i,
                    rng.choice(DEPTS),
                    datetime.combine(FIRST, datetime.min.time()) + timedelta(days=rng.randrange(25), hours=9),
                    rng.choice(["黄牌", "红牌", "超法定期限"]),
                    NOW,
                )
                for i in range(30)
            ],
        )


def _correct(engine, rng, now: datetime) -> None:
    """Late corrections: some cases finish on another day, some are withdrawn, new ones arrive."""
    t = LIBRARY["case"]
    with engine.begin() as conn:
        done = conn.execute(select(t.c.id, t.c.apply_time).where(t.c.status == "办结").order_by(t.c.id).limit(40)).all()
        ids = [i for i, _ in done]
        for i, applied in done[:30]:
            finish = applied + timedelta(days=rng.randint(1, 20))
            conn.execute(update(t).where(t.c.id == i).values(finish_time=finish, updated_at=now, version=2))
        for i in ids[30:]:
            conn.execute(update(t).where(t.c.id == i).values(result_type="撤回", updated_at=now, version=2))
        put(conn, "case", random_cases(rng, FIRST, 25, 50, now, start_no=10_000))


def test_incremental_equals_from_scratch_and_plain_sql(engine):
    rng = random.Random(14)
    _library(engine, rng)
    first = refresh.refresh(engine, now=NOW)
    assert first["cases"] == 400 and first["days"]
    later = NOW + timedelta(hours=1)
    _correct(engine, rng, later)
    second = refresh.refresh(engine, now=later)
    # the 30 + 10 corrected and 50 new, and those changed within refresh.GRACE before the first run
    assert 90 <= second["cases"] <= 90 + refresh.GRACE.seconds // 60
    incremental = _snapshot(engine)
    refresh.reset(engine)
    refresh.refresh(engine, now=later)
    assert _snapshot(engine) == incremental

    # received per department and day = that department's cases applied that day (plain SQL)
    assert _sum(engine, "received") == _plain_by_day(engine, "lib_case", "apply_time")
    assert _sum(engine, "finished") == _plain_by_day(
        engine, "lib_case", "finish_time", "status = '办结' AND result_type NOT IN ('撤回', '退件', '作废')"
    )
    assert _sum(engine, "withdrawn") == _plain_by_day(engine, "lib_case", "finish_time", "result_type = '撤回'")
    assert _sum(engine, "not_accepted") == _plain_by_day(engine, "lib_case", "apply_time", "status = '不予受理'")
    # on_time + overdue = finished cases that had a time limit
    limited = _plain_by_day(
        engine,
        "lib_case",
        "finish_time",
        "status = '办结' AND result_type NOT IN ('撤回', '退件', '作废') AND (promise_days IS NOT NULL OR legal_days IS NOT NULL)",
    )
    on_time, overdue = _sum(engine, "on_time"), _sum(engine, "overdue")
    assert {k: on_time.get(k, 0) + overdue.get(k, 0) for k in limited} == limited
    assert sum(overdue.values()) > 0 and sum(on_time.values()) > 0
    assert _sum(engine, "evaluations") == _plain_by_day(engine, "lib_evaluation", "eval_time")
    assert _sum(engine, "satisfied") == _plain_by_day(
        engine, "lib_evaluation", "eval_time", "satisfaction IN ('4', '5')"
    )
    assert _sum(engine, "red") == _plain_by_day(
        engine, "lib_supervision", "raised_time", "level IN ('红牌', '超法定期限')"
    )


def test_a_late_correction_moves_the_figures_between_days(engine):
    from synth.perf_cases import case_row

    apply = datetime(2026, 10, 9, 9, 0)  # a Friday after 国庆
    with engine.begin() as conn:
        put(
            conn,
            "case",
            [
                case_row(
                    1, DEPTS[0], apply, NOW, status="办结", result_type="准予", finish_time=datetime(2026, 10, 12, 15)
                )
            ],
        )
    refresh.refresh(engine, now=NOW)
    assert _sum(engine, "finished") == {(DEPTS[0], "2026-10-12"): 1}
    assert _sum(engine, "on_time") == {(DEPTS[0], "2026-10-12"): 1}
    t = LIBRARY["case"]
    with engine.begin() as conn:
        conn.execute(
            update(t).values(finish_time=datetime(2026, 10, 30, 15), updated_at=NOW + timedelta(days=20), version=2)
        )
    refresh.refresh(engine, now=NOW + timedelta(days=20))
    assert _sum(engine, "finished") == {(DEPTS[0], "2026-10-30"): 1}
    assert _sum(engine, "overdue") == {(DEPTS[0], "2026-10-30"): 1}
    assert _sum(engine, "received") == {(DEPTS[0], "2026-10-09"): 1}
    with engine.connect() as conn:
        # 9 Oct → 30 Oct 2026: 15 weekdays plus Saturday 10 Oct, a swapped working day (调休) after 国庆
        assert conn.execute(select(perf_case.c.working_days)).scalar_one() == 16


def test_figures_by_department_month_and_scope(engine):
    _library(engine, random.Random(3))
    refresh.refresh(engine, now=NOW)
    out = query.figures(engine, FIRST, FIRST + timedelta(days=40), every="month", by=["department"])
    assert {r["period"] for r in out["rows"]} == {"2026-09", "2026-10", "2026-11"} & {r["period"] for r in out["rows"]}
    total = out["totals"]
    assert total["received"] == 400 == sum(r["received"] for r in out["rows"])
    assert total["on_time"] + total["overdue"] == total["limited"]
    assert 0 < total["on_time_rate"] < 1 and total["avg_working_days"] > 0
    assert total["median_working_days"] is not None and total["p90_working_days"] >= total["median_working_days"]
    row = out["rows"][0]
    for key in (
        "dept_code",
        "received",
        "finished",
        "on_time",
        "overdue",
        "on_time_rate",
        "avg_working_days",
        "satisfaction_rate",
    ):
        assert key in row
    scoped = query.figures(engine, FIRST, FIRST + timedelta(days=40), region_prefix="320582")
    assert {r["dept_code"] for r in scoped["rows"]} == {DEPTS[1]}
    assert scoped["totals"]["received"] < total["received"]


def test_hall_tickets_waits_and_window_service(engine):
    from devices.store import device_event

    def ev(n: int, action: str, at: datetime, ticket: str, window: str | None = None) -> dict:
        return {
            "event_id": f"ev-{n}",
            "hall": "cs-hall",
            "kind": "queue",
            "action": action,
            "vendor": "v",
            "device_id": "q1",
            "ticket_no": ticket,
            "item_code": "ITEM001",
            "window_no": window,
            "occurred_at": at,
            "received_at": at,
            "body": {},
        }

    t0 = datetime(2026, 11, 20, 9, 0)
    events = [
        ev(1, "issued", t0, "A001"),
        ev(2, "called", t0 + timedelta(minutes=4), "A001", "W1"),
        ev(3, "served", t0 + timedelta(minutes=15), "A001", "W1"),
        ev(4, "issued", t0 + timedelta(minutes=1), "A002"),
        ev(5, "called", t0 + timedelta(minutes=11), "A002", "W1"),
        ev(6, "issued", t0 + timedelta(minutes=2), "A003"),  # never called
    ]
    with engine.begin() as conn:
        conn.execute(device_event.insert(), events)
    refresh.refresh(engine, now=NOW)
    out = query.figures(engine, date(2026, 11, 20), date(2026, 11, 20), every="day", by=["window"])
    t = out["totals"]
    assert (t["tickets"], t["wait_n"], t["served"]) == (3, 2, 1)
    assert t["avg_wait_seconds"] == pytest.approx(420.0, abs=1)  # (4 + 10) minutes / 2
    assert {r["window_no"]: r["served"] for r in out["rows"]} == {"W1": 1, "": 0}
    scoped = query.figures(engine, date(2026, 11, 20), date(2026, 11, 20), region_prefix="320581")
    assert scoped["totals"]["tickets"] == 3  # cs-hall is 常熟 (catalog/halls.yaml)


def test_bad_reviews_followed_up_in_time(engine):
    from hub.domains.evaluations import close_follow_up, open_follow_ups

    opened = datetime(2026, 11, 16, 9, 0)  # a Monday: due at the end of the 5th working day after
    with engine.begin() as conn:
        put(
            conn,
            "evaluation",
            [evaluation_row(i, DEPTS[0], opened - timedelta(hours=1), "1", opened) for i in range(3)],
        )
    assert open_follow_ups(engine, now=opened)["opened"] == 3
    refresh.refresh(engine, now=opened + timedelta(hours=1))
    assert _sum(engine, "follow_ups") == {(DEPTS[0], "2026-11-16"): 3}
    assert _sum(engine, "followed_in_time") == {}
    close_follow_up(engine, "E000000000", "admin", "回访完成", now=opened + timedelta(days=2))
    close_follow_up(engine, "E000000001", "admin", "回访完成", now=opened + timedelta(days=30))  # too late
    refresh.refresh(engine, now=opened + timedelta(days=31))
    assert _sum(engine, "followed_in_time") == {(DEPTS[0], "2026-11-16"): 1}
    totals = query.figures(engine, opened.date(), opened.date())["totals"]
    assert totals["bad_followed_in_time_rate"] == pytest.approx(1 / 3, abs=1e-4)
