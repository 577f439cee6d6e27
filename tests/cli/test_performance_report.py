"""``govhub report performance``: the figures as JSON and as a Chinese-labelled page that
renders in headless Chromium with the JSON's numbers (as the quality report's test does).
Outside CI a missing Chromium skips the browser test with the reason; in CI it fails."""

from __future__ import annotations

import json
import random
from datetime import date, datetime

import pytest
from lxml import html as lxml_html

from hub.db.engine import engine_for
from synth.perf_cases import DEPTS, evaluation_row, put, random_cases
from tests.cli.test_cli import env, govhub
from tests.cli.test_quality_report_browser import chromium, png_facts, run_chromium

NOW = datetime(2026, 11, 22, 10, 0)


def _library(db_url: str) -> None:
    rng = random.Random(7)
    with engine_for(db_url).begin() as conn:
        put(conn, "case", random_cases(rng, date(2026, 9, 1), 80, 600, NOW))
        put(
            conn,
            "evaluation",
            [
                evaluation_row(i, DEPTS[i % 3], datetime(2026, 10, 1 + i % 28, 11), "54321"[i % 5], NOW)
                for i in range(90)
            ],
        )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_report_performance_json_and_filters(env, db_url, tmp_path):
    _library(db_url)
    out = tmp_path / "perf.json"
    args = ("report", "performance", "--from", "2026-09-01", "--to", "2026-11-30", "--json", str(out))
    proc = govhub(env, *args, "--by", "department")
    assert "绩效统计" in proc.stdout and "received 600" in proc.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["totals"]["received"] == 600 == sum(r["received"] for r in data["rows"])
    assert {r["period"] for r in data["rows"]} == {"2026-09", "2026-10", "2026-11"}
    assert data["totals"]["evaluations"] == 90 and data["totals"]["satisfaction_rate"] == 0.4
    govhub(env, *args, "--every", "quarter", "--region", "320582", "--by", "post")
    scoped = json.loads(out.read_text(encoding="utf-8"))
    assert {r["period"] for r in scoped["rows"]} <= {"2026-Q3", "2026-Q4"}
    assert all("handler_id" in r for r in scoped["rows"]) and 0 < scoped["totals"]["received"] < 600
    bad = govhub(env, "report", "performance", "--from", "2026-12-01", "--to", "2026-11-01", check=False)
    assert bad.returncode == 2 and "swap --from and --to" in bad.stderr


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_report_performance_renders_in_chromium_with_the_json_numbers(env, db_url, tmp_path):
    binary = chromium()
    _library(db_url)
    page, data_path, shot = tmp_path / "perf.html", tmp_path / "perf.json", tmp_path / "perf.png"
    govhub(env, "report", "performance", "--from", "2026-09-01", "--to", "2026-11-30", "--by", "department",
           "--html", str(page), "--json", str(data_path))  # fmt: skip
    data = json.loads(data_path.read_text(encoding="utf-8"))
    run_chromium(binary, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    width, height, busy = png_facts(shot.read_bytes())
    assert (width, height) == (1280, 2000) and busy > 0.15, f"the screenshot looks blank ({busy:.0%} busy rows)"
    doc = lxml_html.fromstring(run_chromium(binary, tmp_path / "profile", "--dump-dom", page.as_uri()).stdout)
    assert doc.xpath("string(//h1)") == "绩效统计报告"
    for key in ("received", "finished", "overdue"):
        shown = doc.xpath(f'string(//*[@id="kpi-{key}"]//*[@class="value"])').replace(",", "")
        assert int(shown) == data["totals"][key], key
    rows = doc.xpath('//table[@id="perf-table"]/tbody/tr')
    assert len(rows) == len(data["rows"])
    for tr, row in zip(rows, data["rows"], strict=True):
        assert int(tr.xpath('string(td[@data-col="received"])').replace(",", "")) == row["received"]
    for section in ("主要指标", "趋势", "部门排名", "按时办结率排名", "满意率排名", "明细"):
        assert section in doc.text_content(), section
    assert len(doc.xpath("//svg")) >= 4
