"""The ingest pipeline as the hub runs it: ``hub.ingest.pipeline.Pipeline`` with the
observers that sit above the ingest and that it must not know about:

- ``hub.outbound.delivery.enqueue_reports`` — inside each batch's transaction, the records
  it stored are queued for the source system's ``report_to`` peers (the record, its
  outbox event and its deliveries commit together);
- ``hub.quality.hook.after_message`` — after each new message is committed, the batch
  quality check as ``GOVHUB_QUALITY_BATCH`` says (on / deferred / off).

Every place that ingests (API, worker, CLI, drops, domains, quarantine retries, demo)
builds its pipeline here; a bare ``Pipeline(engine)`` stores and routes to the outbox only.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from hub.audit.objects import ObjectStore
from hub.ingest.pipeline import Pipeline
from hub.model.rules import RuleContext
from hub.outbound.delivery import enqueue_reports
from hub.quality.hook import after_message


def standard_pipeline(
    engine: Engine, rules: RuleContext | None = None, batch_size: int = 2000, home: Path | None = None
) -> Pipeline:
    """``home``: the hub's GOVHUB_HOME, whose ``objects/`` keeps the exchange log's bytes
    (default: the environment's)."""
    return Pipeline(
        engine,
        rules,
        batch_size,
        on_batch_stored=(enqueue_reports,),
        on_message_committed=(after_message,),
        objects=ObjectStore(home / "objects") if home is not None else None,
    )
