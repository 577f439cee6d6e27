"""The daily check of the exchange log (DAG ``audit_checkpoint_verify``): sign the head now
(so yesterday is sealed by a checkpoint, when the hub has its audit key), then verify
yesterday's segment — its entries, their links to the entry before, its checkpoints and
the stored bytes. The run is recorded under ``audit.verify`` like ``govhub audit verify``,
so a break counts in ``govhub_exchange_log_verify_failures_total`` and alerts
(``GovhubExchangeLogBroken``); the task fails with the break's seq.

The day is a UTC day, as the entries' ``at`` (``govhub audit verify --from D --to D``).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import Engine

from hub.audit import checkpoint
from hub.audit.objects import ObjectStore, retention_days
from hub.audit.sealcheck import pins_from_env
from hub.audit.signing import IdentityError
from hub.audit.verify import verify
from hub.core.config import load_settings
from hub.ops import jobs
from hub.ops.metrics import VERIFY_JOB

log = logging.getLogger("govhub.audit")


class ExchangeLogBroken(RuntimeError):
    """Verification found a break; the message names its seq and what to do."""


def checkpoint_and_verify(engine: Engine, day: date) -> dict[str, Any]:
    sealed = None
    try:
        cp = checkpoint.take(engine, checkpoint.Sealer.from_env())
        sealed = None if cp is None else cp["seq"]
    except IdentityError as exc:
        log.warning("no checkpoint taken: %s", exc)
    res = verify(
        engine,
        day,
        day,
        objects=ObjectStore(load_settings().home / "objects"),
        retention_days=retention_days(),
        pins=pins_from_env(),
    )
    jobs.record(engine, VERIFY_JOB, res.holds, None if res.holds else f"seq {res.break_seq}: {res.problem}")
    if not res.holds:
        raise ExchangeLogBroken(
            f"the exchange log breaks at seq {res.break_seq} ({day}): {res.problem}; "
            "run `govhub audit verify` and keep the database as it is while you investigate"
        )
    return {"day": day.isoformat(), "checkpoint_seq": sealed, **res.as_dict()}
