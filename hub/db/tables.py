"""SQLAlchemy 2 tables of the resource libraries and of the hub's own bookkeeping.

Library tables (``lib_<kind>``) are built from the data dictionary so the columns, the
XSD and the JSON Schema cannot drift apart. Each library row carries its source system,
source time, version and content hash; the previous values of a row that changes go to
``record_history`` first (nothing is silently overwritten).

Lists inside a record (a case's steps, special procedures and materials; an enterprise's
permits...) are stored as JSON on the row: one row per record keeps ingest close to the
speed of a bulk copy, and their structure is enforced by the contract before storage.

Bookkeeping tables: ``ingest_message`` (message ids seen), ``lineage`` (one row per
received record, with its outcome), ``quarantine``, ``record_history``, ``outbox`` and
``ingest_counter`` (running totals behind ``govhub stats``); ``exchange_log`` and its head
row, the tamper-evident log of every message in and out (``hub.audit``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from hub.model.dictionary import Field, Kind, kinds

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
Id = BigInteger().with_variant(Integer, "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


def _column_type(f: Field) -> TypeEngine[Any]:
    if f.type in ("string", "code", "enum"):
        if f.type == "enum":
            return String(max(16, *(len(v) for v in f.values or ())))
        return String(int(f.max or 64))
    by_type: dict[str, TypeEngine[Any]] = {
        "text": Text(),
        "int": Integer(),
        "decimal": Numeric(18, 2),
        "date": Date(),
        "datetime": DateTime(),
        "bool": Boolean(),
        "list": Json,
    }
    return by_type[f.type]


def _library_table(k: Kind) -> Table:
    key_cols = (("source_system",) if k.key_scoped_by_source else ()) + k.key
    cols: list[Column[Any]] = [
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("source_system", String(64), nullable=False, comment="来源系统"),
    ]
    for f in k.fields:
        if f.name == "source_time":
            continue  # bookkeeping column below
        cols.append(Column(f.name, _column_type(f), nullable=not f.required, comment=f.label))
    cols += [
        Column("source_time", DateTime(), nullable=True, comment="源系统更新时间"),
        Column("version", Integer(), nullable=False, default=1, comment="本库版本"),
        Column("payload_hash", String(32), nullable=False, comment="内容摘要"),
        Column("received_at", DateTime(), nullable=False),
        Column("updated_at", DateTime(), nullable=False),
        Column("lineage_id", BigInteger(), nullable=True),
    ]
    return Table(
        f"lib_{k.kind}",
        metadata,
        *cols,
        UniqueConstraint(*key_cols, name=f"uq_lib_{k.kind}_key"),
        Index(f"ix_lib_{k.kind}_updated", "updated_at"),
        comment=f"{k.label}库",
    )


LIBRARY: dict[str, Table] = {name: _library_table(k) for name, k in kinds().items()}

ingest_message = Table(
    "ingest_message",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source_system", String(64), nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("format", String(16), nullable=False),
    Column("received_at", DateTime(), nullable=False),
    Column("records", Integer(), nullable=False),
    Column("stored", Integer(), nullable=False),
    Column("duplicate", Integer(), nullable=False),
    Column("quarantined", Integer(), nullable=False),
    Column("payload_hash", String(32), nullable=False),
    UniqueConstraint("source_system", "message_id", name="uq_ingest_message_key"),
)

lineage = Table(
    "lineage",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source_system", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("seq", Integer(), nullable=False, comment="position of the record in its message"),
    Column("record_key", String(200), nullable=True),
    Column("received_at", DateTime(), nullable=False),
    Column("payload_hash", String(32), nullable=False),
    Column("mapping", String(100), nullable=False),
    Column("schema_version", String(40), nullable=False),
    Column("outcome", String(12), nullable=False, comment="stored | duplicate | quarantined"),
    Column("detail", String(40), nullable=False),
    Column("record_version", Integer(), nullable=True),
    Column("correction_of", BigInteger(), nullable=True, comment="the quarantine id this record was corrected from"),
    Column("corrected_by", String(100), nullable=True, comment="the administrator who corrected and retried it"),
    # a quarantined row a correction replaced is kept (lineage is evidence) but no longer current:
    # the books (counters, stats, report, metrics) count current rows only
    Column("superseded_by", BigInteger(), nullable=True, comment="the lineage row of the correction that replaced it"),
    Column("superseded_at", DateTime(), nullable=True),
    Index("ix_lineage_key", "kind", "record_key"),
    # seq too: a batch asks which of its records were already quarantined from this message
    Index("ix_lineage_message", "source_system", "message_id", "seq"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("lineage_id", BigInteger(), nullable=True),
    Column("source_system", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("seq", Integer(), nullable=False),
    Column("received_at", DateTime(), nullable=False),
    Column("reason", String(64), nullable=False, comment="machine reason code"),
    Column("message", Text(), nullable=False, comment="readable, personal data masked"),
    Column("rule", String(100), nullable=False),
    Column("field", String(100), nullable=True),
    Column("schema_version", String(40), nullable=False),
    Column("mapping", String(100), nullable=False),
    Column("payload", Text(), nullable=False, comment="the original record, as received"),
    Column("payload_encoding", String(20), nullable=False),
    Column("status", String(12), nullable=False, default="open", comment="open | retried | rejected"),
    Column("note", Text(), nullable=True),
    Column("resolved_by", String(100), nullable=True),
    Column("resolved_at", DateTime(), nullable=True),
    Index("ix_quarantine_source", "source_system", "kind", "status"),
    Index("ix_quarantine_reason", "reason"),
    Index("ix_quarantine_rule", "rule", "status"),  # govhub quarantine retry --rule R
)

record_history = Table(
    "record_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("record_id", BigInteger(), nullable=False),
    Column("record_key", String(200), nullable=False),
    Column("version", Integer(), nullable=False, comment="the version these values belonged to"),
    Column("source_system", String(64), nullable=False),
    Column("source_time", DateTime(), nullable=True),
    Column("recorded_at", DateTime(), nullable=False),
    Column("lineage_id", BigInteger(), nullable=True, comment="the record that caused this entry"),
    Column("reason", String(20), nullable=False, comment="replaced | stale"),
    Column("changed_fields", Json, nullable=False),
    Column("values", Json, nullable=False),
    Index("ix_record_history_record", "kind", "record_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("exchange", String(64), nullable=False),
    Column("routing_key", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("record_key", String(200), nullable=False),
    Column("event", String(20), nullable=False),
    Column("body", Json, nullable=False),
    Column("created_at", DateTime(), nullable=False),
    Column("published_at", DateTime(), nullable=True),
    Index("ix_outbox_pending", "published_at", "id"),
)

ingest_counter = Table(
    "ingest_counter",
    metadata,
    Column("source_system", String(64), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("outcome", String(12), primary_key=True),
    Column("n", BigInteger(), nullable=False),
)

delivery = Table(
    "delivery",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("peer", String(64), nullable=False, comment="receiving system id"),
    Column("source_system", String(64), nullable=False, comment="whose record it is"),
    Column("kind", String(32), nullable=False),
    Column("record_key", String(200), nullable=False),
    Column("record_version", Integer(), nullable=False),
    Column("record_id", BigInteger(), nullable=True, comment="library row, for report watermarks"),
    Column("record_updated_at", DateTime(), nullable=True),
    Column("ordering_key", String(200), nullable=False, comment="records with the same key arrive in order"),
    Column("reason", String(40), nullable=False, default="route", comment="route | report | backfill:<id>"),
    Column("status", String(16), nullable=False, comment="pending | acknowledged | sent | superseded | dead"),
    Column("attempts", Integer(), nullable=False, default=0),
    Column("next_attempt_at", DateTime(), nullable=False),
    Column("last_error", Text(), nullable=True),
    Column("message_id", String(200), nullable=True, comment="the message it went out in"),
    Column("peer_ref", String(200), nullable=True, comment="the peer's receipt id"),
    Column("created_at", DateTime(), nullable=False),
    Column("updated_at", DateTime(), nullable=False),
    Column("delivered_at", DateTime(), nullable=True),
    Column("correlation_id", String(64), nullable=True, comment="the ingress the record came in by (hub.correlation)"),
    UniqueConstraint(
        "peer", "kind", "source_system", "record_key", "record_version", "reason", name="uq_delivery_record"
    ),
    Index("ix_delivery_due", "peer", "status", "id"),
)

report_watermark = Table(
    "report_watermark",
    metadata,
    Column("peer", String(64), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("enqueued_at", DateTime(), nullable=True, comment="records changed up to here are queued for the peer"),
    Column("enqueued_id", BigInteger(), nullable=True),
    Column(
        "acknowledged_at", DateTime(), nullable=True, comment="records changed up to here are acknowledged by the peer"
    ),
    Column("acknowledged_id", BigInteger(), nullable=True),
    Column("updated_at", DateTime(), nullable=False),
)

# Authentication bookkeeping, shared by every worker process (hub.db.replay, hub.api.lockout).
used_credential = Table(
    "used_credential",
    metadata,
    Column("kind", String(16), primary_key=True, comment="hmac | wsse"),
    Column("value_hash", String(64), primary_key=True, comment="SHA-256 of the signature or nonce, never the value"),
    Column("expires_at", BigInteger(), nullable=False, comment="unix seconds: after it the credential is stale anyway"),
    Index("ix_used_credential_expires", "expires_at"),
    comment="signatures and nonces accepted once: a replay within their window is refused",
)

auth_failure = Table(
    "auth_failure",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subject", String(200), nullable=False, comment="system id @ client address, or ? @ address"),
    Column("failed_at", DateTime(), nullable=False),
    Index("ix_auth_failure_subject", "subject", "failed_at"),
    comment="recent authentication failures, for the lockout",
)

# The exchange log (存证, hub.audit): one hash-chained entry per message in and delivery out.
# Its format is fixed by the offline verifier: the entry's fields, canonical JSON, sha256.
exchange_log = Table(
    "exchange_log",
    metadata,
    Column("seq", BigInteger(), primary_key=True, autoincrement=False, comment="1, 2, 3 … one sequence per hub"),
    Column("at", String(40), nullable=False, comment="ISO 8601 UTC with Z, as hashed"),
    Column("direction", String(3), nullable=False, comment="in | out"),
    Column("channel", String(16), nullable=False),
    Column("system", String(64), nullable=False),
    Column("peer", String(64), nullable=True),
    Column("message_id", String(128), nullable=False),
    Column("digest", String(71), nullable=False, comment="sha256:<hex> of the exact bytes"),
    Column("size", BigInteger(), nullable=False),
    Column("outcome", JSON(), nullable=False),
    Column("correlation_id", Text(), nullable=True, comment="a delivery's: the ingress ids of its records"),
    Column("prev", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_exchange_log_message", "message_id"),
    Index("ix_exchange_log_at", "at"),
    comment="the tamper-evident exchange log: each entry's hash covers the previous one",
)

# One row (id 1): the chain's head. Appends lock it (PostgreSQL: SELECT … FOR UPDATE), so
# the workers of one hub append one after the other and the chain has no fork.
exchange_log_head = Table(
    "exchange_log_head",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=False),
    Column("seq", BigInteger(), nullable=False),
    Column("hash", String(64), nullable=False),
    comment="the exchange log's head (one row): serialises appends",
)

# Signed checkpoints of the exchange log (hub.audit.checkpoint): the chain's head at a seq,
# signed with the hub's key and, with a TSA configured, time-stamped (RFC 3161).
audit_checkpoint = Table(
    "audit_checkpoint",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("seq", BigInteger(), nullable=False, comment="the head entry's seq when it was taken"),
    Column("head", String(64), nullable=False, comment="that entry's hash"),
    Column("at", String(40), nullable=False, comment="ISO 8601 UTC with Z, as signed"),
    Column("taken_at", DateTime(), nullable=False, comment="hub time (CST), for the checkpoint's age"),
    Column(
        "signed",
        JSON(),
        nullable=False,
        comment="the checkpoint as signed: seq, head, at, hub, algorithm, signature, timestamp",
    ),
    Column("certificate", Text(), nullable=False, comment="the hub's certificate (PEM) it was signed under"),
    Column("tsa_certificate", Text(), nullable=True, comment="the TSA's certificate (PEM), when time-stamped"),
    Column("stamp_error", Text(), nullable=True, comment="why a configured TSA gave no time-stamp"),
    Index("ix_audit_checkpoint_seq", "seq"),
    comment="signed chain heads of the exchange log",
)

# Archived segments of the exchange log (govhub audit archive): verified, packaged to a zip,
# and only then pruned from exchange_log; verification continues from last_seq / last_hash.
exchange_log_archive = Table(
    "exchange_log_archive",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("first_seq", BigInteger(), nullable=False),
    Column("last_seq", BigInteger(), nullable=False, comment="a checkpoint's seq: the segment ends sealed"),
    Column("last_hash", String(64), nullable=False, comment="the last entry's hash: the next entry's prev"),
    Column("first_at", String(40), nullable=False),
    Column("last_at", String(40), nullable=False),
    Column("entries", BigInteger(), nullable=False),
    Column("objects", BigInteger(), nullable=False, comment="message bytes packaged (and pruned from the store)"),
    Column("path", Text(), nullable=False, comment="the archive zip"),
    Column("digest", String(71), nullable=False, comment="sha256:<hex> of the archive zip"),
    Column("archived_at", DateTime(), nullable=False),
    comment="segments of the exchange log archived and pruned",
)
