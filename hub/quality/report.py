"""The data-quality report administrators read (数据质量报告): per source system and
message kind, what arrived and how much of it passed; defects by reason with masked
examples; a daily trend; the worst-offending sources; the expectation-suite results.

Where each number comes from:

- cumulative per source/kind counts: ``hub.ops.stats.counts`` — the very function behind
  ``govhub stats``, so the two cannot disagree;
- the period (``days`` days up to ``day_to``, China Standard Time): ``lineage``, one row
  per received record with its ``received_at``; the lineage totals are also compared
  with the running counters (``consistency``), which catches a writer that bypassed one;
- defects: ``quarantine`` (reason, rule, field, masked message, status);
- suite results: ``quality_run`` (Great Expectations suites, batch and daily scope).

``build`` returns a JSON-ready dict (shape: ``schemas/report/quality_report.schema.json``);
``render_html`` (``hub.quality.report_html``) turns it into one self-contained page.
Nothing personal leaves here unmasked: messages and examples pass through
``hub.model.masking`` again even though their writers mask them, and payloads are never read.

合格率 (pass rate) = stored / (stored + quarantined): a duplicate is a re-delivery of a
record already judged, so it counts neither for nor against a source.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Collection
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Engine, and_, case, false, func, or_, select

from hub.core import clock
from hub.ops import stats
from hub.model.dictionary import kinds
from hub.model.masking import mask_record, mask_text
from hub.db.tables import lineage, quarantine
from hub.quality.models import quality_run
from hub.quality.reasons import label as reason_label

REPORT_VERSION = 1
DEFAULT_DAYS = 30
MIN_VOLUME = 20  # a source needs this many judged records in the period to rank as a worst offender
WORST = 5
EXAMPLES = 3
SUITE_FAILED_RUNS = 20  # failed runs per suite whose expectations are summarised
EXAMPLE_CHARS = 160
OUTCOMES = stats.OUTCOMES
RESOLVED = ("retried", "rejected")


def pass_rate(stored: int, quarantined: int) -> float | None:
    judged = stored + quarantined
    return round(stored / judged, 4) if judged else None


def _system_names() -> dict[str, str]:
    from hub.catalog.systems import CatalogError, systems

    try:
        return {s.id: s.name for s in systems().values()}
    except CatalogError:  # a broken catalogue must not take the report down with it
        return {}


def _kind_label(kind: str) -> str:
    k = kinds().get(kind)
    return k.label if k else kind


def _within(col, sources: Collection[str] | None):
    return col.in_(sorted(sources)) if sources is not None else None


def _where(q, *conds):
    return q.where(*[c for c in conds if c is not None])


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS - 1] + "…"


def _mask_value(kind: str, column: str | None, value) -> str:
    """A suite's example value, masked by the field's personal-data tag and by pattern."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if column:
        text = str(mask_record(kind, {column: text}).get(column, ""))
    return _clip(mask_text(text))


def build(engine: Engine, day_to: date | None = None, days: int = DEFAULT_DAYS,
          sources: Collection[str] | None = None, min_volume: int = MIN_VOLUME) -> dict:
    """The report for the ``days`` days ending with ``day_to`` (default: today, CST).
    ``sources`` limits it to those source systems (the API scopes a caller this way)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    generated = clock.now().replace(microsecond=0, tzinfo=clock.CST)
    day_to = day_to or generated.date()
    day_from = day_to - timedelta(days=days - 1)
    start, end = datetime.combine(day_from, time()), datetime.combine(day_to + timedelta(days=1), time())
    sources = set(sources) if sources is not None else None
    names = _system_names()

    with _snapshot(engine) as conn:
        counted = stats.counts(conn)
        seen = _lineage_totals(conn, sources, start, end)
        trend = _trend(conn, sources, start, end, day_from, days)
        qagg = _quarantine_groups(conn, sources, start, end)
        examples = _examples(conn, sources)
        suites = _suites(conn, sources, day_from, day_to, start, end, names)
    rows = [s for s in counted["sources"] if sources is None or s["system"] in sources]

    status_by_source: dict[tuple, Counter] = defaultdict(Counter)
    for g in qagg:
        status_by_source[(g["system"], g["kind"])][g["status"]] += g["n"]

    def status_split(c: Counter) -> dict:
        return {"open": c["open"], "resolved": sum(n for s, n in c.items() if s != "open"),
                **{s: c[s] for s in RESOLVED}}

    out_sources = []
    for s in rows:
        key = (s["system"], s["kind"])
        period = seen["period"].get(key, Counter())
        out_sources.append({
            "system": s["system"], "system_name": names.get(s["system"], s["system"]),
            "kind": s["kind"], "kind_label": _kind_label(s["kind"]),
            **{k: s[k] for k in ("received", *OUTCOMES)},
            "pass_rate": pass_rate(s["stored"], s["quarantined"]),
            "quarantine_status": status_split(status_by_source[key]),
            "period": _counts(period),
        })

    total = {k: sum(s[k] for s in out_sources) for k in ("received", *OUTCOMES)}
    period_total = _counts(sum((seen["period"][k] for k in seen["period"]), Counter()))
    all_status = sum(status_by_source.values(), Counter())
    report = {
        "report": "govhub.quality",
        "version": REPORT_VERSION,
        "generated_at": generated.isoformat(),
        "period": {"from": day_from.isoformat(), "to": day_to.isoformat(), "days": days},
        "scope": {"sources": sorted(sources) if sources is not None else None},
        "totals": {**total, "pass_rate": pass_rate(total["stored"], total["quarantined"]),
                   "quarantine_status": status_split(all_status), "period": period_total},
        "sources": out_sources,
        "systems": _roll_up(out_sources, "system", lambda s: {"system_name": s["system_name"]}),
        "kinds": _roll_up(out_sources, "kind", lambda s: {"kind_label": s["kind_label"]}),
        "defects": _defects(qagg, examples, names),
        "trend": trend,
        "worst_sources": _worst(seen["period"], qagg, names, min_volume),
        "worst_min_volume": min_volume,
        "suites": suites,
        "consistency": _consistency(rows, seen["all"]),
    }
    return report


@contextmanager
def _snapshot(engine: Engine):
    """One read snapshot for every query, so records committed while the report is
    gathered cannot make the counters and the lineage disagree."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            yield conn
        return
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # pysqlite opens no transaction for reads; without one each query sees the latest commit
            conn.exec_driver_sql("BEGIN")
        yield conn


def _counts(c: Counter) -> dict:
    d = {o: int(c[o]) for o in OUTCOMES}
    return {"received": sum(d.values()), **d, "pass_rate": pass_rate(d["stored"], d["quarantined"])}


def _lineage_totals(conn, sources, start: datetime, end: datetime) -> dict:
    """One pass over lineage: all-time and in-period counts per source, kind, outcome."""
    in_period = case((and_(lineage.c.received_at >= start, lineage.c.received_at < end), 1), else_=0)
    q = _where(select(lineage.c.source_system, lineage.c.kind, lineage.c.outcome, func.count(), func.sum(in_period))
               .group_by(lineage.c.source_system, lineage.c.kind, lineage.c.outcome),
               _within(lineage.c.source_system, sources))
    every: dict[tuple, Counter] = defaultdict(Counter)
    period: dict[tuple, Counter] = defaultdict(Counter)
    for system, kind, outcome, n, p in conn.execute(q):
        every[(system, kind)][outcome] += int(n)
        if p:
            period[(system, kind)][outcome] += int(p)
    return {"all": every, "period": period}


def _trend(conn, sources, start: datetime, end: datetime, day_from: date, days: int) -> list[dict]:
    day = func.date(lineage.c.received_at)  # SQLite answers text, PostgreSQL a date: both print as YYYY-MM-DD
    q = _where(select(day, lineage.c.outcome, func.count()).group_by(day, lineage.c.outcome),
               lineage.c.received_at >= start, lineage.c.received_at < end, _within(lineage.c.source_system, sources))
    per: dict[str, Counter] = defaultdict(Counter)
    for d, outcome, n in conn.execute(q):
        per[str(d)[:10]][outcome] += int(n)
    out = []
    for i in range(days):
        d = (day_from + timedelta(days=i)).isoformat()
        out.append({"day": d, **_counts(per.get(d, Counter()))})
    return out


def _quarantine_groups(conn, sources, start: datetime, end: datetime) -> list[dict]:
    """Quarantine counts per reason, source, kind, status, rule and field (one pass)."""
    q = quarantine.c
    in_period = case((and_(q.received_at >= start, q.received_at < end), 1), else_=0)
    cols = (q.reason, q.source_system, q.kind, q.status, q.rule, q.field)
    stmt = _where(select(*cols, func.count(), func.sum(in_period)).group_by(*cols), _within(q.source_system, sources))
    return [{"reason": r, "system": s, "kind": k, "status": st or "open", "rule": rule, "field": f,
             "n": int(n), "period": int(p or 0)} for r, s, k, st, rule, f, n, p in conn.execute(stmt)]


def _examples(conn, sources) -> dict[str, list[dict]]:
    """The latest few quarantined records per reason and source, masked."""
    q = quarantine.c
    rn = func.row_number().over(partition_by=(q.reason, q.source_system), order_by=q.id.desc()).label("rn")
    inner = _where(select(q.id, q.reason, q.source_system, q.kind, q.field, q.rule, q.message, q.received_at,
                          q.status, rn), _within(q.source_system, sources)).subquery()
    rows = conn.execute(select(inner).where(inner.c.rn <= EXAMPLES).order_by(inner.c.reason, inner.c.rn,
                                                                            inner.c.id.desc())).mappings()
    out: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        # ordered by rank first, so the first examples of a reason come from different sources
        if len(out[r["reason"]]) < EXAMPLES:
            out[r["reason"]].append({
                "quarantine_id": int(r["id"]), "system": r["source_system"], "kind": r["kind"],
                "field": r["field"], "rule": r["rule"], "message": _clip(mask_text(r["message"])),
                "received_at": r["received_at"].isoformat(sep=" ", timespec="seconds"), "status": r["status"] or "open",
            })
    return out


def _top(counter: Counter, key: str, extra=None) -> list[dict]:
    return [{key: k, "count": n, **(extra(k) if extra else {})} for k, n in counter.most_common()]


def _defects(groups: list[dict], examples: dict, names: dict) -> list[dict]:
    by: dict[str, dict] = {}
    for g in groups:
        d = by.setdefault(g["reason"], {"count": 0, "period_count": 0, "status": Counter(), "rules": Counter(),
                                        "fields": Counter(), "systems": Counter()})
        d["count"] += g["n"]
        d["period_count"] += g["period"]
        d["status"][g["status"]] += g["n"]
        d["rules"][g["rule"]] += g["n"]
        if g["field"]:
            d["fields"][g["field"]] += g["n"]
        d["systems"][g["system"]] += g["n"]
    out = []
    for reason, d in by.items():
        out.append({
            "reason": reason, "label_zh": reason_label(reason), "count": d["count"], "period_count": d["period_count"],
            "open": d["status"]["open"], "resolved": d["count"] - d["status"]["open"],
            "rules": _top(d["rules"], "rule"), "fields": _top(d["fields"], "field")[:5],
            "systems": _top(d["systems"], "system", lambda s: {"system_name": names.get(s, s)}),
            "examples": examples.get(reason, []),
        })
    return sorted(out, key=lambda d: (-d["count"], d["reason"]))


def _roll_up(rows: list[dict], key: str, extra) -> list[dict]:
    acc: dict[str, dict] = {}
    for s in rows:
        a = acc.setdefault(s[key], {key: s[key], **extra(s), "received": 0, **dict.fromkeys(OUTCOMES, 0),
                                    "period": Counter()})
        for k in ("received", *OUTCOMES):
            a[k] += s[k]
        a["period"].update({o: s["period"][o] for o in OUTCOMES})
    out = []
    for a in acc.values():
        out.append({**a, "pass_rate": pass_rate(a["stored"], a["quarantined"]), "period": _counts(a["period"])})
    return sorted(out, key=lambda a: a[key])


def _worst(period: dict[tuple, Counter], groups: list[dict], names: dict, min_volume: int) -> list[dict]:
    per: dict[str, Counter] = defaultdict(Counter)
    for (system, _kind), c in period.items():
        per[system].update(c)
    reasons: dict[str, Counter] = defaultdict(Counter)
    for g in groups:
        if g["period"]:
            reasons[g["system"]][g["reason"]] += g["period"]
    ranked = []
    for system, c in per.items():
        judged = c["stored"] + c["quarantined"]
        if judged < min_volume or not c["quarantined"]:
            continue
        ranked.append({
            "system": system, "system_name": names.get(system, system), **_counts(c),
            "quarantine_rate": round(c["quarantined"] / judged, 4),
            "top_reasons": [{"reason": r, "label_zh": reason_label(r), "count": n}
                            for r, n in reasons[system].most_common(3)],
        })
    ranked.sort(key=lambda w: (-w["quarantine_rate"], -w["quarantined"], w["system"]))
    return ranked[:WORST]


def _consistency(counted: list[dict], seen: dict[tuple, Counter]) -> dict:
    """The running counters (``govhub stats``) against the per-record lineage."""
    mismatches = []
    keys = {(s["system"], s["kind"]) for s in counted} | set(seen)
    by = {(s["system"], s["kind"]): s for s in counted}
    for key in sorted(keys):
        for o in OUTCOMES:
            c = by.get(key, {}).get(o, 0)
            n = seen.get(key, Counter())[o]
            if c != n:
                mismatches.append({"system": key[0], "kind": key[1], "outcome": o, "counter": c, "lineage": n})
    return {"ok": not mismatches, "mismatches": mismatches}


def _suites(conn, sources, day_from: date, day_to: date, start: datetime, end: datetime, names: dict) -> dict:
    """Expectation-suite runs in the period, per scope, source, kind and suite; the
    failed expectations of the latest failed runs, with masked examples."""
    r = quality_run.c
    in_period = or_(and_(r.scope == "daily", r.day >= day_from, r.day <= day_to),
                    and_(r.scope != "daily", r.run_at >= start, r.run_at < end))
    group = (r.scope, r.source_system, r.kind, r.suite)
    failed = case((r.success == false(), 1), else_=0)
    summary = conn.execute(_where(
        select(*group, func.count(), func.sum(failed), func.sum(r.rows), func.max(r.run_at)).group_by(*group),
        in_period, _within(r.source_system, sources))).all()
    latest = func.row_number().over(partition_by=group, order_by=(r.run_at.desc(), r.id.desc())).label("latest")
    failed_rank = func.row_number().over(partition_by=(*group, r.success),
                                         order_by=(r.run_at.desc(), r.id.desc())).label("failed_rank")
    inner = _where(select(*group, r.success, r.run_at, r.suite_version, r.results, latest, failed_rank),
                   in_period, _within(r.source_system, sources)).subquery()
    picked = conn.execute(select(inner).where(or_(inner.c.latest == 1, and_(inner.c.success == false(),
                                                                             inner.c.failed_rank <= SUITE_FAILED_RUNS)))
                          .order_by(inner.c.run_at.desc())).mappings().all()
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
            name = str(e.get("expectation") or e.get("rule") or "?")
            col = e.get("column")
            x = expectations[key].setdefault((name, col), {
                "expectation": name, "rule": e.get("rule"), "column": col,
                "label_zh": e.get("label_zh") or name, "failed_runs": 0, "unexpected_count": 0,
                "element_count": 0, "examples": []})
            x["failed_runs"] += 1
            x["unexpected_count"] += int(e.get("unexpected_count") or 0)
            x["element_count"] += int(e.get("element_count") or 0)
            for v in e.get("examples") or []:
                masked = _mask_value(p["kind"], col, v)
                if len(x["examples"]) < EXAMPLES and masked not in x["examples"]:
                    x["examples"].append(masked)
    out = []
    for scope, system, kind, suite, runs, n_failed, n_rows, last_at in summary:
        key = (scope, system, kind, suite)
        lr = last.get(key)
        out.append({
            "scope": scope, "system": system, "system_name": names.get(system, system), "kind": kind,
            "kind_label": _kind_label(kind), "suite": suite, "suite_version": lr["suite_version"] if lr else None,
            "runs": int(runs), "failed_runs": int(n_failed or 0), "rows": int(n_rows or 0),
            "last_run_at": last_at.isoformat(sep=" ", timespec="seconds") if last_at else None,
            "last_success": bool(lr["success"]) if lr else None,
            "failed_expectations": sorted(expectations[key].values(),
                                          key=lambda x: (-x["failed_runs"], -x["unexpected_count"], x["expectation"])),
        })
    out.sort(key=lambda s: (s["failed_runs"] == 0, s["system"], s["kind"], s["scope"], s["suite"]))
    return {"runs": sum(s["runs"] for s in out), "failed_runs": sum(s["failed_runs"] for s in out), "suites": out}


# ---- files ----------------------------------------------------------------------------

def _write_atomic(path: Path, text: str) -> None:
    """Write next to the target and rename, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def to_json(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)


def write(report: dict, html_path: Path | str | None = None, json_path: Path | str | None = None) -> list[Path]:
    from hub.quality.report_html import render_html

    written = []
    if html_path:
        _write_atomic(Path(html_path), render_html(report))
        written.append(Path(html_path))
    if json_path:
        _write_atomic(Path(json_path), to_json(report))
        written.append(Path(json_path))
    return written


def daily_dir(home: Path) -> Path:
    return Path(home) / "reports" / "quality"


def write_daily(engine: Engine, directory: Path | str, day: date, days: int = DEFAULT_DAYS) -> tuple[Path, Path]:
    """The report for the period ending with ``day``, kept as ``<directory>/<day>.html``
    and ``.json``; running it again for the same day replaces that day's pair."""
    directory = Path(directory)
    html_path, json_path = directory / f"{day.isoformat()}.html", directory / f"{day.isoformat()}.json"
    write(build(engine, day_to=day, days=days), html_path, json_path)
    return html_path, json_path
