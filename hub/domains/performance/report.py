"""The performance report (绩效统计报告): the figures of ``query.figures`` with department
names from the system catalogue, written as JSON and as the HTML page (atomically).

``build(engine, start, end, every, by, ..., refresh_first=True)`` brings the figures up to
date first (``refresh.refresh``: incremental, cheap when little changed)."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from hub.catalog.systems import systems
from hub.domains.performance import query, refresh
from hub.domains.performance.report_html import render_html


def dept_names() -> dict[str, str]:
    """Department codes of the catalogue's systems → their names (for the page's labels)."""
    try:
        return {s.dept_code: s.name for s in systems().values() if s.dept_code}
    except Exception:  # noqa: BLE001 — labels only: codes stand in when the catalogue is unreadable
        return {}


def build(
    engine: Engine,
    start: date,
    end: date,
    every: query.Every = "month",
    by: tuple[str, ...] = ("dept",),
    *,
    refresh_first: bool = True,
    **scope: Any,
) -> dict[str, Any]:
    if refresh_first:
        refresh.refresh(engine)
    data = query.figures(engine, start, end, every, by, **scope)
    names = dept_names()
    data["dept_names"] = {r["dept_code"]: names[r["dept_code"]] for r in data["rows"] if r.get("dept_code") in names}
    return data


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def to_json(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)


def write(report: dict, html_path: Path | None = None, json_path: Path | None = None) -> list[Path]:
    written = []
    if html_path:
        _write_atomic(Path(html_path), render_html(report, report.get("dept_names")))
        written.append(Path(html_path))
    if json_path:
        _write_atomic(Path(json_path), to_json(report))
        written.append(Path(json_path))
    return written
