"""Scale-out benchmark: the same backlog of case records on RabbitMQ, worked off by 1
and then by 2 ``govhub worker`` processes; records/s for each and the speed-up.

    python bench/scaleout.py [--records 20000] [--per-message 1000] [--partitions 4] [--workers 1,2]
    make bench-scale

Each run gets a fresh PostgreSQL database and a private RabbitMQ virtual host (made with
``rabbitmqctl``, deleted afterwards; queues on "/" are never touched). The messages are
published first (split by case key onto the partitions), then the workers start; the
clock runs from the first committed record to the last, so process start-up is not
counted but the hand-over of partitions between workers is. Results go to
``var/bench-scale.json``.

Read the figures with the machine in mind: PostgreSQL, RabbitMQ, the workers and
whatever else runs share its cores, so two workers can only be faster where one worker
leaves a core idle (waiting on the database or the broker).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import click  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from hub.bus import topology as bus  # noqa: E402
from hub.core.config import load_settings  # noqa: E402
from hub.db.engine import engine_for, migrate  # noqa: E402
from hub.db.tables import lineage  # noqa: E402
from hub.ingest.partitions import publish_inbound  # noqa: E402
from synth.generator import Generator, write_xml  # noqa: E402

PG_URL = os.environ.get("GOVHUB_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("GOVHUB_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
SYSTEM = "cs-approval"


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


class PrivateVhost:
    """A RabbitMQ virtual host of this run's own."""

    def __enter__(self) -> str:
        if not shutil.which("rabbitmqctl"):
            sys.exit(
                "rabbitmqctl is needed to make a private virtual host (the benchmark never uses '/'); "
                "run it on the broker's machine"
            )
        u = urlsplit(AMQP_URL)
        self.name = f"govhub_bench_scale_{uuid.uuid4().hex[:8]}"
        _rabbitmqctl("add_vhost", self.name)
        _rabbitmqctl("set_permissions", "-p", self.name, u.username or "guest", ".*", ".*", ".*")
        return f"{u.scheme}://{u.netloc}/{self.name}"

    def __exit__(self, *exc) -> None:
        _rabbitmqctl("delete_vhost", self.name)


class FreshDatabase:
    """A PostgreSQL database of this run's own, migrated; dropped afterwards."""

    def __enter__(self) -> str:
        self.name = f"govhub_bench_scale_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_URL, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{self.name}"')
        self.url = f"{PG_URL.rsplit('/', 1)[0]}/{self.name}"
        migrate(self.url)
        return self.url

    def __exit__(self, *exc) -> None:
        engine_for(self.url).dispose()
        with psycopg.connect(PG_URL, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def messages(records: int, per_message: int):
    """Canonical XML batches of generated cases from one department system."""
    cases = [r for r, _ in Generator(seed=7, departments=["常熟市行政审批局"]).records("case", records)]  # SYSTEM's own
    for i in range(0, records, per_message):
        buf = io.BytesIO()
        mid = f"bench-{i // per_message:05d}"
        write_xml(iter(cases[i : i + per_message]), "case", buf, message_id=mid)
        yield mid, buf.getvalue(), len(cases[i : i + per_message])


def publish(env: dict, batches: list) -> tuple[float, int]:
    settings = load_settings(env)
    parts = 0
    started = time.perf_counter()
    with (
        bus.connect(settings) as conn,
        click.progressbar(length=sum(n for *_, n in batches), label="发布 publishing") as bar,
    ):
        bus.declare(conn)
        for mid, body, n in batches:
            parts += publish_inbound(conn, body, SYSTEM, mid)
            bar.update(n)
    return time.perf_counter() - started, parts


def committed(db_url: str) -> int:
    with engine_for(db_url).connect() as c:
        return c.execute(select(func.count()).select_from(lineage)).scalar_one()


def run(batches: list, partitions: int, workers: int) -> dict:
    records = sum(n for *_, n in batches)
    with PrivateVhost() as amqp, FreshDatabase() as db:
        env = {
            "GOVHUB_DB_URL": db,
            "GOVHUB_BROKER_URL": amqp,
            "GOVHUB_BUS_PARTITIONS": str(partitions),
            "GOVHUB_HOME": str(ROOT / "var" / "bench-scale-home"),
        }
        publish_s, parts = publish(env, batches)
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "worker"],
                cwd=ROOT,
                env={**os.environ, "GOVHUB_QUALITY_BATCH": "deferred", **env, "PYTHONPATH": str(ROOT)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(workers)
        ]
        first = None
        try:
            with click.progressbar(length=records, label=f"{workers} 个工作进程 worker(s)") as bar:
                done = 0
                while done < records:
                    for p in procs:
                        if p.poll() is not None:
                            raise SystemExit(f"a worker stopped early: {p.stderr.read().decode()[-2000:]}")
                    now = committed(db)
                    if now and first is None:
                        first = (time.perf_counter(), now)
                    bar.update(now - done)
                    done = now
                    time.sleep(0.2)
            last = time.perf_counter()
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            handled = []
            for p in procs:
                try:
                    _, err = p.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    _, err = p.communicate()
                tail = [line for line in err.decode().splitlines() if line.startswith("worker stopped:")]
                handled.append(tail[-1].split(":", 1)[1].strip() if tail else "?")
        seconds = last - first[0]
        rate = (records - first[1]) / seconds if seconds > 0 else float("nan")
        return {
            "workers": workers,
            "partitions": partitions,
            "records": records,
            "parts_published": parts,
            "publish_seconds": round(publish_s, 2),
            "publish_records_per_s": round(records / publish_s),
            "seconds": round(seconds, 2),
            "records_per_s": round(rate),
            "handled_per_worker": handled,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--per-message", type=int, default=1000)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--workers", default="1,2", help="worker counts to compare, e.g. 1,2")
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "bench-scale.json")
    args = ap.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    load_before = os.getloadavg()
    batches = list(messages(args.records, args.per_message))
    runs = [run(batches, args.partitions, w) for w in counts]
    base = runs[0]["records_per_s"]
    for r in runs:
        r["speedup"] = round(r["records_per_s"] / base, 2) if base else None
    result = {
        "machine": {
            "cpu_cores": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "note": "PostgreSQL, RabbitMQ, the workers and other users share these cores",
        },
        "per_message": args.per_message,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    click.echo(f"\n{'工作进程 workers':<16}{'分区 partitions':<18}{'记录/秒 records/s':>18}{'加速比 speed-up':>18}")
    for r in runs:
        click.echo(f"{r['workers']:<16}{r['partitions']:<18}{r['records_per_s']:>18,}{r['speedup']:>18}")
    click.echo(
        f"CPU 核数 cores: {os.cpu_count()}, 负载 load before/after: {result['machine']['load_average_before']} / "
        f"{result['machine']['load_average_after']} — shared with PostgreSQL, RabbitMQ and other users"
    )
    click.echo(f"写入 written: {args.out}")


if __name__ == "__main__":
    main()
