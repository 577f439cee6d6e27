"""The peer stage: dlt (``dlt[postgres]``, the bench extra) loading the same records into
the same PostgreSQL server, as the tool a data engineer would pick instead of the hub —
``write_disposition="merge"`` on ``case_no``, dlt's defaults otherwise (schema inferred
from the JSON lines, its own staging and load). It checks nothing: no schema, no national
codes, no rules, no lineage, no outbox; the figure is what those cost the hub by
comparison. The records are loaded into the bench database's ``bench_dlt`` schema."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import bar as _bar
from bench.common import count_records


def _records(data: Path, bar):
    import msgspec  # deferred: each stage's peak RSS counts only what it loads

    decode = msgspec.json.Decoder().decode
    with open(data / "cases.jsonl", "rb") as f:
        for i, line in enumerate(f, 1):
            yield decode(line)
            if i % 1000 == 0:
                bar.update(1000)


def _with_password(url: str) -> str:
    """dlt's PostgreSQL credentials require a password; the bench's default server trusts
    loopback (``postgresql://postgres@127.0.0.1``) and ignores one, so a URL without a
    password gets a placeholder (a URL with one is used as it is)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is not None or not parts.username:
        return url
    return urlunsplit(parts._replace(netloc=f"{parts.username}:unused@{parts.netloc.split('@', 1)[1]}"))


def dlt_merge(db: str, data: Path) -> dict:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # nothing leaves the machine
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    import dlt  # deferred: each stage's peak RSS counts only what it loads
    import psycopg

    n = count_records(data)
    work = Path(tempfile.mkdtemp(prefix="govhub-bench-dlt-"))
    try:
        pipeline = dlt.pipeline(
            pipeline_name="govhub_bench",
            pipelines_dir=str(work),
            destination=dlt.destinations.postgres(credentials=_with_password(db)),
            dataset_name="bench_dlt",
        )
        with _bar(n, "dlt merge") as bar:
            t0 = time.perf_counter()
            resource = dlt.resource(_records(data, bar), name="cases", write_disposition="merge", primary_key="case_no")
            pipeline.run(resource)
            seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with psycopg.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM bench_dlt.cases").fetchone()[0]
    if stored != n:
        raise SystemExit(f"dlt stored {stored:,} of {n:,}")
    return {"records": n, "seconds": seconds, "outcomes": {"stored": stored}}
