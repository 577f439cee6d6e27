"""Fixtures of the engines tier: Airflow's metadata database on the machine's PostgreSQL
(one per session, migrated once), Redis database 11 as the Celery broker (emptied before
and after), and the catalogue fixture of the integration tier.

Nothing skips in CI (CI=true): a service that is missing fails the tier."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from tests.conftest import CI, PG_URL, _pg_admin, require_service
from tests.engines.airflow_stack import AIRFLOW
from tests.integration.conftest import catalog

REDIS_URL = os.environ.get("GOVHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/engines/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def airflow_meta_db(tmp_path_factory):
    """A migrated Airflow metadata database of this session's own; dropped afterwards."""
    require_service("PostgreSQL", PG_URL, 5432)
    name = f"govhub_airflow_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_URL.rsplit('/', 1)[0]}/{name}".replace("postgresql+psycopg://", "postgresql://")
    psycopg_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path_factory.mktemp("airflow-migrate")),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": psycopg_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": psycopg_url,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    try:
        proc = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=400)
        assert proc.returncode == 0, proc.stderr[-3000:]
        yield url
    finally:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def celery_redis():
    """Redis database 11, empty, as the Celery broker (and emptied again afterwards)."""
    try:
        import redis
    except ImportError:  # the airflow-celery extra is not installed
        (pytest.fail if CI else pytest.skip)(
            "the CeleryExecutor needs the airflow-celery extra (pip install '.[airflow-celery]')"
        )
    require_service("Redis", REDIS_URL, 6379)
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


__all__ = ["catalog"]
