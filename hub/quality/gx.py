"""The one place govhub talks to Great Expectations' context machinery.

An ephemeral context (in memory: nothing on disk, no project directory), analytics off
(nothing leaves the machine), progress bars off (they would land in logs), a pandas data
source with one whole-dataframe batch definition that every check reuses. GE takes ~5 s
to import, so it is imported on first use only.
"""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_state: dict = {}


def context():
    """A fresh ephemeral context (for Data Docs, which register suites and runs in it)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # deferred: GE takes seconds and ~150 MB to import
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.config.analytics_enabled = False
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def validate(suite, df, result_format: dict):
    """Validate ``df`` against a ``gx.ExpectationSuite`` in the shared context."""
    with _lock:  # one context, used from whichever thread checks a batch
        if "batch_definition" not in _state:
            ctx = context()
            _state["batch_definition"] = (
                ctx.data_sources.add_pandas("govhub")
                .add_dataframe_asset("records")
                .add_batch_definition_whole_dataframe("batch")
            )
        batch = _state["batch_definition"].get_batch(batch_parameters={"dataframe": df})
        return batch.validate(suite, result_format=result_format)
