"""One benchmark stage, run in its own process so its peak memory is its own:
``python -m bench.stages STAGE --db URL --data DIR``; the last line on standard output
is the stage's figures as JSON, progress goes to standard error.

Stages: ``xml_first`` / ``xml_again`` (the hub's end-to-end XML ingest, first load and a
re-delivery of the same records under a new message id), ``rest`` (JSON pushes over the
REST ingress, see ``bench.rest``), ``copy`` (COPY into a bare table: the physical
limit), ``orm`` (a session.merge per record: what a hand-built job does), ``dlt`` (the
peer tool, ``bench.dlt_stage``) and ``rest_latency`` (response times, ``bench.latency``).
"""

from __future__ import annotations

import io
import json
import os
import resource
import time
from pathlib import Path

import click

from bench.common import bar as _bar
from bench.common import count_records


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def xml_ingest(db: str, data: Path, message_id: str, expect: str) -> dict:
    # Each stage imports only what it runs: its process's peak RSS is the stage's figure.
    from hub.db.engine import engine_for
    from hub.wiring import standard_pipeline

    n = count_records(data)
    engine = engine_for(db)
    pipeline = standard_pipeline(engine, batch_size=int(os.environ.get("GOVHUB_BATCH_SIZE") or 2000))
    with _bar(n, message_id) as bar, open(data / "cases.xml", "rb") as f:
        t0 = time.perf_counter()
        summary = pipeline.ingest(
            io.BufferedReader(f, 1 << 16), "bench-xml", fmt="xml", message_id=message_id, on_batch=bar.update
        )
        seconds = time.perf_counter() - t0
    d = summary.as_dict()
    if d[expect] != n or d["received"] != n:
        raise SystemExit(f"{message_id}: expected {n:,} {expect}, got {d}")
    return {"records": n, "seconds": seconds, "outcomes": {k: d[k] for k in ("stored", "duplicate", "quarantined")}}


def copy_baseline(db: str, data: Path) -> dict:
    """The physical limit: the records' CSV streamed into a typed table with no index
    but its primary key, in one transaction."""
    import psycopg  # deferred: each stage's peak RSS counts only what it loads

    from bench.records import COLUMN_TYPES, COLUMNS

    n = count_records(data)
    cols = ", ".join(f"{c} {COLUMN_TYPES[c]}" for c in COLUMNS)
    with psycopg.connect(db) as conn, _bar(n, "COPY") as bar:
        conn.execute(f"CREATE TABLE bench_copy (id bigserial PRIMARY KEY, {cols})")
        conn.commit()
        t0 = time.perf_counter()
        with conn.cursor() as cur, open(data / "cases.csv", "rb") as f:
            with cur.copy(f"COPY bench_copy ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                while block := f.read(1 << 20):
                    copy.write(block)
                    bar.update(block.count(b"\n"))
        conn.commit()
        seconds = time.perf_counter() - t0
        stored = conn.execute("SELECT count(*) FROM bench_copy").fetchone()[0]
    if stored != n:
        raise SystemExit(f"COPY stored {stored:,} of {n:,}")
    return {"records": n, "seconds": seconds, "outcomes": {"stored": stored}}


def orm_baseline(db: str, data: Path, limit: int) -> dict:
    """A hand-built job: read each record, ``session.merge`` it by its key, commit every
    1,000 — on the first ``limit`` records (it is too slow for millions)."""
    # deferred: each stage's peak RSS counts only what it loads
    from sqlalchemy.orm import Session

    from bench.orm import Base, BenchCase, from_json
    from hub.db.engine import make_engine

    n = min(count_records(data), limit)
    engine = make_engine(db)
    Base.metadata.create_all(engine)
    with Session(engine) as session, open(data / "cases.jsonl", "rb") as f, _bar(n, "ORM merge") as bar:
        t0 = time.perf_counter()
        for i, line in enumerate(f, 1):
            if i > n:
                break
            session.merge(BenchCase(**from_json(json.loads(line))))
            if i % 1000 == 0:
                session.commit()
                bar.update(1000)
        session.commit()
        seconds = time.perf_counter() - t0
    return {"records": n, "seconds": seconds, "outcomes": {"stored": n}}


@click.command()
@click.argument("stage", type=click.Choice(["xml_first", "xml_again", "rest", "rest_latency", "copy", "dlt", "orm"]))
@click.option("--db", required=True)
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--orm-limit", default=20_000, show_default=True)
@click.option("--servers", default=2, show_default=True)
@click.option("--clients", default=4, show_default=True)
@click.option("--push-size", default=1000, show_default=True)
@click.option("--latency-clients", default="8,50", show_default=True)
@click.option("--latency-seconds", default=60.0, show_default=True)
@click.option("--latency-push-size", default=100, show_default=True)
def main(
    stage, db, data, orm_limit, servers, clients, push_size, latency_clients, latency_seconds, latency_push_size
) -> None:
    if stage == "xml_first":
        out = xml_ingest(db, data, "bench-first", "stored")
    elif stage == "xml_again":
        out = xml_ingest(db, data, "bench-again", "duplicate")
    elif stage == "copy":
        out = copy_baseline(db, data)
    elif stage == "orm":
        out = orm_baseline(db, data, orm_limit)
    elif stage == "rest_latency":
        from bench.latency import rest_latency  # deferred: each stage's peak RSS counts only what it loads

        levels = [int(c) for c in latency_clients.split(",") if c.strip()]
        out = rest_latency(db, data, servers, levels, latency_seconds, latency_push_size)
    elif stage == "dlt":
        from bench.dlt_stage import dlt_merge  # deferred: each stage's peak RSS counts only what it loads

        out = dlt_merge(db, data)
    else:
        from bench.rest import rest_ingest  # deferred: each stage's peak RSS counts only what it loads

        out = rest_ingest(db, data, servers, clients, push_size)
    out.setdefault("peak_rss_mb", peak_rss_mb())
    use = resource.getrusage(resource.RUSAGE_SELF)
    out.setdefault("cpu_seconds", use.ru_utime + use.ru_stime)  # this process only (not the server's)
    out["stage"] = stage
    print(json.dumps(out))


if __name__ == "__main__":
    main()
