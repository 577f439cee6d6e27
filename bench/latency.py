"""The latency stage (``rest_latency``): REST pushes of ``push_size`` (100) records from
``clients`` concurrent clients for a fixed time, each push timed from the request to the
answer; p50/p95/p99 per concurrency level (8 clients, then 50 connections: 003 二㈣ asks
for answers within 3 s at 500 concurrent users). Every level is bounded in time
(``seconds``, and 60 s per request), traffic goes to loopback only.

The records are the data set's JSON lines pushed in order as a third system
(``bench-latency``) and started over at the end of the file, so a small N gives
duplicates (classified, with lineage) after the first pass. The server runs with the
hub's default ``GOVHUB_QUALITY_BATCH=on`` (the push-time check, in plain Python) unless
``GOVHUB_QUALITY_BATCH`` was set for the bench. The clients are threads of this process
on the same cores as the servers and PostgreSQL, so the figures include their share."""

from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path

import requests

from bench.rest import serve

REQUEST_TIMEOUT = 60


class _Pushes:
    """The JSON lines in pushes of ``size``, from the top again at the end; thread-safe."""

    def __init__(self, data: Path, size: int):
        self.path, self.size, self.lock, self.no = data / "cases.jsonl", size, threading.Lock(), 0
        self.f = open(self.path, "rb")  # closed by close()

    def next(self) -> tuple[int, bytes, int]:
        with self.lock:
            lines: list[bytes] = []
            while len(lines) < self.size:
                line = self.f.readline()
                if not line:
                    self.f.seek(0)
                    continue
                lines.append(line.rstrip(b"\n"))
            self.no += 1
            return self.no, b'{"records":[' + b",".join(lines) + b"]}", len(lines)

    def close(self) -> None:
        self.f.close()


def _percentiles(ms: list[float]) -> dict:
    if len(ms) < 2:
        v = ms[0] if ms else float("nan")
        return {"p50_ms": v, "p95_ms": v, "p99_ms": v}
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50_ms": q[49], "p95_ms": q[94], "p99_ms": q[98], "max_ms": max(ms)}


def _level(url: str, key: str, pushes: _Pushes, clients: int, seconds: float, push_size: int) -> dict:
    times: list[float] = []
    totals = {"received": 0, "stored": 0, "duplicate": 0, "quarantined": 0}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client():
        with requests.Session() as http:
            while time.perf_counter() < deadline:
                no, body, count = pushes.next()
                t0 = time.perf_counter()
                try:
                    r = http.post(
                        f"{url}/api/v1/case",
                        data=body,
                        timeout=REQUEST_TIMEOUT,
                        headers={
                            "X-Api-Key": key,
                            "Content-Type": "application/json",
                            "X-Message-Id": f"bench-latency-{os.getpid()}-{no}",
                        },
                    )
                except requests.RequestException as exc:
                    with lock:
                        errors.append(f"push {no}: {type(exc).__name__}")
                    continue
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    if r.status_code != 200:
                        errors.append(f"push {no}: HTTP {r.status_code} {r.text[:200]}")
                        continue
                    times.append(ms)
                    res = r.json()
                    for k in totals:
                        totals[k] += res[k]

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if totals["received"] != totals["stored"] + totals["duplicate"] + totals["quarantined"]:
        raise SystemExit(f"REST latency, {clients} clients: the books do not balance: {totals}")
    if not times:
        raise SystemExit(f"REST latency, {clients} clients: no push succeeded: {errors[:3]}")
    return {
        "clients": clients,
        "push_size": push_size,
        "seconds": elapsed,
        "pushes": len(times),
        "records": totals["received"],
        "rate": totals["received"] / elapsed,
        "errors": len(errors),
        "error_examples": errors[:3],
        "outcomes": {k: totals[k] for k in ("stored", "duplicate", "quarantined")},
        **_percentiles(times),
    }


def rest_latency(db: str, data: Path, servers: int, levels: list[int], seconds: float, push_size: int) -> dict:
    key = os.environ["GOVHUB_BENCH_LATENCY_KEY"]
    quality = os.environ.get("GOVHUB_BENCH_LATENCY_QUALITY") or "on"
    pushes = _Pushes(data, push_size)
    try:
        with serve(db, servers, {"GOVHUB_QUALITY_BATCH": quality}) as (url, peak):
            results = [_level(url, key, pushes, c, seconds, push_size) for c in levels]
    finally:
        pushes.close()
    first = results[0]
    return {
        "records": first["records"],
        "seconds": first["seconds"],
        "peak_rss_mb": peak["rss"] / 2**20,
        "outcomes": first["outcomes"],
        "p50_ms": first["p50_ms"],
        "p95_ms": first["p95_ms"],
        "p99_ms": first["p99_ms"],
        "clients": first["clients"],
        "push_size": push_size,
        "servers": servers,
        "quality_batch": quality,
        "levels": results,
    }
