"""``GET /api/v1/stats/performance`` (and ``.html``): credentials required, the figures
scoped like the quality report — the province sees every region, a city its own, a
department its own department — and narrowing filters never widen that scope."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.core.config import load_settings
from hub.domains.performance import refresh
from synth.perf_cases import case_row, put
from tests.integration.conftest import department

NOW = datetime(2026, 11, 22, 10, 0)


@pytest.fixture
def client(catalog, db_url, tmp_path):
    settings = load_settings(
        {
            "GOVHUB_HOME": str(tmp_path / "home"),
            "GOVHUB_DB_URL": db_url,
            "GOVHUB_BROKER_URL": f"govhub+sqlite:///{tmp_path / 'bus.db'}",
        }
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def test_performance_api_is_scoped_to_the_caller(client, catalog):
    code_a, region_a = department("常熟市行政审批局")
    code_b, region_b = department("张家港市住房和城乡建设局")
    applied = datetime(2026, 11, 3, 9, 0)
    rows = [case_row(i, code_a, applied, NOW, region_code=region_a) for i in range(5)]
    rows += [case_row(10 + i, code_b, applied, NOW, region_code=region_b) for i in range(3)]
    rows += [case_row(20, "12320200MB0000009X", applied, NOW, region_code="320205")]  # 无锡
    engine = client.app.state.engine
    with engine.begin() as conn:
        put(conn, "case", rows)
    refresh.refresh(engine, now=NOW)
    url = "/api/v1/stats/performance?from=2026-11-01&to=2026-11-30"
    assert client.get(url).status_code == 401

    def get(key: str, extra: str = "") -> dict:
        r = client.get(url + extra, headers={"X-Api-Key": catalog.keys[key]})
        assert r.status_code == 200, r.text
        return r.json()

    province = get("prov")
    assert province["totals"]["received"] == 9
    assert {r["dept_code"]: r["received"] for r in province["rows"]} == {code_a: 5, code_b: 3, "12320200MB0000009X": 1}
    own = get("dept-b")
    assert [r["dept_code"] for r in own["rows"]] == [code_b] and own["totals"]["received"] == 3
    assert get("dept-b", f"&dept={code_a}")["totals"]["received"] == 0  # a filter never widens the scope
    city = get("city-wx")
    assert city["totals"]["received"] == 1
    assert get("prov", f"&region={region_a}&every=day&by=item")["rows"][0]["period"] == "2026-11-03"
    bad = client.get(url + "&by=colour", headers={"X-Api-Key": catalog.keys["prov"]})
    assert bad.status_code == 400 and "unknown breakdown" in bad.text
    page = client.get(url.replace("performance", "performance.html"), headers={"X-Api-Key": catalog.keys["prov"]})
    assert page.status_code == 200 and "绩效统计报告" in page.text and "按时办结率" in page.text
    assert date.fromisoformat(province["period"]["from"]) == date(2026, 11, 1)
