"""Exchange-log entries for what the hub takes in without the pipeline's last batch: a push
refused whole (a REST body that cannot be read, an XML document refused, a SOAP fault to
an authenticated system) and an administrator's retry of a quarantined record.

A refusal's entry (``outcome``: ``{"refused": <HTTP status or SOAP fault code>, "reason"}``)
is written best effort: the refusal is answered whether or not it could be logged (nothing
was accepted), and a log that cannot be written is logged as an error. A retry's entry is
written in the transaction that stores the record, so the retry commits with it or not at
all (``LogUnavailable`` then refuses the retry, as a push).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlalchemy import Connection, Engine

from hub.audit import chain
from hub.audit.objects import ObjectStore

log = logging.getLogger("govhub.audit")


def refused(
    engine: Engine | None, channel: str, system: str, message_id: str | None, body: bytes, code: Any, reason: str
) -> None:
    if engine is None:
        return
    mid = message_id or f"sha256:{hashlib.sha256(body).hexdigest()[:40]}"
    try:
        digest, size = ObjectStore().put_bytes(body)
        with engine.begin() as conn:
            chain.append(
                conn,
                direction="in",
                channel=channel,
                system=system,
                peer=None,
                message_id=mid[:128],
                digest=digest,
                size=size,
                outcome={"refused": code, "reason": reason},
            )
    except (chain.LogUnavailable, OSError) as exc:
        log.error("a refused %s push from %s is not in the exchange log: %s", channel, system, exc)


def retried(conn: Connection, row: dict[str, Any], trace: dict[str, Any], outcome: str) -> None:
    """A quarantined record retried (or corrected) by an administrator: the record as the
    hub retried it (the correction, else the kept payload as stored), in ``conn``'s transaction."""
    text = trace.get("payload") or row.get("payload") or ""
    try:
        digest, size = ObjectStore().put_bytes(str(text).encode("utf-8"))
    except OSError as exc:
        raise chain.LogUnavailable(f"the exchange log's object store cannot be written: {exc.strerror}") from exc
    chain.append(
        conn,
        direction="in",
        channel="quarantine",
        system=str(row["source_system"]),
        peer=None,
        message_id=str(row["message_id"] or f"quarantine-{row['id']}")[:128],
        digest=digest,
        size=size,
        outcome={"quarantine_id": row["id"], "action": trace["action"], "outcome": str(outcome)},
    )
