"""Library rows for the performance statistics (tests, bench): cases, evaluations and
supervision records written straight into the libraries (as the store leaves them),
so a test controls every time, status and limit."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert

from hub.db.tables import LIBRARY

DEPTS = ("11320581MB0000001A", "11320582MB0000002B", "11320585MB0000003C")
REGIONS = {"11320581MB0000001A": "320581", "11320582MB0000002B": "320582", "11320585MB0000003C": "320585"}


def _book(now: datetime, n: int) -> dict[str, Any]:
    return {
        "source_system": "cs-approval",
        "version": 1,
        "payload_hash": f"{n:032x}",
        "received_at": now,
        "updated_at": now,
    }


def case_row(n: int, dept: str, apply: datetime, now: datetime, **fields: Any) -> dict[str, Any]:
    row = _book(now, n) | {
        "case_no": f"C{n:09d}",
        "item_code": f"ITEM{n % 7:03d}",
        "dept_code": dept,
        "dept_name": "部门",
        "region_code": REGIONS.get(dept, "320581"),
        "case_type": "承诺件",
        "applicant_type": "1",
        "applicant_name": "张三",
        "applicant_id_type": "111",
        "applicant_id_no": "320581199001011234",
        "apply_time": apply,
        "accept_time": apply + timedelta(hours=1),
        "status": "受理",
        "promise_days": 5,
        "promise_unit": "工作日",
        "legal_days": 20,
        "legal_unit": "工作日",
        "channel": "1",
        "steps": [
            {
                "seq": 1,
                "step_name": "受理",
                "action": "受理",
                "handler_id": f"S{n % 5:03d}",
                "start_time": apply.isoformat(),
            }
        ],
        "special_procedures": [],
    }
    return row | fields


def random_cases(rng: random.Random, first: date, days: int, n: int, now: datetime, start_no: int = 0) -> list[dict]:
    rows = []
    for i in range(start_no, start_no + n):
        apply = datetime.combine(first + timedelta(days=rng.randrange(days)), datetime.min.time()) + timedelta(
            hours=rng.randint(8, 17), minutes=rng.randrange(60)
        )
        extra: dict[str, Any] = {"channel": rng.choice("1223"), "case_type": rng.choice(["即办件", "承诺件", "承诺件"])}
        roll = rng.random()
        if roll < 0.6:
            extra |= {
                "status": "办结",
                "result_type": "准予",
                "finish_time": apply + timedelta(days=rng.randint(0, 12), hours=2),
            }
        elif roll < 0.65:
            extra |= {"status": "办结", "result_type": "撤回", "finish_time": apply + timedelta(days=1)}
        elif roll < 0.72:
            extra |= {"status": "不予受理", "accept_time": None}
        if rng.random() < 0.1:
            extra["promise_days"] = None
            extra["legal_days"] = None if rng.random() < 0.5 else 10
        if rng.random() < 0.1:
            s = apply + timedelta(days=1)
            extra["special_procedures"] = [
                {"seq": 1, "kind": "补正", "start_time": s.isoformat(), "end_time": (s + timedelta(days=3)).isoformat()}
            ]
        rows.append(case_row(i, rng.choice(DEPTS), apply, now, **extra))
    return rows


def evaluation_row(n: int, dept: str, at: datetime, satisfaction: str, now: datetime, **fields: Any) -> dict:
    return (
        _book(now, n)
        | {
            "eval_no": f"E{n:09d}",
            "region_code": REGIONS.get(dept, "320581"),
            "dept_code": dept,
            "item_code": f"ITEM{n % 7:03d}",
            "user_type": "1",
            "channel": "4",
            "satisfaction": satisfaction,
            "eval_time": at,
            "window_no": f"W{n % 3}",
            "staff_id": f"S{n % 5:03d}",
        }
        | fields
    )


def supervision_row(n: int, dept: str, at: datetime, level: str, now: datetime, **fields: Any) -> dict:
    return (
        _book(now, n)
        | {
            "supervision_no": f"D{n:09d}",
            "dept_code": dept,
            "dept_name": "部门",
            "region_code": REGIONS.get(dept, "320581"),
            "item_code": f"ITEM{n % 7:03d}",
            "rule_type": "时限",
            "level": level,
            "raised_time": at,
            "status": "发起",
        }
        | fields
    )


def put(conn: Connection, kind: str, rows: list[dict]) -> None:
    """Insert ``rows`` (an executemany needs one set of keys: missing ones are NULL)."""
    keys = sorted({k for r in rows for k in r})
    if rows:
        conn.execute(insert(LIBRARY[kind]), [{k: r.get(k) for k in keys} for r in rows])
