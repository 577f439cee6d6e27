"""``govhub audit export MESSAGE_ID --out FILE``: the evidence package of one message
(:mod:`hub.audit.package`), read from the log without writing to it.

The package holds the message's entry and every entry after it up to the first checkpoint
taken at or after it, that checkpoint, the hub's certificate and (when stamped) the TSA's.
An entry no checkpoint covers yet cannot be sealed: the caller is told to take one first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from hub.audit import checkpoint
from hub.audit.objects import ObjectStore
from hub.audit.package import build_package
from hub.db.tables import exchange_log


class ExportError(RuntimeError):
    """The package cannot be made; the message says what to do next."""


def find_entry(engine: Engine, message_id: str, seq: int | None = None) -> dict[str, Any]:
    """The message's entry (its first one; ``seq`` picks another, e.g. a redelivery's)."""
    q = select(exchange_log).where(exchange_log.c.message_id == message_id).order_by(exchange_log.c.seq)
    if seq is not None:
        q = q.where(exchange_log.c.seq == seq)
    with engine.connect() as conn:
        row = conn.execute(q.limit(1)).mappings().first()
    if row is None:
        raise ExportError(
            f"no exchange-log entry for message {message_id!r}"
            + (f" at seq {seq}" if seq is not None else "")
            + ": check the id (govhub audit verify lists the chain), or it was archived (govhub audit archive)"
        )
    return dict(row)


def export(engine: Engine, message_id: str, store: ObjectStore, seq: int | None = None) -> tuple[bytes, dict[str, Any]]:
    """The package's bytes and a summary ``{message_id, seq, checkpoint_seq, entries, stamped}``."""
    entry = find_entry(engine, message_id, seq)
    with engine.connect() as conn:
        cp = checkpoint.covering(conn, entry["seq"])
        if cp is None:
            raise ExportError(
                f"no checkpoint covers entry seq {entry['seq']} yet: run `govhub audit checkpoint` first, "
                "then export again"
            )
        rows = conn.execute(
            select(exchange_log)
            .where(exchange_log.c.seq >= entry["seq"], exchange_log.c.seq <= cp["seq"])
            .order_by(exchange_log.c.seq)
        ).mappings()
        entries = [dict(r) for r in rows]
    message = store.read(entry["digest"])
    if message is None:
        raise ExportError(
            f"the bytes of message {message_id!r} ({entry['digest']}) are not in the object store "
            f"({store.root}): past the retention period, or the store was moved; set GOVHUB_HOME"
        )
    tsa_pem = cp["tsa_certificate"].encode("ascii") if cp.get("tsa_certificate") else None
    data = build_package(message, entries, cp["signed"], cp["certificate"].encode("ascii"), tsa_pem)
    summary = {
        "message_id": message_id,
        "seq": entry["seq"],
        "checkpoint_seq": cp["seq"],
        "entries": len(entries),
        "stamped": "timestamp" in cp["signed"],
    }
    return data, summary
