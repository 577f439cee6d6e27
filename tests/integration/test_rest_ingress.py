"""REST ingress on a real database: authentication, per-system authorisation, per-record
outcomes, pull with a resumable cursor, the catalogue, and 4xx (never 5xx) for
malformed input on every endpoint of the OpenAPI document."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.core.config import load_settings
from hub.db.tables import lineage
from synth.generator import Generator
from tests.helpers import count, library_count


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
        c.engine = c.app.state.engine
        yield c


def cases_of(dept: str, n: int, seed: int = 1, defect_rate: float = 0.0):
    g = Generator(seed=seed, departments=[dept])
    return list(g.records("case", n, defect_rate=defect_rate))


def push(client, key, records, kind="case", message_id=None, **headers):
    body = {"records": records}
    if message_id:
        body["message_id"] = message_id
    return client.post(
        f"/api/v1/{kind}",
        content=json.dumps(body, ensure_ascii=False).encode(),
        headers={"X-Api-Key": key, "Content-Type": "application/json", **headers},
    )


def test_push_stores_and_reports_each_record(client, catalog):
    pairs = cases_of("常熟市行政审批局", 20, defect_rate=0.25)
    r = push(client, catalog.keys["dept-a"], [rec for rec, _ in pairs], message_id="rest-1")
    assert r.status_code == 200, r.text
    body = r.json()
    bad = sum(1 for _, d in pairs if d)
    assert (body["received"], body["stored"], body["quarantined"]) == (20, 20 - bad, bad)
    assert [x["seq"] for x in body["records"]] == list(range(1, 21))
    for x, (_rec, defect) in zip(body["records"], pairs):
        assert x["outcome"] == ("quarantined" if defect else "stored")
        assert (x["reason"] is not None) == bool(defect)
    again = push(client, catalog.keys["dept-a"], [rec for rec, _ in pairs], message_id="rest-1").json()
    assert again["duplicate"] == 20 and library_count(client.engine, "case") == 20 - bad


@pytest.mark.parametrize(
    "headers,status,reason",
    [
        ({}, 401, "unauthenticated"),
        ({"X-Api-Key": "wrong-key"}, 401, "bad_credentials"),
    ],
)
def test_bad_credentials_store_nothing(client, catalog, headers, status, reason):
    recs = [r for r, _ in cases_of("常熟市行政审批局", 3)]
    r = client.post(
        "/api/v1/case", content=json.dumps({"records": recs}), headers={"Content-Type": "application/json", **headers}
    )
    assert r.status_code == status and r.json()["error"] == reason
    assert count(client.engine, lineage) == 0


def test_another_departments_record_is_quarantined_per_record(client, catalog):
    own = [r for r, _ in cases_of("常熟市行政审批局", 3)]
    other = [r for r, _ in cases_of("张家港市住房和城乡建设局", 1, seed=2)]
    r = push(client, catalog.keys["dept-a"], own + other)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["stored"], body["quarantined"]) == (3, 1)
    assert body["records"][3]["reason"] == "forbidden_department"
    assert count(client.engine, lineage) == 4 and library_count(client.engine, "case") == 3


def test_kind_not_allowed(client, catalog):
    r = push(client, catalog.keys["dept-b"], [{"x": 1}], kind="licence")
    assert r.status_code == 403 and r.json()["error"] == "forbidden_kind"


def test_hmac_signed_push(client, catalog):
    recs = [r for r, _ in cases_of("常熟市行政审批局", 2, seed=3)]
    body = json.dumps({"records": recs}, ensure_ascii=False).encode()
    ts = str(int(time.time()))
    sig = hmac.new(
        catalog.keys["hmac-dept"].encode(),
        f"govhub-hmac-v2\nPOST\n/api/v1/case\n{ts}\nhm-1\n{hashlib.sha256(body).hexdigest()}".encode(),
        hashlib.sha256,
    ).hexdigest()
    h = {
        "Content-Type": "application/json",
        "X-Govhub-System": "hmac-dept",
        "X-Govhub-Timestamp": ts,
        "X-Message-Id": "hm-1",
    }
    assert client.post("/api/v1/case", content=body, headers={**h, "X-Govhub-Signature": sig}).json()["stored"] == 2
    assert client.post("/api/v1/case", content=body, headers={**h, "X-Govhub-Signature": "0" * 64}).status_code == 401
    old = str(int(time.time()) - 3600)
    assert (
        client.post(
            "/api/v1/case", content=body, headers={**h, "X-Govhub-Timestamp": old, "X-Govhub-Signature": sig}
        ).json()["error"]
        == "stale_request"
    )


def test_province_pulls_changes_with_a_resumable_cursor(client, catalog, monkeypatch, clock):
    import hub.api.routes_pull as pull

    monkeypatch.setattr(pull, "SETTLE", __import__("datetime").timedelta(seconds=0))
    recs = [r for r, _ in cases_of("常熟市行政审批局", 25, seed=4)]
    push(client, catalog.keys["dept-a"], recs)
    seen, cursor, pages = [], None, 0
    while True:
        r = client.get(
            "/api/v1/case/changes",
            params={"limit": 10, **({"cursor": cursor} if cursor else {})},
            headers={"X-Api-Key": catalog.keys["prov"]},
        )
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [x["case_no"] for x in page["records"]]
        cursor, pages = page["next_cursor"], pages + 1
        if not page["has_more"]:
            break
    assert sorted(seen) == sorted(x["case_no"] for x in recs) and len(seen) == len(set(seen)) and pages == 3
    # resume: only what changed after the cursor comes back
    newer = [r for r, _ in cases_of("常熟市行政审批局", 3, seed=5)]
    clock.advance(seconds=1.1)
    push(client, catalog.keys["dept-a"], newer)
    page = client.get(
        "/api/v1/case/changes", params={"cursor": cursor}, headers={"X-Api-Key": catalog.keys["prov"]}
    ).json()
    assert sorted(x["case_no"] for x in page["records"]) == sorted(x["case_no"] for x in newer)


def test_pull_is_limited_to_own_region(client, catalog):
    r = client.get("/api/v1/case/changes", params={"region": "3205"}, headers={"X-Api-Key": catalog.keys["city-wx"]})
    assert r.status_code == 403 and r.json()["error"] == "forbidden_region"
    r = client.get("/api/v1/case/changes", headers={"X-Api-Key": catalog.keys["dept-a"]})
    assert r.status_code == 403 and r.json()["error"] == "forbidden_kind"
    r = client.get("/api/v1/case/changes", params={"cursor": "garbage"}, headers={"X-Api-Key": catalog.keys["prov"]})
    assert r.status_code == 400 and r.json()["error"] == "bad_cursor"


def test_catalogue_and_operations_endpoints(client, catalog):
    items = [r for r, _ in Generator(seed=6).records("item", 5)]
    assert push(client, catalog.keys["prov"], items, kind="item").json()["stored"] == 5
    r = client.get("/api/v1/catalog/items", headers={"X-Api-Key": catalog.keys["dept-a"]})
    assert r.status_code == 200 and r.json()["count"] == sum(1 for i in items if i["status"] == "在用")
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "bus": "ok"}
    assert client.get("/api/v1/whoami", headers={"X-Api-Key": catalog.keys["prov"]}).json()["system"] == "prov"


def test_openapi_document_validates(client):
    from openapi_spec_validator import validate

    doc = client.app.openapi()  # the document itself; /openapi.json is served only with GOVHUB_DOCS=on
    validate(doc)
    assert "/api/v1/case" in doc["paths"] and "/api/v1/{kind}/changes" in doc["paths"]


GARBAGE_BODIES = [
    b"",
    b"{",
    b"[1,2",
    b"null",
    b'{"records": 5}',
    b'{"records": [1, "x", null]}',
    b"\xff\xfe\x00",
    b"<cases",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
    b"A" * 4096,
    json.dumps({"records": [{"case_no": "x" * 100000}]}).encode(),
]


def test_every_endpoint_answers_malformed_input_with_4xx(client, catalog):
    doc = client.app.openapi()
    key = {"X-Api-Key": catalog.keys["prov"]}
    for path, ops in doc["paths"].items():
        for method in ops:
            url = path.replace("{kind}", "case")
            for body in GARBAGE_BODIES:
                for ctype in ("application/json", "application/xml", "text/plain"):
                    r = client.request(
                        method.upper(),
                        url,
                        content=body,
                        headers={**key, "Content-Type": ctype},
                        params={"cursor": "%%%", "limit": "-5", "region": "abc"},
                    )
                    assert r.status_code < 500, (method, url, body[:40], ctype, r.status_code, r.text[:300])
            r = client.request(method.upper(), path.replace("{kind}", "nonsense"), headers=key)
            assert r.status_code < 500


def test_body_size_limit(client, catalog, monkeypatch):
    from hub.api import body

    monkeypatch.setattr(body, "MAX_BODY", 1000)
    r = push(client, catalog.keys["dept-a"], [r for r, _ in cases_of("常熟市行政审批局", 5)])
    assert r.status_code == 413 and r.json()["error"] == "too_large"


def test_error_text_has_no_personal_data(client, catalog):
    from hub.model.codes import idcard

    recs = [r for r, _ in cases_of("常熟市行政审批局", 1, seed=7)]
    recs[0]["applicant_id_no"] = recs[0]["applicant_id_no"][:-1] + (
        "0" if recs[0]["applicant_id_no"][-1] != "0" else "1"
    )
    body = push(client, catalog.keys["dept-a"], recs).text
    assert recs[0]["applicant_id_no"] not in body and recs[0]["applicant_name"] not in body
    assert idcard.is_valid(recs[0]["applicant_id_no"]) is False
