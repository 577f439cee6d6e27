"""Ingest (入库): decode → validate → map → canonicalise → rules → store, per message and per partition."""
