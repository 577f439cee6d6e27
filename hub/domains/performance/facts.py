"""One case's performance facts (``perf_case``): what the day sums count for it.

| fact | rule |
|---|---|
| day of application | ``apply_time``'s date (CST); received, accepted, not accepted, 即办件, channel count there |
| accepted / not accepted | ``accept_time`` set and status not 不予受理 / status 不予受理 |
| finish day | ``finish_time``'s date; finished (status 办结, result not 撤回/退件/作废) and withdrawn (撤回/退件/作废) count there |
| time limit | finished cases with a promised or legal limit, judged by the time-limit engine (``hub.domains.timelimit``) on the official working-day calendar (调休 included), special procedures excluded: on time, overdue (past the promised deadline), past the legal one (a subset of overdue), early (finished before the promised deadline's day) |
| working days | the engine's elapsed clock days (pauses excluded) for a case with a limit; otherwise working days from acceptance to finish |
| 提速率 | cases whose promised and legal limits are both in working days: their limits and actual working days |
| handler | the staff number (工号) of the 受理 step (else the first step's); never a name |
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.domains.timelimit import OfficialCalendar, TimeLimitError, compute_deadlines
from hub.domains.timelimit.engine import WORKING, to_cst

CLOSED_RESULTS = frozenset({"撤回", "退件", "作废"})


def _handler(steps: list[dict] | None) -> str:
    steps = [s for s in steps or () if isinstance(s, dict)]
    for s in steps:
        if s.get("action") == "受理" and s.get("handler_id"):
            return str(s["handler_id"])[:64]
    first = next((s for s in steps if s.get("handler_id")), None)
    return str(first["handler_id"])[:64] if first else ""


def _limit_facts(case: dict, finish: datetime, calendar: OfficialCalendar) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        d = compute_deadlines(case, now=finish, calendar=calendar)
    except (TimeLimitError, ValueError, TypeError):
        start = case.get("accept_time") or case.get("apply_time")
        if start is not None:
            out["working_days"] = calendar.workdays_between(to_cst(start).date(), finish.date())
        return out
    state = d.state()
    out.update(
        limited=1,
        on_time=int(state == "on_time"),
        overdue=int(state in ("overdue", "past_legal")),
        past_legal=int(state == "past_legal"),
        early=int(state == "on_time" and finish.date() < d.promised_deadline.date()),
        working_days=d.elapsed_days,
    )
    if d.promised_unit == WORKING and d.legal_unit == WORKING and d.legal_days:
        out.update(speed_n=1, promised_sum=d.promised_days, legal_sum=d.legal_days, actual_sum=d.elapsed_days)
    return out


def case_facts(case: dict, calendar: OfficialCalendar, computed_at: datetime) -> dict[str, Any] | None:
    """The ``perf_case`` row of a library case (``case`` has ``id`` and the canonical fields);
    None for a case without an application time (nothing to count it on)."""
    if not case.get("apply_time"):
        return None
    apply = to_cst(case["apply_time"])
    status, result = case.get("status"), case.get("result_type")
    row: dict[str, Any] = {
        "case_id": case["id"],
        "apply_day": apply.date(),
        "finish_day": None,
        "region_code": case.get("region_code") or "",
        "dept_code": case.get("dept_code") or "",
        "item_code": case.get("item_code") or "",
        "handler_id": _handler(case.get("steps")),
        "working_days": None,
        "received": 1,
        "accepted": int(bool(case.get("accept_time")) and status != "不予受理"),
        "not_accepted": int(status == "不予受理"),
        "immediate": int(case.get("case_type") == "即办件"),
        "online": int(case.get("channel") == "2"),
        "express": int(case.get("channel") == "3"),
        "computed_at": computed_at,
    }
    if case.get("finish_time"):
        finish = to_cst(case["finish_time"])
        row["finish_day"] = finish.date()
        withdrawn = result in CLOSED_RESULTS or status in ("退件", "作废")
        row["withdrawn"] = int(withdrawn)
        if status == "办结" and not withdrawn:
            row.update(
                finished=1,
                steps=len(case.get("steps") or ()),
                special=int(bool(case.get("special_procedures"))),
                bundles=int(bool(case.get("bundle_no"))),
            )
            row.update(_limit_facts(case, finish, calendar))
            if row.get("working_days") is not None:
                row.update(wd_sum=row["working_days"], wd_n=1)
    return row
