"""The push-time batch check (``GOVHUB_QUALITY_BATCH=on``): a kind's suite evaluated in plain
Python (``hub.quality.expectations``) on the columns ``hub.quality.frame`` builds, with the
same ``results`` entries, examples and masking as the Great Expectations run
(``hub.quality.checks.run_suite``).

Why not GE after every message: importing it takes seconds and ~170 MB of RSS in the
ingesting process, and validating a 100-record message took ~0.7 s; this takes tens of
milliseconds. GE stays where its cost is paid once a day or on demand (the daily check,
``govhub quality batch``, the Data Docs); ``tests/unit/test_quality_plain.py`` keeps the two
in agreement on every suite.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.quality import expectations, frame
from hub.quality.checks import SuiteRun, entry, finish
from hub.quality.derived import CheckEnv
from hub.quality.suites import LoadedSuite


def run_suite(suite: LoadedSuite, records: Sequence[dict], env: CheckEnv) -> SuiteRun:
    """Evaluate ``suite`` on ``records`` (canonical, typed or lexical) without GE."""
    cols = frame.columns(suite, records, env)

    def at(row: int, col: str):
        return cols[col][row]

    entries = []
    for e in suite.spec.expectations:
        kwargs, meta = dict(e.kwargs), e.meta.model_dump(exclude_none=True)
        error = None
        try:
            success, result = expectations.evaluate(e.type, kwargs, cols)
        except Exception as exc:  # noqa: BLE001 — as GE: an expectation that raises fails, with the error
            success, result, error = False, {}, f"{type(exc).__name__}: {exc}"
        entries.append(entry(suite, e.type, kwargs, meta, success, result, records, at, error))
    return finish(suite, records, entries)
