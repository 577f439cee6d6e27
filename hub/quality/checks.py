"""Run a kind's expectation suite on a set of records and keep the result (``quality_run``).

``run_suite`` builds the DataFrame with its helper columns (``hub.quality.frame``, the
division table and the libraries via ``hub.quality.derived``), validates with Great Expectations and turns GE's result into the compact
``results`` list every reader of ``quality_run`` relies on (docs/quality.md)::

    {"expectation": "expect_column_values_to_be_in_set", "rule": "uscc_valid",
     "column": "dept_code", "success": false, "unexpected_count": 1, "element_count": 2000,
     "examples": ["913*************2X (uscc_check_char)"], "label_zh": "办理部门统一社会信用代码校验位正确"}

Examples are masked by the field's ``pii`` tag (``hub.model.masking``), cut to 60 characters and
at most five; a helper column's failure shows the source field's value and the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert

from hub.core import clock
from hub.model.codes import divisions as division_codes
from hub.model.dictionary import kind as dictionary_kind
from hub.model.masking import mask_text, mask_value
from hub.quality import frame, gx
from hub.quality.derived import CheckEnv
from hub.quality.models import quality_run
from hub.quality.references import LibraryReferences
from hub.quality.suites import LoadedSuite

MAX_EXAMPLES = 5
EXAMPLE_CHARS = 60
HelperAt = Callable[[int, str], Any]  # (row, helper column) → the helper value (its reason code)
RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 20,
    "unexpected_index_column_names": [frame.ROW],
}


@dataclass
class SuiteRun:
    """One suite run's outcome, in the shape ``quality_run`` stores."""

    suite: str
    suite_version: str
    kind: str
    rows: int
    results: list[dict] = field(default_factory=list)

    @property
    def evaluated(self) -> int:
        return len(self.results)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if not r["success"])

    @property
    def success(self) -> bool:
        return self.failed == 0

    def failed_rules(self) -> set[str]:
        return {r["rule"] for r in self.results if not r["success"]}


def env_for(engine: Engine | None, now: datetime | None = None) -> CheckEnv:
    return CheckEnv(
        division_codes.default_table(), now or clock.now(), LibraryReferences(engine) if engine is not None else None
    )


def _exception_message(info: Any) -> str | None:
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "exception")
    for v in info.values():
        msg = _exception_message(v)
        if msg:
            return msg
    return None


def _column_of(kwargs: dict, meta: dict) -> str | None:
    if meta.get("field"):
        return meta["field"]
    if kwargs.get("column"):
        return kwargs["column"]
    cols = [kwargs[k] for k in ("column_A", "column_B") if kwargs.get(k)] or list(kwargs.get("column_list") or [])
    return ",".join(cols) or None


def _show(kind, name: str, value: Any) -> str:
    try:
        pii = kind.field(name).pii
    except KeyError:  # the record's position, not a field
        pii = None
    text = mask_value(pii, frame.lexical(value))
    return text if len(text) <= EXAMPLE_CHARS else f"{text[:EXAMPLE_CHARS]}…({len(text)}字)"


def _examples(
    suite: LoadedSuite, kwargs: dict, meta: dict, result: dict, records: Sequence[dict], helper_at: HelperAt
) -> list[str]:
    k = dictionary_kind(suite.kind)
    scalars = {f.name for f in k.scalars}
    column = kwargs.get("column")
    helper = column if column in suite.derived else None
    fields = (
        [meta["field"]]
        if meta.get("field")
        else [
            c
            for c in [column, kwargs.get("column_A"), kwargs.get("column_B"), *(kwargs.get("column_list") or [])]
            if c and c not in suite.derived
        ]
    )
    out: list[str] = []
    for hit in result.get("partial_unexpected_index_list") or ():
        row = int(hit[frame.ROW])
        rec = records[row]
        shown = [(f, rec.get(f)) for f in fields if f in scalars and rec.get(f) is not None]
        if not shown:  # a missing value: say which record
            shown = [(n, rec.get(n)) for n in k.key if rec.get(n) is not None] or [("第几条", row + 1)]
        text = "; ".join(
            f"{f}={_show(k, f, v)}" if len(shown) > 1 or f not in fields else _show(k, f, v) for f, v in shown
        )
        if helper is not None:
            text = f"{text} ({helper_at(row, helper)})"
        if text not in out:
            out.append(text)
        if len(out) >= MAX_EXAMPLES:
            break
    return out


def entry(
    suite: LoadedSuite,
    type_: str,
    kwargs: dict,
    meta: dict,
    success: bool,
    result: dict,
    records: Sequence[dict],
    helper_at: HelperAt,
    error: str | None = None,
) -> dict:
    """One ``results`` entry from an expectation's outcome (GE's ``SUMMARY`` result shape;
    ``hub.quality.expectations`` returns the same)."""
    out = {
        "expectation": type_,
        "rule": meta.get("rule", ""),
        "column": _column_of(kwargs, meta),
        "success": bool(success),
        "unexpected_count": int(result.get("unexpected_count") or 0),
        "element_count": int(result.get("element_count", len(records))),
        "examples": [] if success else _examples(suite, kwargs, meta, result, records, helper_at),
        "label_zh": meta.get("label_zh", ""),
    }
    if "observed_value" in result:
        out["observed_value"] = _plain(result["observed_value"])
    if error and not success:
        out["error"] = mask_text(error)[:300]
    return out


def finish(suite: LoadedSuite, records: Sequence[dict], entries: list[dict]) -> SuiteRun:
    run = SuiteRun(suite.name, suite.version, suite.kind, len(records), entries)
    run.results.sort(key=lambda e: (e["success"], e["rule"]))  # failures first: what a reader wants
    return run


def run_suite(suite: LoadedSuite, records: Sequence[dict], env: CheckEnv) -> SuiteRun:
    """Validate ``records`` (canonical, typed or lexical) with ``suite`` in Great Expectations
    (the daily check, ``govhub quality batch``, Data Docs; the push-time check is
    ``hub.quality.plain.run_suite``)."""
    df = frame.build(suite, records, env)
    res = gx.validate(suite.gx_suite(), df, RESULT_FORMAT)
    entries = []
    for r in res.results:
        cfg = r.expectation_config
        kwargs, meta = dict(cfg.kwargs), dict(cfg.meta or {})
        error = _exception_message(r.exception_info)
        result = dict(r.result or {})
        at = lambda row, col: df.at[row, col]  # noqa: E731
        entries.append(entry(suite, cfg.type, kwargs, meta, r.success, result, records, at, error))
    return finish(suite, records, entries)


def _plain(v: Any) -> Any:
    """numpy scalars → JSON-ready Python values."""
    if hasattr(v, "item"):
        return v.item()
    return v


def store_run(
    engine: Engine,
    run: SuiteRun,
    scope: str,
    source_system: str,
    *,
    message_id: str | None = None,
    day: date | None = None,
    replace: bool = True,
) -> None:
    """Write one ``quality_run`` row; a rerun for the same message or day replaces the earlier row."""
    row = {
        "scope": scope,
        "source_system": source_system,
        "kind": run.kind,
        "message_id": message_id,
        "day": day,
        "suite": run.suite,
        "suite_version": run.suite_version,
        "evaluated": run.evaluated,
        "failed": run.failed,
        "rows": run.rows,
        "success": run.success,
        "results": run.results,
        "run_at": clock.now().replace(microsecond=0),
    }
    t = quality_run
    with engine.begin() as conn:
        if replace:
            same = [
                t.c.scope == scope,
                t.c.source_system == source_system,
                t.c.kind == run.kind,
                t.c.suite == run.suite,
            ]
            same.append(t.c.message_id == message_id if message_id is not None else t.c.message_id.is_(None))
            same.append(t.c.day == day if day is not None else t.c.day.is_(None))
            conn.execute(delete(t).where(*same))
        conn.execute(insert(t), [row])
