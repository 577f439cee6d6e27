"""``make bench-audit``: what the exchange log (存证, issue #21) costs the XML first load.

The same stage as ``make bench``'s first load (the hub's end-to-end XML ingest of N new
records, one message) runs with the log and without it, alternately, each run in its own
process on a fresh database: with, the message's exact bytes are hashed and kept in the
object store and its hash-chained entry is written in the last batch's transaction;
without, those calls are replaced by no-ops in the run's process. The figure is the ratio of
the median times (and of the fastest runs: on a busy machine the least disturbed), on SQLite
and (when reachable) PostgreSQL. The issue's bound: at most 10%.

    python bench/audit_cost.py --n 20000 [--repeat 3] [--pg postgresql://...]
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import click
import yaml

from bench.common import bar, count_records
from bench.records import DEPARTMENT, write_all

ROOT = Path(__file__).resolve().parents[1]
BOUND = 0.10


def _catalogue(folder: Path) -> Path:
    from synth.generator import Generator

    code, region = next((c, r) for name, c, r in Generator(seed=0).departments if name == DEPARTMENT)
    system = {"id": "bench-xml", "name": "基准测试 XML 报送", "level": "department"}
    system.update({"region_code": region, "dept_code": code, "mappings": {}})
    path = folder / "systems.yaml"
    path.write_text(yaml.safe_dump({"systems": [system]}, allow_unicode=True), encoding="utf-8")
    return path


def _without_log() -> None:
    """This process only: no exchange log — no entry, no probe, no bytes kept."""
    from hub.audit import chain, objects

    chain.append = lambda conn, **kw: {}  # type: ignore[assignment]
    chain.probe = lambda conn: None  # type: ignore[assignment]

    def finish(self):  # the digest and size the entry would carry, never computed
        self.result = ("sha256:" + "0" * 64, 0)
        return self.result

    objects.Capture.finish = finish  # type: ignore[method-assign]


def run_once(db: str, data: Path, logged: bool) -> float:
    from hub.db.engine import engine_for, migrate
    from hub.wiring import standard_pipeline

    if not logged:
        _without_log()
    migrate(db)
    n = count_records(data)
    pipeline = standard_pipeline(engine_for(db), batch_size=int(os.environ.get("GOVHUB_BATCH_SIZE") or 2000))
    with bar(n, "with log" if logged else "without") as b, open(data / "cases.xml", "rb") as f:
        t0 = time.perf_counter()
        s = pipeline.ingest(io.BufferedReader(f, 1 << 16), "bench-xml", fmt="xml", message_id="m1", on_batch=b.update)
        seconds = time.perf_counter() - t0
    if s.as_dict()["stored"] != n:
        raise SystemExit(f"expected {n:,} stored, got {s.as_dict()}")
    return seconds


def _fresh_pg(admin: str) -> tuple[str, object]:
    import psycopg
    from psycopg import sql

    name = f"govhub_audit_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", drop


def _reachable(admin: str) -> bool:
    import psycopg

    try:
        psycopg.connect(admin, connect_timeout=5).close()
    except psycopg.Error:
        return False
    return True


def _child(db: str, data: Path, logged: bool, env: dict[str, str]) -> float:
    cmd = [sys.executable, str(Path(__file__)), "--child", db, "--data", str(data)]
    proc = subprocess.run([*cmd, "--logged" if logged else "--unlogged"], env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise click.ClickException(f"a run failed (exit {proc.returncode}): {proc.stdout[-2000:]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["seconds"])


def measure(backend: str, data: Path, work: Path, repeat: int, pg: str | None) -> dict:
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(repeat):
        for logged in (True, False) if i % 2 == 0 else (False, True):  # alternate: no drift favours one
            home = work / f"{backend}-{i}-{int(logged)}"
            home.mkdir()
            env = {**os.environ, "GOVHUB_HOME": str(home), "GOVHUB_CATALOG": str(_catalogue(work))}
            env["PYTHONPATH"] = str(ROOT)
            env["GOVHUB_QUALITY_BATCH"] = os.environ.get("GOVHUB_QUALITY_BATCH") or "off"  # as make bench
            if backend == "sqlite":
                times[logged].append(_child(f"sqlite:///{home / 'hub.db'}", data, logged, env))
                continue
            assert pg is not None
            db, drop = _fresh_pg(pg)
            try:
                times[logged].append(_child(db, data, logged, env))
            finally:
                drop()  # type: ignore[operator]
    with_log, without = statistics.median(times[True]), statistics.median(times[False])
    return {
        "backend": backend,
        "with_log_s": with_log,
        "without_s": without,
        "cost": with_log / without - 1,
        "cost_min": min(times[True]) / min(times[False]) - 1,  # the least disturbed run of each
        "runs": {"with": times[True], "without": times[False]},
    }


@click.command()
@click.option("--n", default=20_000, show_default=True, help="records in the message")
@click.option("--seed", default=2026, show_default=True)
@click.option("--repeat", default=3, show_default=True, help="runs of each variant (medians compared)")
@click.option(
    "--pg",
    envvar="GOVHUB_BENCH_PG_URL",
    default="postgresql://postgres@127.0.0.1:5432/postgres",
    show_default=True,
    help="PostgreSQL server where each run creates (and drops) its database; unreachable: SQLite only",
)
@click.option("--child", hidden=True)
@click.option("--data", hidden=True, type=click.Path(path_type=Path))
@click.option("--logged/--unlogged", hidden=True, default=True)
def main(n, seed, repeat, pg, child, data, logged) -> None:
    """The exchange log's cost on the XML first load, as a ratio."""
    if child:
        click.echo(json.dumps({"seconds": run_once(child, data, logged)}))
        return
    with tempfile.TemporaryDirectory(prefix="govhub-audit-bench-") as tmp:
        work = Path(tmp)
        data = work / "data"
        write_all(n, data, seed)
        (data / "count").write_text(str(n))
        results = [measure("sqlite", data, work, repeat, None)]
        if _reachable(pg):
            results.append(measure("postgresql", data, work, repeat, pg))
        else:
            click.echo(f"PostgreSQL at {pg.rsplit('@', 1)[-1]} is unreachable: SQLite only", err=True)
    click.echo(f"exchange log cost on the XML first load ({n:,} records, median of {repeat} runs each):")
    for r in results:
        spread = max(max(v) / min(v) - 1 for v in r["runs"].values())
        verdict = "within" if max(r["cost"], r["cost_min"]) <= BOUND else "OVER"
        if spread > BOUND:  # the machine's noise is larger than what is measured
            verdict = f"inconclusive, runs vary by up to {spread:.0%}, vs"
        click.echo(
            f"  {r['backend']:<11} with log {r['with_log_s']:.2f}s, without {r['without_s']:.2f}s: "
            f"{r['cost']:+.1%} ({verdict} the {BOUND:.0%} bound; fastest runs {r['cost_min']:+.1%}); runs "
            + " / ".join(f"{k} " + ", ".join(f"{t:.2f}" for t in v) for k, v in r["runs"].items())
        )
    click.echo(json.dumps(results))


if __name__ == "__main__":
    main()
