"""The expectation-suite results of the data-quality report (数据质量报告): the
``quality_run`` rows of the period per scope, source, kind and suite, and the failed
expectations of the latest failed runs with their example values masked."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import and_, case, false, func, or_, select

from hub.model.masking import mask_record, mask_text
from hub.quality.models import quality_run
from hub.quality.report_counts import _kind_label, _where, _within
from hub.quality.report_defects import EXAMPLES, _clip

SUITE_FAILED_RUNS = 20  # failed runs per suite whose expectations are summarised


def _mask_value(kind: str, column: str | None, value) -> str:
    """A suite's example value, masked by the field's personal-data tag and by pattern."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if column:
        text = str(mask_record(kind, {column: text}).get(column, ""))
    return _clip(mask_text(text))


def _suites(conn, sources, day_from: date, day_to: date, start: datetime, end: datetime, names: dict) -> dict:
    """Expectation-suite runs in the period, per scope, source, kind and suite; the
    failed expectations of the latest failed runs, with masked examples."""
    r = quality_run.c
    in_period = or_(
        and_(r.scope == "daily", r.day >= day_from, r.day <= day_to),
        and_(r.scope != "daily", r.run_at >= start, r.run_at < end),
    )
    group = (r.scope, r.source_system, r.kind, r.suite)
    failed = case((r.success == false(), 1), else_=0)
    summary = conn.execute(
        _where(
            select(*group, func.count(), func.sum(failed), func.sum(r.rows), func.max(r.run_at)).group_by(*group),
            in_period,
            _within(r.source_system, sources),
        )
    ).all()
    last, expectations = _failed_expectations(_picked_runs(conn, sources, group, in_period))
    out = [_suite_summary(row, last, expectations, names) for row in summary]
    out.sort(key=lambda s: (s["failed_runs"] == 0, s["system"], s["kind"], s["scope"], s["suite"]))
    return {"runs": sum(s["runs"] for s in out), "failed_runs": sum(s["failed_runs"] for s in out), "suites": out}


def _picked_runs(conn, sources, group: tuple, in_period) -> list:
    """The latest run of each suite, and its latest ``SUITE_FAILED_RUNS`` failed runs, newest first."""
    r = quality_run.c
    latest = func.row_number().over(partition_by=group, order_by=(r.run_at.desc(), r.id.desc())).label("latest")
    failed_rank = (
        func.row_number()
        .over(partition_by=(*group, r.success), order_by=(r.run_at.desc(), r.id.desc()))
        .label("failed_rank")
    )
    inner = _where(
        select(*group, r.success, r.run_at, r.suite_version, r.results, latest, failed_rank),
        in_period,
        _within(r.source_system, sources),
    ).subquery()
    return (
        conn.execute(
            select(inner)
            .where(or_(inner.c.latest == 1, and_(inner.c.success == false(), inner.c.failed_rank <= SUITE_FAILED_RUNS)))
            .order_by(inner.c.run_at.desc())
        )
        .mappings()
        .all()
    )


def _failed_expectations(picked: list) -> tuple[dict[tuple, dict], dict[tuple, dict]]:
    """Per suite: its latest run, and its failed expectations summed over the failed runs."""
    last: dict[tuple, dict] = {}
    expectations: dict[tuple, dict] = defaultdict(dict)
    for p in picked:
        key = (p["scope"], p["source_system"], p["kind"], p["suite"])
        if p["latest"] == 1:
            last[key] = p
        if p["success"]:
            continue
        for e in p["results"] or []:
            if not isinstance(e, dict) or e.get("success", True):
                continue
            _add_failure(expectations[key], p["kind"], e)
    return last, expectations


def _add_failure(found: dict, kind: str, e: dict) -> None:
    """Count one failed expectation of a run into the suite's summary, with masked examples."""
    name = str(e.get("expectation") or e.get("rule") or "?")
    col = e.get("column")
    x = found.setdefault(
        (name, col),
        {
            "expectation": name,
            "rule": e.get("rule"),
            "column": col,
            "label_zh": e.get("label_zh") or name,
            "failed_runs": 0,
            "unexpected_count": 0,
            "element_count": 0,
            "examples": [],
        },
    )
    x["failed_runs"] += 1
    x["unexpected_count"] += int(e.get("unexpected_count") or 0)
    x["element_count"] += int(e.get("element_count") or 0)
    for v in e.get("examples") or []:
        masked = _mask_value(kind, col, v)
        if len(x["examples"]) < EXAMPLES and masked not in x["examples"]:
            x["examples"].append(masked)


def _suite_summary(row, last: dict[tuple, dict], expectations: dict[tuple, dict], names: dict) -> dict:
    """One suite's line of the report."""
    scope, system, kind, suite, runs, n_failed, n_rows, last_at = row
    key = (scope, system, kind, suite)
    lr = last.get(key)
    return {
        "scope": scope,
        "system": system,
        "system_name": names.get(system, system),
        "kind": kind,
        "kind_label": _kind_label(kind),
        "suite": suite,
        "suite_version": lr["suite_version"] if lr else None,
        "runs": int(runs),
        "failed_runs": int(n_failed or 0),
        "rows": int(n_rows or 0),
        "last_run_at": last_at.isoformat(sep=" ", timespec="seconds") if last_at else None,
        "last_success": bool(lr["success"]) if lr else None,
        "failed_expectations": sorted(
            expectations[key].values(),
            key=lambda x: (-x["failed_runs"], -x["unexpected_count"], x["expectation"]),
        ),
    }
