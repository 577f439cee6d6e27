"""The counts of the data-quality report (数据质量报告): one read snapshot for every query;
the lineage per source system and kind, all time and in the period; the daily trend;
the roll-ups per system and per kind with their pass rates; and the check of the running
counters (``govhub stats``) against the lineage. ``hub.quality.report.build`` puts them together."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, and_, case, func, select

from hub.db.tables import lineage
from hub.model.dictionary import kinds
from hub.model.outcomes import Outcome
from hub.ops import stats

OUTCOMES = stats.OUTCOMES


def pass_rate(stored: int, quarantined: int) -> float | None:
    judged = stored + quarantined
    return round(stored / judged, 4) if judged else None


def _kind_label(kind: str) -> str:
    k = kinds().get(kind)
    return k.label if k else kind


def _within(col, sources: Collection[str] | None):
    return col.in_(sorted(sources)) if sources is not None else None


def _where(q, *conds):
    return q.where(*[c for c in conds if c is not None])


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
    return {"received": sum(d.values()), **d, "pass_rate": pass_rate(d[Outcome.STORED], d[Outcome.QUARANTINED])}


def _lineage_totals(conn, sources, start: datetime, end: datetime) -> dict:
    """One pass over lineage: all-time and in-period counts per source, kind, outcome."""
    in_period = case((and_(lineage.c.received_at >= start, lineage.c.received_at < end), 1), else_=0)
    q = _where(
        select(lineage.c.source_system, lineage.c.kind, lineage.c.outcome, func.count(), func.sum(in_period)).group_by(
            lineage.c.source_system, lineage.c.kind, lineage.c.outcome
        ),
        _within(lineage.c.source_system, sources),
        stats.CURRENT_LINEAGE,
    )
    every: dict[tuple, Counter] = defaultdict(Counter)
    period: dict[tuple, Counter] = defaultdict(Counter)
    for system, kind, outcome, n, p in conn.execute(q):
        every[(system, kind)][outcome] += int(n)
        if p:
            period[(system, kind)][outcome] += int(p)
    return {"all": every, "period": period}


def _trend(conn, sources, start: datetime, end: datetime, day_from: date, days: int) -> list[dict]:
    day = func.date(lineage.c.received_at)  # SQLite answers text, PostgreSQL a date: both print as YYYY-MM-DD
    q = _where(
        select(day, lineage.c.outcome, func.count()).group_by(day, lineage.c.outcome),
        lineage.c.received_at >= start,
        lineage.c.received_at < end,
        _within(lineage.c.source_system, sources),
        stats.CURRENT_LINEAGE,
    )
    per: dict[str, Counter] = defaultdict(Counter)
    for d, outcome, n in conn.execute(q):
        per[str(d)[:10]][outcome] += int(n)
    out = []
    for i in range(days):
        d = (day_from + timedelta(days=i)).isoformat()
        out.append({"day": d, **_counts(per.get(d, Counter()))})
    return out


def _roll_up(rows: list[dict], key: str, extra) -> list[dict]:
    acc: dict[str, dict] = {}
    for s in rows:
        a = acc.setdefault(
            s[key], {key: s[key], **extra(s), "received": 0, **dict.fromkeys(OUTCOMES, 0), "period": Counter()}
        )
        for k in ("received", *OUTCOMES):
            a[k] += s[k]
        a["period"].update({o: s["period"][o] for o in OUTCOMES})
    out = []
    for a in acc.values():
        out.append({**a, "pass_rate": pass_rate(a["stored"], a["quarantined"]), "period": _counts(a["period"])})
    return sorted(out, key=lambda a: a[key])


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
