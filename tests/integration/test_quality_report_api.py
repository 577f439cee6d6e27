"""``GET /reports/quality`` and ``/reports/quality.html``: credentials required, the
report scoped to what the caller oversees, the same numbers as ``govhub stats``."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.core.config import load_settings
from hub.model.codes import idcard
from hub.ops import stats
from synth.generator import Generator

ID18 = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


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


def push_cases(client, key: str, dept: str, n: int, message_id: str, seed: int) -> dict:
    records = [r for r, _ in Generator(seed=seed, departments=[dept]).records("case", n, defect_rate=0.2)]
    r = client.post(
        "/api/v1/case",
        content=json.dumps({"message_id": message_id, "records": records}, ensure_ascii=False).encode(),
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_report_needs_credentials_and_is_scoped_to_the_caller(client, catalog):
    a = push_cases(client, catalog.keys["dept-a"], "常熟市行政审批局", 40, "qa-1", seed=1)
    b = push_cases(client, catalog.keys["dept-b"], "张家港市住房和城乡建设局", 30, "qb-1", seed=2)
    assert a["quarantined"] > 0 and b["quarantined"] > 0
    assert client.get("/reports/quality").json()["error"] == "unauthenticated"
    assert client.get("/reports/quality.html", headers={"X-Api-Key": "wrong"}).status_code == 401

    province = client.get("/reports/quality", headers={"X-Api-Key": catalog.keys["prov"]})
    assert province.status_code == 200, province.text
    body = province.json()
    counted = stats.counts(client.app.state.engine)
    assert body["scope"]["sources"] is None
    assert {k: body["totals"][k] for k in counted["total"]} == counted["total"]
    assert [(s["system"], s["received"], s["quarantined"]) for s in body["sources"]] == [
        (s["system"], s["received"], s["quarantined"]) for s in counted["sources"]
    ]

    own = client.get("/reports/quality", headers={"X-Api-Key": catalog.keys["dept-b"]}).json()
    assert own["scope"]["sources"] == ["dept-b"] and [s["system"] for s in own["sources"]] == ["dept-b"]
    assert own["totals"]["received"] == 30 and own["totals"]["quarantined"] == b["quarantined"]
    assert {s["system"] for d in own["defects"] for s in d["systems"]} == {"dept-b"}
    assert all(e["system"] == "dept-b" for d in own["defects"] for e in d["examples"])

    other_city = client.get("/reports/quality", headers={"X-Api-Key": catalog.keys["city-wx"]}).json()
    assert other_city["sources"] == [] and other_city["totals"]["received"] == 0  # 无锡 oversees neither

    page = client.get("/reports/quality.html?days=7", headers={"X-Api-Key": catalog.keys["prov"]})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "数据质量报告" in page.text and "近7天趋势" in page.text and 'data-system="dept-a"' in page.text
    assert not [m for m in ID18.findall(page.text + province.text) if idcard.is_valid(m)]

    bad = client.get("/reports/quality?days=0", headers={"X-Api-Key": catalog.keys["prov"]})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"
    assert client.get("/reports/quality?to=yesterday", headers={"X-Api-Key": catalog.keys["prov"]}).status_code == 422


def test_openapi_lists_the_report_routes(client):
    paths = client.app.openapi()["paths"]  # /openapi.json is served only with GOVHUB_DOCS=on
    assert "/reports/quality" in paths and "/reports/quality.html" in paths
