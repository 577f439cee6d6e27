"""The pipeline's one call into data quality: after a message is committed, check it as a
batch when ``GOVHUB_QUALITY_BATCH`` says so.

| value | what happens after each message |
|---|---|
| ``on`` (default) | the batch suite runs right away, in the ingesting process, evaluated in plain Python (``hub.quality.plain``: milliseconds, no pandas or Great Expectations in the process) |
| ``deferred`` | nothing; ``govhub quality batch --pending`` checks the backlog later with Great Expectations (another process, off the hot path) |
| ``off`` | nothing (throughput benchmarks) |

A failing check never fails the ingest: the records are stored whatever the suite says,
and a crash in the check is logged, not raised.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from hub.core.config import load_settings
from hub.quality.batch import check_message

log = logging.getLogger("govhub.quality")


def after_message(engine: Engine, system: str, kind: str, message_id: str) -> None:
    if load_settings().quality_batch != "on":
        return
    try:
        check_message(engine, system, kind, message_id, plain=True)
    except Exception:
        log.exception(
            "quality: the batch check of message %s from %s failed; run `govhub quality batch --pending` to retry",
            message_id,
            system,
        )
