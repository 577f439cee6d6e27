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

The parts: ``hub.quality.report_counts`` (counts, trend, roll-ups, consistency),
``hub.quality.report_defects`` (defects, examples, worst sources),
``hub.quality.report_suites`` (suite results); here ``build`` and the files.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Engine

from hub.catalog.systems import CatalogError, systems
from hub.core import clock
from hub.model.outcomes import QuarantineStatus
from hub.ops import stats
from hub.quality.report_counts import (
    OUTCOMES,
    _consistency,
    _counts,
    _kind_label,
    _lineage_totals,
    _roll_up,
    _snapshot,
    _trend,
    pass_rate,
)
from hub.quality.report_defects import _defects, _examples, _quarantine_groups, _worst
from hub.quality.report_html import render_html
from hub.quality.report_suites import _suites

__all__ = [
    "DEFAULT_DAYS",
    "MIN_VOLUME",
    "OUTCOMES",
    "REPORT_VERSION",
    "build",
    "daily_dir",
    "pass_rate",
    "to_json",
    "write",
    "write_daily",
]

REPORT_VERSION = 1
DEFAULT_DAYS = 30
MIN_VOLUME = 20  # a source needs this many judged records in the period to rank as a worst offender
RESOLVED = (QuarantineStatus.RETRIED, QuarantineStatus.REJECTED)


def _system_names() -> dict[str, str]:
    try:
        return {s.id: s.name for s in systems().values()}
    except CatalogError:  # a broken catalogue must not take the report down with it
        return {}


def build(
    engine: Engine,
    day_to: date | None = None,
    days: int = DEFAULT_DAYS,
    sources: Collection[str] | None = None,
    min_volume: int = MIN_VOLUME,
) -> dict:
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
    status_by_source = _quarantine_status_by_source(qagg)
    out_sources = [
        _source_entry(
            s,
            names,
            seen["period"].get((s["system"], s["kind"]), Counter()),
            status_by_source[(s["system"], s["kind"])],
        )
        for s in rows
    ]
    report = {
        "report": "govhub.quality",
        "version": REPORT_VERSION,
        "generated_at": generated.isoformat(),
        "period": {"from": day_from.isoformat(), "to": day_to.isoformat(), "days": days},
        "scope": {"sources": sorted(sources) if sources is not None else None},
        "totals": _totals(out_sources, seen["period"], status_by_source),
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


def _quarantine_status_by_source(qagg: list[dict]) -> defaultdict[tuple, Counter]:
    """The period's quarantined records per (system, kind), by workflow status."""
    status_by_source: defaultdict[tuple, Counter] = defaultdict(Counter)
    for g in qagg:
        status_by_source[(g["system"], g["kind"])][g["status"]] += g["n"]
    return status_by_source


def _status_split(c: Counter) -> dict:
    """Still open against resolved, and how they were resolved."""
    return {"open": c["open"], "resolved": sum(n for s, n in c.items() if s != "open"), **{s: c[s] for s in RESOLVED}}


def _source_entry(s: dict, names: dict[str, str], period: Counter, status: Counter) -> dict:
    """One source system and kind: cumulative counts and pass rate, quarantine status, the period's counts."""
    return {
        "system": s["system"],
        "system_name": names.get(s["system"], s["system"]),
        "kind": s["kind"],
        "kind_label": _kind_label(s["kind"]),
        **{k: s[k] for k in ("received", *OUTCOMES)},
        "pass_rate": pass_rate(s["stored"], s["quarantined"]),
        "quarantine_status": _status_split(status),
        "period": _counts(period),
    }


def _totals(out_sources: list[dict], period: dict, status_by_source: dict[tuple, Counter]) -> dict:
    total = {k: sum(s[k] for s in out_sources) for k in ("received", *OUTCOMES)}
    period_total = _counts(sum((period[k] for k in period), Counter()))
    all_status = sum(status_by_source.values(), Counter())
    return {
        **total,
        "pass_rate": pass_rate(total["stored"], total["quarantined"]),
        "quarantine_status": _status_split(all_status),
        "period": period_total,
    }


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
