"""Where suite results are kept: one ``quality_run`` row per suite run (per ingest batch,
or per source, kind and day), with the failed expectations and masked examples."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Index, Integer, String, Table

from hub.db.tables import Id, metadata

quality_run = Table(
    "quality_run",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("scope", String(12), nullable=False, comment="batch | daily"),
    Column("source_system", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("message_id", String(128), nullable=True, comment="the ingest message (batch scope)"),
    Column("day", Date(), nullable=True, comment="the CST day checked (daily scope)"),
    Column("suite", String(100), nullable=False),
    Column("suite_version", String(40), nullable=False),
    Column("evaluated", Integer(), nullable=False, comment="expectations evaluated"),
    Column("failed", Integer(), nullable=False, comment="expectations failed"),
    Column("rows", Integer(), nullable=False, comment="records checked"),
    Column("success", Boolean(), nullable=False),
    Column("results", JSON(), nullable=False, comment="per expectation: rule, success, counts, masked examples"),
    Column("run_at", DateTime(), nullable=False),
    Index("ix_quality_run_source_day", "source_system", "kind", "day"),
    Index("ix_quality_run_run_at", "run_at"),
    comment="数据质量检查结果",
)
