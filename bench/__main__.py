"""``python -m bench`` (``make bench``): generate N cases once, then measure in one run,
each stage in its own process on a fresh PostgreSQL database the bench creates and
drops: the hub's XML ingest (first load, then a re-delivery of the same records), JSON
over the REST ingress with concurrent clients, and the two baselines — COPY into a bare
table (the physical limit) and a session.merge per record (a hand-built job) — the peer
tool (dlt merge, the bench extra) and the REST latency (p50/p95/p99). Prints a table with
ratios to COPY and to dlt and writes the same figures to ``var/bench.json``."""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
import sys
import time
import unicodedata
import uuid
from datetime import UTC, datetime
from pathlib import Path

import click
import psycopg
import yaml
from psycopg import sql
from tqdm import tqdm

from bench.records import DEPARTMENT, write_all
from hub.catalog.authn import sha256_hex
from hub.core.config import ROOT
from hub.db.engine import migrate
from synth.generator import Generator

STAGES = ("copy", "xml_first", "xml_again", "rest", "rest_latency", "dlt", "orm")
LABELS = {
    "copy": "COPY 裸表 (physical limit)",
    "xml_first": "XML 端到端 首次 (first load)",
    "xml_again": "XML 端到端 重投 (all duplicates)",
    "rest": "REST JSON 并发 (concurrent)",
    "rest_latency": "REST 延迟 (100-record pushes)",
    "dlt": "dlt merge (peer tool)",
    "orm": "ORM merge 逐条 (per record)",
}


def _data(n: int, seed: int, folder: Path) -> Path:
    """The records, generated once per (N, seed) and reused by later runs."""
    data = folder / f"data-{n}-{seed}"
    if (data / "count").exists():
        click.echo(f"records: reusing {data}")
        return data
    with tqdm(total=n, desc="generating", unit="rec", unit_scale=True, file=sys.stderr, leave=False) as bar:
        write_all(n, data, seed, progress=bar.update)
    (data / "count").write_text(str(n))
    return data


def _catalogue(folder: Path, key: str, latency_key: str = "") -> Path:
    code, region = next((c, r) for name, c, r in Generator(seed=0).departments if name == DEPARTMENT)
    systems = [
        {
            "id": "bench-xml",
            "name": "基准测试 XML 报送",
            "level": "department",
            "region_code": region,
            "dept_code": code,  # the pipeline authorises every record: these are this department's
            "mappings": {},
        },
        {
            "id": "bench-rest",
            "name": "基准测试 REST 报送",
            "level": "department",
            "region_code": region,
            "dept_code": code,
            "may_push": ["case"],
            "credentials": {"api_key_sha256": sha256_hex(key)},
        },
        {
            "id": "bench-latency",
            "name": "基准测试 REST 延迟",
            "level": "department",
            "region_code": region,
            "dept_code": code,
            "may_push": ["case"],
            "credentials": {"api_key_sha256": sha256_hex(latency_key or secrets.token_urlsafe(24))},
        },
    ]
    path = folder / "systems.yaml"
    path.write_text(yaml.safe_dump({"systems": systems}, allow_unicode=True), encoding="utf-8")
    return path


def _database(admin_url: str):
    """A fresh database on the server at ``admin_url``; returns (url, drop)."""
    name = f"govhub_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = admin_url.rsplit("/", 1)[0]

    def drop():
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    return f"{base}/{name}", drop


def _run_stage(stage: str, db: str, data: Path, env: dict, opts: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.stages", stage, "--db", db, "--data", str(data), *opts],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    if proc.returncode != 0:
        raise click.ClickException(f"stage {stage} failed (exit {proc.returncode}): {proc.stdout[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _cell(s: str, width: int, left: bool = False) -> str:
    pad = " " * max(0, width - _width(s))
    return s + pad if left else pad + s


def _table(results: list[dict], copy_rate: float | None, dlt_rate: float | None = None) -> str:
    widths = (38, 14, 12, 14, 14, 14, 16)
    head = ["阶段 stage", "记录 records", "秒 seconds", "条/秒 rec/s", "对COPY ratio", "对dlt ratio", "峰值内存 RSS"]
    lines = ["".join(_cell(h, w, i == 0) for i, (h, w) in enumerate(zip(head, widths))), "-" * sum(widths)]
    for r in results:
        cells = [
            LABELS[r["stage"]],
            f"{r['records']:,}",
            f"{r['seconds']:.1f}",
            f"{r['rate']:,.0f}",
            f"{r['rate'] / copy_rate:.1%}" if copy_rate else "—",
            f"{r['rate'] / dlt_rate:.2f}×" if dlt_rate else "—",
            f"{r['peak_rss_mb']:,.0f} MB",
        ]
        lines.append("".join(_cell(c, w, i == 0) for i, (c, w) in enumerate(zip(cells, widths))))
    lines += [_latency_line(level) for r in results for level in r.get("levels", ())]
    return "\n".join(lines)


def _latency_line(level: dict) -> str:
    return (
        f"  REST 延迟 latency, {level['clients']} clients × {level['push_size']} records: "
        f"p50 {level['p50_ms']:,.0f} ms, p95 {level['p95_ms']:,.0f} ms, p99 {level['p99_ms']:,.0f} ms "
        f"({level['pushes']:,} pushes in {level['seconds']:.0f} s, {level['errors']} failed)"
    )


@click.command()
@click.option("--n", "n", default=200_000, show_default=True, help="records to generate")
@click.option("--seed", default=2026, show_default=True)
@click.option(
    "--stages",
    default=",".join(STAGES),
    show_default=True,
    help="comma-separated subset, e.g. xml_first for the memory check",
)
@click.option(
    "--pg-url",
    envvar="GOVHUB_BENCH_PG_URL",
    default="postgresql://postgres@127.0.0.1:5432/postgres",
    show_default=True,
    help="server where the bench creates (and drops) its database",
)
@click.option("--orm-limit", default=20_000, show_default=True, help="records for the ORM baseline (too slow for all)")
@click.option("--servers", default=2, show_default=True, help="REST: uvicorn server processes")
@click.option("--clients", default=4, show_default=True, help="REST: concurrent client threads")
@click.option("--push-size", default=1000, show_default=True, help="REST: records per push")
@click.option(
    "--latency-clients", default="8,50", show_default=True, help="REST latency: concurrency levels, one after another"
)
@click.option("--latency-seconds", default=60.0, show_default=True, help="REST latency: seconds per level")
@click.option("--latency-push-size", default=100, show_default=True, help="REST latency: records per push")
@click.option("--out", default=str(ROOT / "var" / "bench.json"), show_default=True, type=click.Path(path_type=Path))
@click.option("--keep", is_flag=True, help="keep the database (its URL is printed)")
def main(
    n,
    seed,
    stages,
    pg_url,
    orm_limit,
    servers,
    clients,
    push_size,
    latency_clients,
    latency_seconds,
    latency_push_size,
    out,
    keep,
) -> None:
    chosen = [s.strip() for s in stages.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in STAGES]
    if unknown:
        raise click.UsageError(f"unknown stages {unknown}; known: {', '.join(STAGES)}")
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count()
    # The stages measure the ingest. With the hub's default (on), every message is followed by
    # its batch quality suite in the same process: pandas and Great Expectations imported
    # (≈170 MB) and a DataFrame of up to 20,000 records (≈90 MB): 418 MB of peak RSS for any
    # N ≥ 20,000, which read as growth in N. GOVHUB_QUALITY_BATCH=on measures it anyway.
    quality = os.environ.get("GOVHUB_QUALITY_BATCH") or "off"
    click.echo(
        f"govhub bench — N={n:,} light cases (no lists, 22–35 fields, ≈34 on average), {cores} cores ({platform.processor() or platform.machine()}), "
        f"load {os.getloadavg()[0]:.1f}, PostgreSQL {pg_url.rsplit('@', 1)[-1]}, "
        f"GOVHUB_QUALITY_BATCH={quality}"
    )
    data = _data(n, seed, folder)
    key, latency_key = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "GOVHUB_CATALOG": str(_catalogue(folder, key, latency_key)),
        "GOVHUB_BENCH_API_KEY": key,
        "GOVHUB_BENCH_LATENCY_KEY": latency_key,
        # the latency stage measures what a pushing system sees with the hub's default (on)
        "GOVHUB_BENCH_LATENCY_QUALITY": os.environ.get("GOVHUB_QUALITY_BATCH") or "on",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "GOVHUB_QUALITY_BATCH": quality,
    }
    db, drop = _database(pg_url)
    results = []
    try:
        migrate(db)
        opts = [
            "--orm-limit",
            str(orm_limit),
            "--servers",
            str(servers),
            "--clients",
            str(clients),
            "--push-size",
            str(push_size),
            "--latency-clients",
            latency_clients,
            "--latency-seconds",
            str(latency_seconds),
            "--latency-push-size",
            str(latency_push_size),
        ]
        for stage in [s for s in STAGES if s in chosen]:
            t0 = time.time()
            r = _run_stage(stage, db, data, env, opts)
            r["rate"] = r["records"] / r["seconds"]
            results.append(r)
            click.echo(
                f"  {LABELS[stage]}: {r['rate']:,.0f} rec/s, peak {r['peak_rss_mb']:,.0f} MB, "
                f"{r['cpu_seconds']:,.0f}s CPU in its process ({time.time() - t0:.0f}s with start-up)"
            )
    finally:
        if keep:
            click.echo(f"database kept: {db}")
        else:
            drop()
    copy_rate = next((r["rate"] for r in results if r["stage"] == "copy"), None)
    dlt_rate = next((r["rate"] for r in results if r["stage"] == "dlt"), None)
    click.echo("")
    click.echo(_table(results, copy_rate, dlt_rate))
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "n": n,
        "seed": seed,
        "cores": cores,
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "stages": [
            {
                **r,
                "ratio_to_copy": (r["rate"] / copy_rate if copy_rate else None),
                "ratio_to_dlt": (r["rate"] / dlt_rate if dlt_rate else None),
            }
            for r in results
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    click.echo(f"\nfigures written to {out}")


if __name__ == "__main__":
    main()
