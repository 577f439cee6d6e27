"""Processes starting at once on an empty PostgreSQL database (two Airflow tasks in the
same second, a worker and the API) migrate one after another under an advisory lock:
all of them succeed and the schema ends at the head revision, once."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg

from hub.core.config import ROOT
from hub.db.engine import current_revision, head_revision

STARTERS = {
    "migrate": "from hub.db.engine import migrate; migrate({url!r})",
    "ensure_schema": "from hub.db.engine import ensure_schema; ensure_schema({url!r})",
}


def _start_all(url: str, n: int) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    codes = [STARTERS["migrate" if i % 2 else "ensure_schema"].format(url=url) for i in range(n)]
    # a barrier: every process imports alembic first, then waits for its standard input to
    # close, so the migrations really start together rather than one import time apart
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", f"import alembic.command, sys; sys.stdin.read(); {code}"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for code in codes
    ]
    for p in procs:
        p.stdin.close()  # go
        p.stdin = None  # (closed: communicate() below only reads)
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return results


def test_concurrent_migrations_on_an_empty_database_all_succeed(pg_database):
    results = _start_all(pg_database, 5)
    failed = [r.stderr[-2000:] for r in results if r.returncode != 0]
    assert not failed, failed
    assert current_revision(pg_database) == head_revision(pg_database)
    with psycopg.connect(pg_database) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM alembic_version").fetchone()
    assert rows == 1
