"""The quarantine workflow over REST: administrators only, the operator is the
authenticated administrator, answers and errors carry no personal data."""

from __future__ import annotations

import json
import secrets

import pytest
import yaml
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.catalog.authn import sha256_hex
from hub.core.config import load_settings
from hub.model.codes import idcard
from hub.ops.pii_scan import leaks
from synth.generator import Generator
from tests.helpers import quarantine_rows


@pytest.fixture
def admin_key(catalog):
    key = secrets.token_urlsafe(24)
    data = yaml.safe_load(catalog.path.read_text(encoding="utf-8"))
    data["administrators"] = [{"id": "wang-admin", "name": "王管理员", "api_key_sha256": sha256_hex(key)}]
    catalog.path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return key


@pytest.fixture
def client(catalog, admin_key, db_url, tmp_path):
    settings = load_settings(
        {
            "GOVHUB_HOME": str(tmp_path / "home"),
            "GOVHUB_DB_URL": db_url,
            "GOVHUB_BROKER_URL": f"govhub+sqlite:///{tmp_path / 'bus.db'}",
        }
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        c.engine = c.app.state.engine
        yield c


def _push_defective(client, catalog) -> list[dict]:
    pairs = list(
        Generator(seed=11, departments=["常熟市行政审批局"]).records(
            "case", 12, defect_rate=0.5, defects=["id_check_char"]
        )
    )
    body = json.dumps({"message_id": "rest-q-1", "records": [r for r, _ in pairs]}, ensure_ascii=False).encode()
    r = client.post(
        "/api/v1/case", content=body, headers={"X-Api-Key": catalog.keys["dept-a"], "Content-Type": "application/json"}
    )
    assert r.status_code == 200 and r.json()["quarantined"] == 6, r.text
    return quarantine_rows(client.engine)


def test_administrators_only(client, catalog, admin_key):
    assert client.get("/api/v1/quarantine").status_code == 401
    system = client.get("/api/v1/quarantine", headers={"X-Api-Key": catalog.keys["dept-a"]})
    assert system.status_code == 403 and system.json()["error"] == "administrators_only"
    assert client.get("/api/v1/quarantine", headers={"X-Api-Key": "wrong"}).status_code == 401
    assert client.get("/api/v1/quarantine", headers={"X-Api-Key": admin_key}).json() == {"records": [], "count": 0}


def test_list_show_correct_reject_and_history(client, catalog, admin_key):
    rows = _push_defective(client, catalog)
    h = {"X-Api-Key": admin_key}
    listing = client.get(
        "/api/v1/quarantine", params={"system": "dept-a", "reason": "id_check_char", "rule": "case.identity"}, headers=h
    ).json()
    assert listing["count"] == 6
    first, second = rows[0], rows[1]
    shown = client.get(f"/api/v1/quarantine/{first['id']}", headers=h)
    assert shown.status_code == 200 and not leaks(shown.text)
    wrong = json.loads(first["payload"])[first["field"]]
    fixed = wrong[:17] + idcard.check_char(wrong[:17])

    r = client.post(
        f"/api/v1/quarantine/{first['id']}/retry", json={"set": {first["field"]: fixed}, "note": "核对"}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "stored" and not leaks(r.text)
    hist = client.get(f"/api/v1/quarantine/{first['id']}/history", headers=h)
    assert hist.status_code == 200 and not leaks(hist.text)
    body = hist.json()
    assert body["actions"][0]["operator"] == "wang-admin"
    assert body["lineage"][-1]["corrected_by"] == "wang-admin" and body["lineage"][-1]["correction_of"] == first["id"]

    again = client.post(f"/api/v1/quarantine/{first['id']}/retry", json={"note": "again"}, headers=h)
    assert again.status_code == 409 and again.json()["error"] == "not_open"
    no_note = client.post(f"/api/v1/quarantine/{second['id']}/reject", json={}, headers=h)
    assert no_note.status_code == 422
    rej = client.post(f"/api/v1/quarantine/{second['id']}/reject", json={"note": "作废"}, headers=h)
    assert rej.status_code == 200 and rej.json()["resolved_by"] == "wang-admin"
    assert client.get("/api/v1/quarantine/999999", headers=h).status_code == 404
    # a correction that quotes an ID number in a bad field name: the error does not echo it
    bad = client.post(f"/api/v1/quarantine/{rows[2]['id']}/retry", json={"set": {fixed: "x"}, "note": "x"}, headers=h)
    assert bad.status_code == 422 and fixed not in bad.text and not leaks(bad.text)

    bulk = client.post("/api/v1/quarantine/retry", json={"rule": "case.identity"}, headers=h)
    assert bulk.status_code == 200
    assert bulk.json()["retried"] == 4 and bulk.json()["still_quarantined"] == 4  # nothing fixed: they fail again
    assert client.post("/api/v1/quarantine/retry", json={}, headers=h).status_code == 422
