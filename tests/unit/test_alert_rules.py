"""docker/alerts.yml: every rule is well formed, its PromQL parses, and it only names
metrics the hub really exports (so an alert cannot silently watch nothing). ``promtool
check rules`` runs too where Prometheus' own tool is installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import promql_parser
import pytest
import yaml
from prometheus_client import CollectorRegistry

from hub.core.config import ROOT, load_settings
from hub.db.engine import engine_for, migrate
from hub.ops.metrics import HubCollector, render

ALERTS = ROOT / "docker" / "alerts.yml"
PROMETHEUS = ROOT / "docker" / "prometheus.yml"


def rules() -> list[dict]:
    doc = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [r for g in doc["groups"] for r in g["rules"]]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> set[str]:
    """Metric names the hub's collector exports (on an empty database every family is
    still announced), plus the process-local ones."""
    home = tmp_path_factory.mktemp("metrics")
    url = f"sqlite:///{home / 'hub.db'}"
    migrate(url)
    reg = CollectorRegistry()
    reg.register(HubCollector(engine_for(url), load_settings({"GOVHUB_HOME": str(home), "GOVHUB_DB_URL": url})))
    text = render(reg).decode()
    names = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    return names | {n + "_total" for n in names} | {"govhub_batch_duration_seconds_bucket"}


def test_the_rules_cover_what_the_issue_asks_for():
    names = {r["alert"] for r in rules()}
    assert {"GovhubSourceSilent", "GovhubQuarantineRateHigh", "GovhubDeliveryLag", "GovhubJobStale"} <= names


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_each_rule_is_well_formed_and_parses(rule, exported):
    assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
    assert rule["labels"]["severity"] in ("warning", "critical")
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    assert re.fullmatch(r"\d+[smh]", rule["for"])
    promql_parser.parse(rule["expr"])  # raises on a syntax error
    used = set(re.findall(r"\b(govhub_[a-z_]+)\b", rule["expr"]))
    assert used, "a rule that watches no hub metric"
    assert used <= exported, f"not exported by the hub: {used - exported}"


def test_every_dag_has_a_staleness_rule():
    """Each DAG's tasks fall under exactly one GovhubJobStale rule (a new DAG needs one)."""
    dag_ids = {
        re.search(r'dag_id="([^"]+)"', p.read_text(encoding="utf-8")).group(1)
        for p in (ROOT / "dags").glob("*.py")
        if 'dag_id="' in p.read_text(encoding="utf-8")
    }
    patterns = [
        re.search(r'job=~"([^"]+)"', r["expr"]).group(1).replace("\\\\", "\\")
        for r in rules()
        if r["alert"] == "GovhubJobStale"
    ]
    assert dag_ids
    for dag_id in dag_ids:
        job = f"{dag_id}.some_group.some_task"
        assert sum(bool(re.fullmatch(p, job)) for p in patterns) == 1, dag_id


def test_a_broken_expression_is_caught():
    with pytest.raises(ValueError):
        promql_parser.parse("sum by (peer (govhub_delivery_pending)")


def test_prometheus_loads_these_rules():
    conf = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    assert conf["rule_files"] == ["/etc/prometheus/alerts.yml"]
    compose = (ROOT / "docker" / "compose.yaml").read_text(encoding="utf-8")
    assert "target: /etc/prometheus/alerts.yml" in compose


def test_promtool_checks_the_rules_and_the_config(tmp_path):
    if not shutil.which("promtool"):
        if os.environ.get("CI"):  # .ci/run installs it (make promtool): nothing skips in CI
            pytest.fail("promtool is not installed (run `make promtool`)")
        pytest.skip("promtool (Debian package prometheus) is not installed; `make promtool` installs it")
    proc = subprocess.run(["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the config names the rules by their path in the container: point it at the file here
    conf = tmp_path / "prometheus.yml"
    conf.write_text(
        PROMETHEUS.read_text(encoding="utf-8").replace("/etc/prometheus/alerts.yml", str(ALERTS)), encoding="utf-8"
    )
    proc = subprocess.run(
        ["promtool", "check", "config", "--syntax-only", str(conf)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
