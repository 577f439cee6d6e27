"""The quality report as an administrator sees it: written by ``govhub report quality``
after real ingests with defects, rendered by a headless Chromium (Debian's ``chromium``;
``.ci/run`` and ``make browser`` install it), and its key figures read back from the
rendered DOM must equal ``govhub stats --json``.

Outside CI a missing Chromium skips this test with the reason; in CI it fails."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from lxml import html as lxml_html

from hub.core.config import ROOT
from hub.model.codes import idcard
from synth.generator import Generator, write_dept_b_csv, write_jsonl, write_xml
from tests.cli.test_cli import govhub
from tests.conftest import CI

ID18 = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
WINDOW = (1280, 2400)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    why = "Debian's chromium is not installed (run `make browser`, or as root: apt-get install -y --no-install-recommends chromium)"
    if CI:
        pytest.fail(f"{why} — .ci/run installs it; nothing skips in CI")
    pytest.skip(why)


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    # a profile of our own: two test sessions (or a developer's browser) never share one
    cmd = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
    return proc


def png_facts(data: bytes) -> tuple[int, int, float]:
    """Width, height and the share of pixel rows that hold more than a flat colour.

    A filtered PNG row of one colour is a handful of byte values whatever the filter;
    text, tables and charts make rows with many. Enough to tell a page from a blank
    one without an imaging library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels + 1
    rows = [raw[i : i + stride] for i in range(0, len(raw), stride)]
    busy = sum(1 for r in rows if len(set(r[1:])) > 4)
    return width, height, busy / len(rows)


def write_inputs(tmp: Path) -> dict[str, tuple[str, Path, tuple[str, ...]]]:
    g = Generator(seed=31)
    files = {}
    xml = tmp / "cs-cases.xml"
    with open(xml, "wb") as f:
        write_xml(
            (r for r, _ in g.records("case", 240, defect_rate=0.12)), "case", f, encoding="gbk", message_id="browser-1"
        )
    files["cases"] = ("cs-approval", xml, ())
    csv_path = tmp / "zjg.csv"
    with open(csv_path, "wb") as f:
        write_dept_b_csv((r for r, _ in g.records("case", 160, defect_rate=0.08)), f, on_unmapped="keep")
    files["csv"] = ("zjg-housing", csv_path, ())
    people = tmp / "people.jsonl"
    with open(people, "wb") as f:
        write_jsonl((r for r, _ in g.records("person", 90, defect_rate=0.1)), f)
    files["people"] = ("sz-sharing", people, ("--kind", "person"))
    return files


@pytest.mark.slow
def test_report_renders_in_chromium_with_the_numbers_of_govhub_stats(tmp_path):
    binary = chromium()
    env = {
        "GOVHUB_HOME": str(tmp_path / "home"),
        "GOVHUB_DB_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "GOVHUB_BROKER_URL": f"govhub+sqlite:///{tmp_path / 'bus.db'}",
        "PYTHONPATH": str(ROOT),
    }
    for system, path, extra in write_inputs(tmp_path).values():
        govhub(env, "ingest", "--system", system, *extra, str(path))
    govhub(env, "ingest", "--system", "cs-approval", str(tmp_path / "cs-cases.xml"))  # delivered again: duplicates
    page, data = tmp_path / "out" / "quality.html", tmp_path / "out" / "quality.json"
    out = govhub(env, "report", "quality", "--html", str(page), "--json", str(data)).stdout
    assert f"wrote {page}" in out and f"wrote {data}" in out
    stats = json.loads(govhub(env, "stats", "--json").stdout)
    assert stats["total"]["quarantined"] > 0 and stats["total"]["duplicate"] == 240

    report = json.loads(data.read_text("utf-8"))
    assert {k: report["totals"][k] for k in stats["total"]} == stats["total"]

    shot = tmp_path / "quality.png"
    run_chromium(
        binary, tmp_path / "profile", f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri()
    )
    png = shot.read_bytes()
    width, height, busy = png_facts(png)
    assert (width, height) == WINDOW
    assert len(png) > 50_000 and busy > 0.15, f"the screenshot looks blank ({len(png)} bytes, {busy:.0%} busy rows)"

    dom = run_chromium(binary, tmp_path / "profile", "--dump-dom", page.as_uri()).stdout
    doc = lxml_html.fromstring(dom)

    def figure(xpath: str) -> int:
        nodes = doc.xpath(xpath)
        assert len(nodes) == 1, xpath
        return int(nodes[0].text_content().strip().replace(",", ""))

    assert doc.xpath("string(//h1)").startswith("数据质量报告")
    for key in ("received", "stored", "duplicate", "quarantined"):
        assert figure(f'//*[@id="kpi-{key}"]//*[@class="value"]') == stats["total"][key], key
    for s in stats["sources"]:
        row = f'//table[@id="sources-table"]/tbody/tr[@data-system="{s["system"]}"][@data-kind="{s["kind"]}"]'
        for key in ("received", "stored", "duplicate", "quarantined"):
            assert figure(f'{row}/td[@data-col="{key}"]') == s[key], (s["system"], s["kind"], key)
    assert len(doc.xpath('//table[@id="sources-table"]/tbody/tr')) == len(stats["sources"])
    for system, reasons in stats["quarantined_by_reason"].items():
        for reason, n in reasons.items():
            pill = doc.xpath(
                f'//table[@id="defects-table"]//tr[@data-reason="{reason}"]//span[@class="pill"]'
                f'[starts-with(normalize-space(.), "{system} ")]'
            )
            assert pill and pill[0].text_content().split()[-1].replace(",", "") == str(n), (system, reason)
    for section in ("近30天趋势", "问题最多的来源", "按规则统计的缺陷", "数据质量规则检查", "合格率"):
        assert section in dom, section
    assert not [m for m in ID18.findall(dom) if idcard.is_valid(m)], "an unmasked ID number in the rendered page"


def test_report_quality_without_paths_keeps_the_days_pair(tmp_path):
    env = {
        "GOVHUB_HOME": str(tmp_path / "home"),
        "GOVHUB_DB_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "GOVHUB_BROKER_URL": f"govhub+sqlite:///{tmp_path / 'bus.db'}",
        "PYTHONPATH": str(ROOT),
    }
    out = govhub(env, "report", "quality", "--to", "2026-03-01", "--days", "7").stdout
    kept = tmp_path / "home" / "reports" / "quality"
    assert sorted(p.name for p in kept.iterdir()) == ["2026-03-01.html", "2026-03-01.json"]
    assert f"wrote {kept / '2026-03-01.html'}" in out and "received 0" in out
    data = json.loads((kept / "2026-03-01.json").read_text("utf-8"))
    assert data["period"] == {"from": "2026-02-23", "to": "2026-03-01", "days": 7} and len(data["trend"]) == 7
    bad = govhub(env, "report", "quality", "--days", "0", check=False)
    assert bad.returncode == 2 and "--days" in bad.stderr
