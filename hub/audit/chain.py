"""The exchange log's chain: entries, their canonical bytes and hash, and the append.

An entry is a dict with exactly the keys of :data:`FIELDS` (the offline verifier's format,
shared with the evidence packages)::

    seq, at (ISO 8601 UTC "Z"), direction ("in" | "out"), channel, system, peer,
    message_id, digest ("sha256:<hex>" of the exact bytes), size, outcome (dict),
    correlation_id, prev (the previous entry's hash; 64 zeros for seq 1)

    canonical(entry) = json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    hash(entry)      = sha256(canonical(entry)).hexdigest()   (the "hash" key is not in the entry)

:func:`append` is called inside the transaction that records the message (or the delivery's
outcome): the entry commits with it or not at all. The head row ``exchange_log_head`` is
locked first (PostgreSQL ``SELECT … FOR UPDATE``; SQLite has one writer), so concurrent
workers extend one chain. Any failure to write raises :class:`LogUnavailable`: the caller
does not acknowledge the message and answers it as retryable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from govhub_verify import formats
from hub.core import clock, correlation
from hub.core.clock import CST
from hub.core.errors import StorageError
from hub.db.tables import exchange_log, exchange_log_head

GENESIS = "0" * 64
FIELDS = tuple(sorted(formats.ENTRY_FIELDS))  # the offline verifier's format is the contract


class LogUnavailable(StorageError):
    """The exchange log cannot be written: nothing is accepted without evidence, so the
    message is refused as retryable (REST 503, SOAP Server fault, the bus redelivers)."""

    reason = "exchange_log_unavailable"


def entry_hash(entry: dict[str, Any]) -> str:
    # the offline verifier's own rule (govhub_verify.formats), so the two cannot drift apart
    return formats.entry_hash({k: entry[k] for k in FIELDS})


def utc_stamp(at: datetime | None = None) -> str:
    """The hub clock's time (naive CST) as ISO 8601 UTC with "Z", to the second."""
    local = (at or clock.now()).replace(tzinfo=CST)
    return local.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def probe(conn: Connection) -> None:
    """Fail now, before a batch of the message commits, if the log's table refuses writes
    (missing, renamed, privilege revoked): an insert of no row checks all of that."""
    try:
        conn.execute(text("INSERT INTO exchange_log (seq) SELECT 0 WHERE 1 = 0"))
    except SQLAlchemyError as exc:
        raise LogUnavailable(f"the exchange log cannot be written: {type(exc).__name__}") from exc


def append(
    conn: Connection,
    *,
    direction: str,
    channel: str,
    system: str,
    peer: str | None,
    message_id: str,
    digest: str,
    size: int,
    outcome: dict[str, Any],
) -> dict[str, Any]:
    """Append one entry after the head, in ``conn``'s transaction; returns it with its hash."""
    try:
        seq, prev = _lock_head(conn)
        entry: dict[str, Any] = {
            "seq": seq + 1,
            "at": utc_stamp(),
            "direction": direction,
            "channel": channel,
            "system": system,
            "peer": peer,
            "message_id": message_id,
            "digest": digest,
            "size": size,
            "outcome": outcome,
            "correlation_id": correlation.current(),
            "prev": prev,
        }
        entry["hash"] = entry_hash(entry)
        conn.execute(insert(exchange_log).values(**entry))
        conn.execute(
            update(exchange_log_head).where(exchange_log_head.c.id == 1).values(seq=entry["seq"], hash=entry["hash"])
        )
    except SQLAlchemyError as exc:
        raise LogUnavailable(f"the exchange log cannot be written: {type(exc).__name__}") from exc
    return entry


def _lock_head(conn: Connection) -> tuple[int, str]:
    q = select(exchange_log_head.c.seq, exchange_log_head.c.hash).where(exchange_log_head.c.id == 1)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:  # a database created without the migration's head row: start it from the log
        last = conn.execute(select(exchange_log.c.seq, exchange_log.c.hash).order_by(exchange_log.c.seq.desc())).first()
        seq, prev = (int(last[0]), str(last[1])) if last else (0, GENESIS)
        conn.execute(insert(exchange_log_head).values(id=1, seq=seq, hash=prev))
        return seq, prev
    return int(row[0]), str(row[1])


def length(conn: Connection) -> int:
    """The chain's length (its head's seq)."""
    row = conn.execute(select(exchange_log_head.c.seq).where(exchange_log_head.c.id == 1)).first()
    return int(row[0]) if row else 0
