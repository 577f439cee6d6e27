"""Airflow 3 run for real from the project's venv: api-server, scheduler, dag-processor,
triggerer and (CeleryExecutor) one ``airflow celery worker``, each a process group of
its own that :meth:`AirflowStack.stop` ends, with the settings docs/deploy.md gives an
operator:

- a PostgreSQL metadata database through psycopg 3, so ``SQL_ALCHEMY_CONN_ASYNC`` too
  (without it Airflow reaches for asyncpg);
- ``--skip-serve-logs`` (the log servers would bind every interface);
- the execution API at the api-server's own address, one JWT secret for every process;
- ``use_job_schedule = False``: only the runs the test triggers, none from the schedules.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from hub.core.config import ROOT

AIRFLOW = str(Path(sys.executable).parent / "airflow")
FINISHED = {"success", "failed"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 1.0, alive=None) -> Any:
    """Poll ``check`` until it returns something truthy, at most ``timeout`` seconds
    (bounded: the test fails with ``what`` instead of hanging)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if alive is not None:
            alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)  # polling another process's progress: there is no event to wait on


def airflow_env(home: Path, meta_url: str, executor: str, port: int, extra: dict[str, str]) -> dict[str, str]:
    psycopg_url = meta_url.replace("postgresql://", "postgresql+psycopg://", 1)
    return {
        **os.environ,
        **extra,
        "PYTHONPATH": str(ROOT),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": extra.get("AIRFLOW__API_AUTH__JWT_SECRET") or secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": psycopg_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": psycopg_url,
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }


class AirflowStack:
    """The Airflow processes of one executor; ``with`` starts them and stops them all."""

    def __init__(self, home: Path, env: dict[str, str], port: int, celery: bool):
        self.home, self.env, self.port, self.celery = home, env, port, celery
        self.procs: dict[str, subprocess.Popen] = {}
        self.base = f"http://127.0.0.1:{port}"
        self._token: str | None = None

    def _start(self, name: str, *args: str) -> None:
        with open(self.home / f"{name}.log", "wb") as log:  # the child keeps its own descriptor
            self.procs[name] = subprocess.Popen(
                [AIRFLOW, *args],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group of its own: stop() ends its children too
            )

    def start(self) -> AirflowStack:
        self._start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(self.port))
        self._start("scheduler", "scheduler", "--skip-serve-logs")
        self._start("dag-processor", "dag-processor")
        self._start("triggerer", "triggerer", "--skip-serve-logs")
        if self.celery:
            self._start("celery-worker", "celery", "worker", "--concurrency", "2", "--skip-serve-logs")
        return self

    def alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise AssertionError(f"Airflow processes exited: {dead}\n{self.logs(dead)}")

    def logs(self, names, tail: int = 3000) -> str:
        return "\n".join(
            f"--- {n}.log\n{(self.home / f'{n}.log').read_bytes()[-tail:].decode('utf-8', 'replace')}" for n in names
        )

    def stop(self, timeout: float = 30) -> list[int]:
        """SIGTERM every process group, SIGKILL what is left after ``timeout``; returns
        the process groups still there afterwards (none, or the test fails)."""
        for p in self.procs.values():
            _signal_group(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.procs.values():
            _signal_group(p.pid, signal.SIGKILL)  # children a graceful stop left behind
            p.wait(timeout=10)
        return [p.pid for p in self.procs.values() if _group_exists(p.pid)]

    # -- the REST API (v2) ----------------------------------------------------------------

    def api(self, method: str, path: str, **kw) -> requests.Response:
        if self._token is None:
            r = requests.get(f"{self.base}/auth/token", timeout=10)
            r.raise_for_status()
            self._token = r.json()["access_token"]
        return requests.request(
            method, f"{self.base}/api/v2{path}", headers={"Authorization": f"Bearer {self._token}"}, timeout=15, **kw
        )

    def ready(self, dag_ids: list[str], timeout: float = 180) -> None:
        def up() -> bool:
            try:
                return requests.get(f"{self.base}/api/v2/monitor/health", timeout=5).ok
            except requests.ConnectionError:
                return False

        wait_for("the api-server", up, timeout, alive=self.alive)
        wait_for(
            f"the dag-processor to serialise {dag_ids}",
            lambda: all(self.api("GET", f"/dags/{d}").ok for d in dag_ids),
            timeout,
            alive=self.alive,
        )

    def trigger(self, dag_id: str) -> str:
        run_id = f"engines__{dag_id}__{secrets.token_hex(4)}"
        r = self.api(
            "POST",
            f"/dags/{dag_id}/dagRuns",
            json={"dag_run_id": run_id, "logical_date": datetime.now(UTC).isoformat()},
        )
        assert r.status_code in (200, 201), r.text
        return run_id

    def wait_runs(self, runs: dict[str, str], timeout: float) -> dict[str, str]:
        """dag_id → final state of each triggered run."""

        def states() -> dict[str, str] | None:
            got = {d: self.api("GET", f"/dags/{d}/dagRuns/{r}").json()["state"] for d, r in runs.items()}
            return got if set(got.values()) <= FINISHED else None

        return wait_for(f"the runs {runs}", states, timeout, every=2.0, alive=self.alive)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        body = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()
        return {t["task_id"]: t["state"] for t in body["task_instances"]}


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
