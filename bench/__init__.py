"""``make bench``: the hub's ingest measured side by side with its physical limit
(PostgreSQL COPY) and with what a hand-built job does (an ORM merge per record).

Run ``python -m bench --help``; what each stage measures is in ``docs/bench.md``.
"""
