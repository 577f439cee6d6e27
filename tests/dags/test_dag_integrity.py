"""Every DAG file imports without error, opens no connection and touches no database at
import time, and parses within a time budget; tasks stay off Airflow's metadata DB."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hub.core.config import ROOT

DAG_FILES = sorted(p for p in (ROOT / "dags").glob("*.py") if not p.name.startswith("_"))
BUDGET_SECONDS = 5.0  # per file, once Airflow itself is imported

PROBE = r"""
import json, runpy, sys, time
import airflow.sdk  # Airflow's own import is not the DAG file's cost
seen = []
def hook(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "sqlite3.connect", "sqlite3.connect/handle"):
        seen.append(event + " " + repr(args)[:120])
sys.addaudithook(hook)
started = time.monotonic()
ns = runpy.run_path(sys.argv[1])
elapsed = time.monotonic() - started
from airflow.sdk import DAG
dags = [v.dag_id for v in ns.values() if isinstance(v, DAG)]
print("PROBE" + json.dumps({"io": seen, "elapsed": elapsed, "dags": dags}))
"""


def test_there_are_dags():
    assert {p.stem for p in DAG_FILES} >= {"item_catalog_sync", "case_report_upward", "data_quality_daily"}


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_without_io(path: Path, tmp_path):
    env = {
        "PYTHONPATH": str(ROOT),
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PATH": "/usr/bin:/bin",
        "GOVHUB_HOME": str(tmp_path / "home"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.split("PROBE", 1)[1])
    assert report["dags"] == [path.stem], report["dags"]
    assert report["io"] == [], f"{path.name} opened connections at import: {report['io']}"
    assert report["elapsed"] < BUDGET_SECONDS, f"{path.name} took {report['elapsed']:.1f}s to parse"


FORBIDDEN = ("airflow.models", "airflow.settings", "airflow.utils.session")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_tasks_never_touch_the_metadata_database():
    """Airflow 3 forbids task code from using the metadata DB through the ORM; a real
    executor enforces it, ``dags test`` does not. Neither the DAG files nor anything
    they call in hub/ or adapters/ imports Airflow's ORM or session modules."""
    files = DAG_FILES + sorted((ROOT / "hub").rglob("*.py")) + sorted((ROOT / "adapters").rglob("*.py"))
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m.startswith(FORBIDDEN)) for p in files}
    assert not {k: v for k, v in offenders.items() if v}


def test_the_probe_sees_io_at_import(tmp_path):
    """The check above can fail: a DAG file that touches a database at import is caught."""
    bad = tmp_path / "bad_dag.py"
    bad.write_text(
        "import sqlite3\nsqlite3.connect(':memory:')\nfrom airflow.sdk import DAG\ndag = DAG('bad_dag', schedule=None)\n"
    )
    env = {"PYTHONPATH": str(ROOT), "AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", PROBE, str(bad)], env=env, capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stdout.split("PROBE", 1)[1])
    assert report["io"] and report["io"][0].startswith("sqlite3.connect")
