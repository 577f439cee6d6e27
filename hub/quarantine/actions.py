"""The trace of what administrators did with quarantined records (``quarantine_action``):
written by ``hub.quarantine.workflow``, read by ``hub.quarantine.view`` too."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, String, Table, Text

from hub.db.tables import Id, Json, metadata

quarantine_action = Table(
    "quarantine_action",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("quarantine_id", BigInteger(), nullable=False),
    Column("action", String(12), nullable=False, comment="correct | retry | reject | export"),
    Column("operator", String(100), nullable=False, comment="the administrator"),
    Column("at", DateTime(), nullable=False),
    Column("note", Text(), nullable=True, comment="personal data masked"),
    Column("outcome", String(12), nullable=False, comment="stored | duplicate | quarantined | rejected | exported"),
    Column("detail", String(40), nullable=True, comment="new | updated | stale | same_content, or the reason it failed again"),
    Column("message", Text(), nullable=True, comment="why it failed again (masked)"),
    Column("rule", String(100), nullable=True),
    Column("field", String(100), nullable=True),
    Column("mapping", String(100), nullable=True, comment="the mapping (name@version) the retry used"),
    Column("schema_version", String(40), nullable=True),
    Column("lineage_id", BigInteger(), nullable=True, comment="the lineage row of the stored record"),
    Column("changes", Json, nullable=True, comment="source field → [before, after], masked"),
    Column("payload", Text(), nullable=True, comment="the corrected record tried (as quarantine.payload: shown masked only)"),
    Index("ix_quarantine_action_quarantine", "quarantine_id", "id"),
    comment="隔离区处理记录",
)
