"""Counts behind ``govhub stats``: received = stored + duplicate + quarantined, per
source system and message kind, from the running totals the pipeline keeps.

A quarantined record an administrator corrects moves from quarantined to stored (or
duplicate) — it was received once — and is also counted as ``corrected`` (of the stored
and duplicate records, how many came in by correction; ``docs/quarantine.md``). Reasons
are those of the records still quarantined (open or rejected).

The lineage keeps the original quarantined row of a corrected record, marked
``superseded_by`` the correction's row: it is history, not a current outcome. Everything
that checks these counters against the lineage (the quality report, ``govhub quality``)
counts the current rows only, ``CURRENT_LINEAGE``."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from contextlib import nullcontext

from sqlalchemy import Connection, Engine, func, select

from hub.db.tables import ingest_counter, lineage, quarantine
from hub.model.outcomes import RECORD_OUTCOMES, QuarantineStatus

OUTCOMES = RECORD_OUTCOMES

# the lineage rows the books count: one per received record, its latest outcome
CURRENT_LINEAGE = lineage.c.superseded_by.is_(None)


def counts(engine: Engine | Connection) -> dict:
    """Given a Connection, reads inside its transaction (the quality report reads these
    counters and the lineage from one snapshot)."""
    per: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    with nullcontext(engine) if isinstance(engine, Connection) else engine.connect() as conn:
        for system, kind, outcome, n in conn.execute(select(ingest_counter)):
            per[(system, kind)][outcome] += int(n)
        reasons = conn.execute(
            select(quarantine.c.source_system, quarantine.c.reason, func.count())
            .where(quarantine.c.status != QuarantineStatus.RETRIED)
            .group_by(quarantine.c.source_system, quarantine.c.reason)
        ).all()
        corrected = {
            (system, kind): int(n)
            for system, kind, n in conn.execute(
                select(quarantine.c.source_system, quarantine.c.kind, func.count())
                .where(quarantine.c.status == QuarantineStatus.RETRIED)
                .group_by(quarantine.c.source_system, quarantine.c.kind)
            )
        }
    sources = []
    total = dict.fromkeys(OUTCOMES, 0)
    for (system, kind), c in sorted(per.items()):
        sources.append(
            {
                "system": system,
                "kind": kind,
                "received": sum(c[o] for o in OUTCOMES),
                **c,
                "corrected": corrected.get((system, kind), 0),
            }
        )
        for o in OUTCOMES:
            total[o] += c[o]
    by_reason: dict[str, dict[str, int]] = defaultdict(dict)
    for system, reason, n in reasons:
        by_reason[system][reason] = int(n)
    return {
        "sources": sources,
        "total": {"received": sum(total.values()), **total},
        "corrected": sum(corrected.values()),
        "quarantined_by_reason": {
            s: dict(sorted(r.items(), key=lambda x: -x[1])) for s, r in sorted(by_reason.items())
        },
    }


def _w(text: str) -> int:
    """Display width: CJK characters take two terminal columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _l(text: str, width: int) -> str:
    return text + " " * max(width - _w(text), 0)


def _r(text: str, width: int) -> str:
    return " " * max(width - _w(text), 0) + text


COLUMNS = (
    ("来源系统 system", 22),
    ("类型 kind", 12),
    ("接收 received", 15),
    ("入库 stored", 13),
    ("重复 duplicate", 16),
    ("隔离 quarantined", 18),
    ("其中更正 corrected", 20),
)


def _row(cells) -> str:
    (a, wa), (b, wb), *rest = zip(cells, (w for _, w in COLUMNS))
    return _l(a, wa) + _l(b, wb) + "".join(_r(c, w) for c, w in rest)


def render(data: dict) -> str:
    head = _row([c for c, _ in COLUMNS])
    rule = "-" * _w(head)
    lines = [head, rule]
    for s in data["sources"]:
        lines.append(
            _row([s["system"], s["kind"], *(f"{s[k]:,}" for k in ("received", *OUTCOMES)), f"{s['corrected']:,}"])
        )
    t = data["total"]
    lines += [rule, _row(["合计 total", "", *(f"{t[k]:,}" for k in ("received", *OUTCOMES)), f"{data['corrected']:,}"])]
    if data["quarantined_by_reason"]:
        lines += ["", "隔离原因 quarantined by reason:"]
        for system, reasons in data["quarantined_by_reason"].items():
            lines.append(f"  {system}: " + ", ".join(f"{r} {n}" for r, n in reasons.items()))
    return "\n".join(lines)
