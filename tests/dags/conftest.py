"""Fixtures for the DAG tier: an Airflow home with a migrated SQLite metadata database
(one per test session), and the environment a DAG run needs to reach the hub's database
and this test's catalogue."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hub.core.config import ROOT
from tests.integration.conftest import catalog

AIRFLOW = str(ROOT / ".venv" / "bin" / "airflow") if (ROOT / ".venv" / "bin" / "airflow").exists() else "airflow"


def airflow_base_env(home) -> dict:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",  # the run's final state is logged at INFO
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow")
    proc = subprocess.run(
        [AIRFLOW, "db", "migrate"], env=airflow_base_env(home), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return home


@pytest.fixture
def run_dag(airflow_home, db_url, tmp_path, catalog):
    """Runs ``airflow dags test DAG_ID LOGICAL_DATE`` against this test's hub database and
    catalogue; returns the completed process. The run is for the time the hub clock reads
    (its logical date), and the DAG process runs on that clock (GOVHUB_CLOCK) when a test
    installed one."""

    def run(dag_id: str, **extra_env) -> subprocess.CompletedProcess:
        from hub.core import clock

        env = {
            **airflow_base_env(airflow_home),
            "GOVHUB_DB_URL": db_url,
            "GOVHUB_HOME": str(tmp_path / "home"),
            "GOVHUB_CATALOG": str(catalog.path),
            "GOVHUB_DAG_RETRIES": "0",
            **clock.environ(),
            **extra_env,
        }
        logical_date = clock.now().replace(tzinfo=clock.CST).isoformat()
        return subprocess.run(
            [AIRFLOW, "dags", "test", dag_id, logical_date],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )

    return run


__all__ = ["catalog", "run_dag", "airflow_home", "sys"]
