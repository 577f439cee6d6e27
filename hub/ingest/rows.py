"""The rows ingest writes, and how it writes them: digests, the outbox event of a stored
record, bulk inserts (COPY on PostgreSQL), the running totals in ``ingest_counter``, and
the quarantine of a whole message that cannot be read record by record.

Nothing here knows what reads these rows: the outbox is relayed by ``hub.bus.topology``,
deliveries to peers are queued by an observer of the store (``hub.outbound.delivery``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from datetime import datetime
from operator import itemgetter
from typing import Any

import msgspec
from sqlalchemy import JSON, Connection, Engine, Table, insert
from sqlalchemy.dialects import postgresql, sqlite

from hub.core import clock, correlation
from hub.db.tables import ingest_counter, lineage, quarantine
from hub.model.dictionary import Kind
from hub.model.masking import mask_text

EVENTS_EXCHANGE = "govhub.events"
_ENC = msgspec.json.Encoder(order="sorted", decimal_format="string")
_ABSENT = object()
_blake2b = hashlib.blake2b
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def content_hash(record: dict[str, Any]) -> str:
    """Digest of the canonical content; ``source_time`` is left out so a re-send of
    unchanged content with a new timestamp is recognised as a duplicate."""
    source_time = record.pop("source_time", _ABSENT)  # cheaper than copying the record without it
    try:
        return _blake2b(_ENC.encode(record), digest_size=16).hexdigest()
    finally:
        if source_time is not _ABSENT:
            record["source_time"] = source_time


def storable_payload(payload: str, encoding: str) -> dict[str, str]:
    """``payload`` / ``payload_encoding`` for a quarantine row. PostgreSQL text cannot hold
    NUL, and no database can encode a lone surrogate (JSON's ``\\ud800``): a payload with
    either is kept as base64 of its UTF-8 bytes (surrogates passed through): exact, and replayable."""
    if _UNSTORABLE.search(payload):
        return {
            "payload": base64.b64encode(payload.encode("utf-8", "surrogatepass")).decode("ascii"),
            "payload_encoding": "base64",
        }
    return {"payload": payload, "payload_encoding": encoding}


def no_nul(text: str | None) -> str | None:
    """A message or field name that quotes a NUL (a JSON key ``"a\\u0000"``) shows it as ␀."""
    return text.replace("\x00", "\u2400") if text else text


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def outbox_row(
    k: Kind,
    system: str,
    message_id: str,
    record: dict[str, Any],
    key_text: str | None,
    version: int | None,
    event: str,
    lineage_id: int,
    now: datetime,
) -> dict[str, Any]:
    """The outbox event of one stored record (``event``: created or updated), published
    on ``govhub.events`` with the key ``{kind}.{region}.{system}``."""
    return {
        "exchange": EVENTS_EXCHANGE,
        "routing_key": f"{k.kind}.{record.get('region_code') or 'unknown'}.{system}",
        "kind": k.kind,
        "record_key": key_text,
        "event": event,
        "body": {
            "event": event,
            "kind": k.kind,
            "key": key_text,
            "version": version,
            "source_system": system,
            "region_code": record.get("region_code"),
            "message_id": message_id,
            "lineage_id": lineage_id,
            "correlation_id": correlation.current(),
        },
        "created_at": now,
    }


def dialect_insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]], returning_ids: bool = False) -> list[int]:
    """Insert many rows; on PostgreSQL with COPY (an order of magnitude faster than
    multi-row INSERT for thousands of rows), elsewhere with executemany. With
    ``returning_ids`` the new primary keys come back in row order."""
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        if returning_ids:
            return list(conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())
        conn.execute(insert(table), rows)
        return []
    raw = conn.connection.driver_connection  # the same psycopg connection, inside the same transaction
    assert raw is not None  # an open connection has its driver's
    ids: list[int] = []
    cols = list(rows[0])
    if returning_ids:
        with raw.cursor() as cur:
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", (table.name, len(rows))
            )
            ids = [r[0] for r in cur.fetchall()]
        cols = ["id", *cols]
    data_cols = [c for c in cols if c != "id"]
    json_at = [i for i, c in enumerate(data_cols) if isinstance(table.c[c].type, JSON)]
    pick = itemgetter(*data_cols)  # one C call per row instead of a Python loop over its cells
    encode = _JSON_CELL.encode

    with raw.cursor() as cur:
        with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
            write = copy.write_row
            for i, row in enumerate(rows):
                values = pick(row)
                if len(data_cols) == 1:
                    values = (values,)
                if json_at:
                    values = list(values)
                    for j in json_at:
                        if values[j] is not None:
                            values[j] = encode(values[j]).decode()
                write((ids[i], *values) if returning_ids else values)
    return ids


_JSON_CELL = msgspec.json.Encoder(decimal_format="string")


def add_counts(conn: Connection, system: str, kind: str, counts: Counter[str]) -> None:
    rows = [{"source_system": system, "kind": kind, "outcome": o, "n": n} for o, n in counts.items() if n]
    if not rows:
        return
    stmt = dialect_insert(conn, ingest_counter)
    stmt = stmt.on_conflict_do_update(
        index_elements=["source_system", "kind", "outcome"], set_={"n": ingest_counter.c.n + stmt.excluded.n}
    )
    conn.execute(stmt, rows)


def quarantine_message(
    engine: Engine, system: str, kind: str, message_id: str, body: bytes, reason: str, message: str, rule: str
) -> None:
    """Dead-letter a whole message into the hub's own store (works on every transport)."""
    try:
        payload, enc = body.decode("utf-8"), "text"
    except UnicodeDecodeError:
        payload, enc = None, "base64"
    if payload is None or "\x00" in payload:  # PostgreSQL text cannot hold NUL characters
        payload, enc = base64.b64encode(body).decode("ascii"), "base64"
    now = clock.now().replace(microsecond=0)
    with engine.begin() as conn:
        lid = conn.execute(
            insert(lineage).returning(lineage.c.id),
            {
                "source_system": system,
                "kind": kind,
                "message_id": message_id,
                "seq": 0,
                "record_key": None,
                "received_at": now,
                "payload_hash": text_hash(payload),
                "mapping": "-",
                "schema_version": "-",
                "outcome": "quarantined",
                "detail": reason,
                "record_version": None,
            },
        ).scalar_one()
        conn.execute(
            insert(quarantine),
            {
                "lineage_id": lid,
                "source_system": system,
                "kind": kind,
                "message_id": message_id,
                "seq": 0,
                "received_at": now,
                "reason": reason,
                "message": mask_text(message).replace("\x00", "\u2400"),
                "rule": rule,
                "field": None,
                "schema_version": "-",
                "mapping": "-",
                "payload": payload,
                "payload_encoding": enc,
                "status": "open",
            },
        )
        add_counts(conn, system, kind, Counter({"quarantined": 1}))
