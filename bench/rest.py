"""The REST stage: ``govhub serve``'s app under uvicorn with several server processes,
and client threads pushing the records as canonical JSON batches (``POST
/api/v1/case``, one message id per push). The figure is records per second end to end
as the clients see it; peak RSS is the largest server process's."""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import requests

from bench.common import bar as _bar
from bench.common import count_records


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pushes(data: Path, size: int):
    with open(data / "cases.jsonl", "rb") as f:
        lines: list[bytes] = []
        for line in f:
            lines.append(line.rstrip(b"\n"))
            if len(lines) == size:
                yield lines
                lines = []
        if lines:
            yield lines


@contextlib.contextmanager
def serve(db: str, servers: int, env_extra: dict | None = None):
    """``govhub serve``'s app under uvicorn with ``servers`` processes on a free loopback
    port; yields (url, peak) where ``peak["rss"]`` is the largest server process's RSS
    (sampled every 0.2 s, so a short spike can be missed). Stops the server on exit."""
    port = _free_port()
    env = {**os.environ, "GOVHUB_DB_URL": db, "GOVHUB_LOG_LEVEL": "WARNING", **(env_extra or {})}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.server:app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(servers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    peak = {"rss": 0}
    stop = threading.Event()

    def watch():
        proc = psutil.Process(server.pid)
        while not stop.is_set():
            try:
                for p in [proc, *proc.children(recursive=True)]:
                    peak["rss"] = max(peak["rss"], p.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.2)

    try:
        deadline = time.time() + 60
        while True:
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit("the REST server did not start; see its output above")
            time.sleep(0.3)
        time.sleep(1.0 * servers)  # let every server process come up
        threading.Thread(target=watch, daemon=True).start()
        yield url, peak
    finally:
        stop.set()
        server.terminate()
        server.wait(30)


def rest_ingest(db: str, data: Path, servers: int, clients: int, push_size: int) -> dict:
    n = count_records(data)
    with serve(db, servers) as (url, peak):
        work: queue.Queue = queue.Queue(maxsize=clients * 2)  # bounded: the file is read as it is pushed
        totals = {"stored": 0, "duplicate": 0, "quarantined": 0, "received": 0}
        errors: list[str] = []
        lock = threading.Lock()
        key = os.environ["GOVHUB_BENCH_API_KEY"]

        def client(bar):
            with requests.Session() as http:
                while (item := work.get()) is not None:
                    no, lines = item
                    body = b'{"records":[' + b",".join(lines) + b"]}"
                    r = http.post(
                        f"{url}/api/v1/case",
                        data=body,
                        timeout=600,
                        headers={
                            "X-Api-Key": key,
                            "Content-Type": "application/json",
                            "X-Message-Id": f"bench-rest-{no}",
                        },
                    )
                    with lock:
                        if r.status_code != 200:
                            errors.append(f"push {no}: HTTP {r.status_code} {r.text[:300]}")
                        else:
                            res = r.json()
                            for k in totals:
                                totals[k] += res[k]
                        bar.update(len(lines))

        with _bar(n, f"REST ×{clients}") as bar:
            t0 = time.perf_counter()
            threads = [threading.Thread(target=client, args=(bar,)) for _ in range(clients)]
            for t in threads:
                t.start()
            for no, lines in enumerate(_pushes(data, push_size), 1):
                work.put((no, lines))
            for _ in threads:
                work.put(None)
            for t in threads:
                t.join()
            seconds = time.perf_counter() - t0
    if errors:
        raise SystemExit("REST pushes failed: " + "; ".join(errors[:3]))
    if totals["stored"] != n:
        raise SystemExit(f"REST stored {totals['stored']:,} of {n:,}: {totals}")
    return {
        "records": n,
        "seconds": seconds,
        "peak_rss_mb": peak["rss"] / 2**20,
        "outcomes": {k: totals[k] for k in ("stored", "duplicate", "quarantined")},
        "servers": servers,
        "clients": clients,
        "push_size": push_size,
    }
