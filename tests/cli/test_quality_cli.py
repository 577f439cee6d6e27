"""``govhub quality`` as an administrator runs it: suites, a batch check left for later,
the day check, and the Data Docs site (no personal data in it)."""

from __future__ import annotations

import json
import re

import pytest

from hub.core import clock
from synth.generator import Generator, write_xml
from tests.cli.test_cli import ID18, env, govhub
from tests.integration.test_quality_batch import put_library

pytestmark = pytest.mark.slow


def test_suites_lists_every_kind(env):
    out = json.loads(govhub(env, "quality", "suites", "--json").stdout)
    assert {s["kind"] for s in out} == {
        "case",
        "item",
        "licence",
        "person",
        "enterprise",
        "project",
        "evaluation",
        "supervision",
    }
    assert all(s["expectations"] > 10 and "unique_key" in s["rules"] for s in out)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_deferred_batch_day_check_and_data_docs(env, tmp_path, engine):
    g = Generator(seed=301)
    put_library(engine, "item", [g.item() for _ in range(len(g._dept_items))], source="prov")
    cases = [
        r for r, _ in Generator(seed=301, departments=["常熟市行政审批局"]).records("case", 50)
    ]  # cs-approval's own
    doc = tmp_path / "cases.xml"
    write_xml(cases, "case", doc, message_id="qcli-1")
    env = {**env, "GOVHUB_QUALITY_BATCH": "deferred"}
    govhub(env, "ingest", "--system", "cs-approval", str(doc))
    out = govhub(env, "quality", "batch", "--pending").stdout
    assert "checked 1 message(s); 0 with failed expectations" in out

    received = clock.now().date()
    day = govhub(env, "quality", "check", "--day", received.isoformat(), "--json")
    [summary] = json.loads(day.stdout)
    assert (summary["source_system"], summary["kind"], summary["rows"], summary["suite_failed"]) == (
        "cs-approval",
        "case",
        50,
        [],
    )
    bad = govhub(env, "quality", "check", "--day", "2026-02-30", check=False)
    assert bad.returncode == 2 and "2026-02-30" in bad.stderr

    site = govhub(env, "quality", "docs").stdout
    index = re.search(r"Data Docs: (\S+)", site).group(1)
    pages = list((tmp_path / "home" / "quality" / "data_docs").rglob("*.html"))
    assert index.endswith("index.html") and any("validations" in str(p) for p in pages)
    assert not [p for p in pages if ID18.search(p.read_text(encoding="utf-8"))], "an ID number in the Data Docs"
