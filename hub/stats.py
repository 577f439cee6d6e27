"""Counts behind ``govhub stats``: received = stored + duplicate + quarantined, per
source system and message kind, from the running totals the pipeline keeps."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Engine, func, select

from hub.models import ingest_counter, quarantine

OUTCOMES = ("stored", "duplicate", "quarantined")


def counts(engine: Engine) -> dict:
    per: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    with engine.connect() as conn:
        for system, kind, outcome, n in conn.execute(select(ingest_counter)):
            per[(system, kind)][outcome] += int(n)
        reasons = conn.execute(
            select(quarantine.c.source_system, quarantine.c.reason, func.count())
            .group_by(quarantine.c.source_system, quarantine.c.reason)
        ).all()
    sources = []
    total = dict.fromkeys(OUTCOMES, 0)
    for (system, kind), c in sorted(per.items()):
        sources.append({"system": system, "kind": kind, "received": sum(c.values()), **c})
        for o in OUTCOMES:
            total[o] += c[o]
    by_reason: dict[str, dict[str, int]] = defaultdict(dict)
    for system, reason, n in reasons:
        by_reason[system][reason] = int(n)
    return {
        "sources": sources,
        "total": {"received": sum(total.values()), **total},
        "quarantined_by_reason": {s: dict(sorted(r.items(), key=lambda x: -x[1])) for s, r in sorted(by_reason.items())},
    }


def render(data: dict) -> str:
    head = f"{'来源系统 system':<22} {'类型 kind':<12} {'接收 received':>14} {'入库 stored':>12} {'重复 duplicate':>15} {'隔离 quarantined':>17}"
    lines = [head, "-" * len(head)]
    for s in data["sources"]:
        lines.append(f"{s['system']:<22} {s['kind']:<12} {s['received']:>14,} {s['stored']:>12,} {s['duplicate']:>15,} {s['quarantined']:>17,}")
    t = data["total"]
    lines.append("-" * len(head))
    lines.append(f"{'合计 total':<22} {'':<12} {t['received']:>14,} {t['stored']:>12,} {t['duplicate']:>15,} {t['quarantined']:>17,}")
    if data["quarantined_by_reason"]:
        lines.append("")
        lines.append("隔离原因 quarantined by reason:")
        for system, reasons in data["quarantined_by_reason"].items():
            lines.append(f"  {system}: " + ", ".join(f"{r} {n}" for r, n in reasons.items()))
    return "\n".join(lines)
