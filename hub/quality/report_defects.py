"""The defects of the data-quality report (数据质量报告), from the quarantine: counts per
reason, source, kind, status, rule and field; the latest examples per reason, masked; and
the worst-offending sources of the period with their top reasons."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import and_, case, func, select

from hub.db.tables import quarantine
from hub.model.masking import mask_text
from hub.quality.reasons import label as reason_label
from hub.quality.report_counts import _counts, _where, _within

WORST = 5
EXAMPLES = 3
EXAMPLE_CHARS = 160


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def _quarantine_groups(conn, sources, start: datetime, end: datetime) -> list[dict]:
    """Quarantine counts per reason, source, kind, status, rule and field (one pass)."""
    q = quarantine.c
    in_period = case((and_(q.received_at >= start, q.received_at < end), 1), else_=0)
    cols = (q.reason, q.source_system, q.kind, q.status, q.rule, q.field)
    stmt = _where(select(*cols, func.count(), func.sum(in_period)).group_by(*cols), _within(q.source_system, sources))
    return [
        {
            "reason": r,
            "system": s,
            "kind": k,
            "status": st or "open",
            "rule": rule,
            "field": f,
            "n": int(n),
            "period": int(p or 0),
        }
        for r, s, k, st, rule, f, n, p in conn.execute(stmt)
    ]


def _examples(conn, sources) -> dict[str, list[dict]]:
    """The latest few quarantined records per reason and source, masked."""
    q = quarantine.c
    rn = func.row_number().over(partition_by=(q.reason, q.source_system), order_by=q.id.desc()).label("rn")
    inner = _where(
        select(q.id, q.reason, q.source_system, q.kind, q.field, q.rule, q.message, q.received_at, q.status, rn),
        _within(q.source_system, sources),
    ).subquery()
    rows = conn.execute(
        select(inner).where(inner.c.rn <= EXAMPLES).order_by(inner.c.reason, inner.c.rn, inner.c.id.desc())
    ).mappings()
    out: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        # ordered by rank first, so the first examples of a reason come from different sources
        if len(out[r["reason"]]) < EXAMPLES:
            out[r["reason"]].append(
                {
                    "quarantine_id": int(r["id"]),
                    "system": r["source_system"],
                    "kind": r["kind"],
                    "field": r["field"],
                    "rule": r["rule"],
                    "message": _clip(mask_text(r["message"])),
                    "received_at": r["received_at"].isoformat(sep=" ", timespec="seconds"),
                    "status": r["status"] or "open",
                }
            )
    return out


def _top(counter: Counter, key: str, extra=None) -> list[dict]:
    return [{key: k, "count": n, **(extra(k) if extra else {})} for k, n in counter.most_common()]


def _defects(groups: list[dict], examples: dict, names: dict) -> list[dict]:
    by: dict[str, dict] = {}
    for g in groups:
        d = by.setdefault(
            g["reason"],
            {
                "count": 0,
                "period_count": 0,
                "status": Counter(),
                "rules": Counter(),
                "fields": Counter(),
                "systems": Counter(),
            },
        )
        d["count"] += g["n"]
        d["period_count"] += g["period"]
        d["status"][g["status"]] += g["n"]
        d["rules"][g["rule"]] += g["n"]
        if g["field"]:
            d["fields"][g["field"]] += g["n"]
        d["systems"][g["system"]] += g["n"]
    out = []
    for reason, d in by.items():
        out.append(
            {
                "reason": reason,
                "label_zh": reason_label(reason),
                "count": d["count"],
                "period_count": d["period_count"],
                "open": d["status"]["open"],
                "resolved": d["count"] - d["status"]["open"],
                "rules": _top(d["rules"], "rule"),
                "fields": _top(d["fields"], "field")[:5],
                "systems": _top(d["systems"], "system", lambda s: {"system_name": names.get(s, s)}),
                "examples": examples.get(reason, []),
            }
        )
    return sorted(out, key=lambda d: (-d["count"], d["reason"]))


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
        ranked.append(
            {
                "system": system,
                "system_name": names.get(system, system),
                **_counts(c),
                "quarantine_rate": round(c["quarantined"] / judged, 4),
                "top_reasons": [
                    {"reason": r, "label_zh": reason_label(r), "count": n} for r, n in reasons[system].most_common(3)
                ],
            }
        )
    ranked.sort(key=lambda w: (-w["quarantine_rate"], -w["quarantined"], w["system"]))
    return ranked[:WORST]
