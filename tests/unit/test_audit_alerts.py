"""Issue #21: the exchange log's alerts (docker/alerts.yml) fire when they should and not
before, by Prometheus' own rule tester on the series in docker/alerts_test.yml."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from hub.core.config import ROOT
from tests.unit.test_alert_rules import rules

TESTS = ROOT / "docker" / "alerts_test.yml"


def test_the_exchange_log_has_its_alerts_and_each_is_tested():
    names = {r["alert"] for r in rules()}
    assert {"GovhubCheckpointsStopped", "GovhubExchangeLogBroken"} <= names
    doc = yaml.safe_load(TESTS.read_text(encoding="utf-8"))
    tested = {t["alertname"] for case in doc["tests"] for t in case["alert_rule_test"]}
    assert {"GovhubCheckpointsStopped", "GovhubExchangeLogBroken"} <= tested


def test_promtool_runs_the_alert_tests():
    if not shutil.which("promtool"):
        if os.environ.get("CI"):  # .ci/run installs it (make promtool): nothing skips in CI
            pytest.fail("promtool is not installed (run `make promtool`)")
        pytest.skip("promtool (Debian package prometheus) is not installed; `make promtool` installs it")
    proc = subprocess.run(["promtool", "test", "rules", str(TESTS)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
