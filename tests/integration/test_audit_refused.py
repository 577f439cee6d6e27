"""Issue #21: what the hub takes in outside a message's last batch is in the exchange log
too — a REST body refused whole, a SOAP push refused with a fault to an authenticated
system, an administrator's corrected retry of a quarantined record — and the chain holds."""

from __future__ import annotations

import hashlib

from demo.quarantine import _fixable
from hub.audit.objects import ObjectStore
from hub.audit.verify import verify
from hub.quarantine.workflow import retry
from tests.integration.conftest import catalog  # pytest fixture, used by name
from tests.integration.test_audit_log import entries, home  # pytest fixture, used by name
from tests.integration.test_rest_ingress import cases_of, client, push  # pytest fixtures and helpers
from tests.security.test_ownership import nested, records, soap

XXE = b"""<?xml version="1.0"?><!DOCTYPE f [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<cases xmlns="urn:govhub:case:1" message_id="xxe-1"><case><case_no>&x;</case_no></case></cases>"""
A, B = "常熟市行政审批局", "张家港市住房和城乡建设局"


def test_refused_rest_and_soap_pushes_are_logged_with_their_bytes(client, catalog, home):
    key = catalog.keys["dept-a"]
    r = client.post("/api/v1/case", content=XXE, headers={"X-Api-Key": key, "Content-Type": "application/xml"})
    assert r.status_code == 400, r.text
    batch = nested(records("case", A, 2), records("case", B, 1, seed=2), "nested-1")
    s = soap(client, batch)
    assert s.status_code == 500 and b"Client.InvalidBatch" in s.content
    bad = client.post(
        "/api/v1/case", content=b"{not json", headers={"X-Api-Key": key, "Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    log = entries(client.engine)
    assert [(e["channel"], e["system"], e["outcome"]["refused"]) for e in log] == [
        ("rest", "dept-a", 400),
        ("soap", "dept-a", "Client.InvalidBatch"),
        ("rest", "dept-a", 400),
    ]
    assert log[0]["digest"] == "sha256:" + hashlib.sha256(XXE).hexdigest()
    assert ObjectStore(home / "objects").read(log[2]["digest"]) == b"{not json"
    assert log[1]["outcome"]["reason"] == "schema_invalid"
    res = verify(client.engine, objects=ObjectStore(home / "objects"))
    assert res.holds and res.checked == 3, res.problem


def test_an_unauthenticated_push_is_not_logged(client, catalog, home):
    r = client.post("/api/v1/case", content=XXE, headers={"X-Api-Key": "wrong", "Content-Type": "application/xml"})
    assert r.status_code == 401
    assert entries(client.engine) == []


def test_a_corrected_retry_of_a_quarantined_record_is_logged(client, catalog, home):
    recs = [r for r, _ in cases_of(A, 60, seed=7, defect_rate=0.5)]
    assert push(client, catalog.keys["dept-a"], recs, message_id="defects-1").status_code == 200
    fixable = _fixable(client.engine)
    assert fixable, "the seed gives at least one mistyped ID check character"
    qid, field, fixed = fixable[0]
    attempt = retry(client.engine, qid, "admin-1", note="confirmed with the applicant", changes={field: fixed})
    assert attempt.outcome == "stored"
    log = entries(client.engine)
    assert [e["channel"] for e in log] == ["rest", "quarantine"]
    assert log[1]["message_id"] == "defects-1" and log[1]["outcome"] == {
        "quarantine_id": qid,
        "action": "correct",
        "outcome": "stored",
    }
    corrected = ObjectStore(home / "objects").read(log[1]["digest"])
    assert corrected is not None and fixed.encode() in corrected
    assert verify(client.engine, objects=ObjectStore(home / "objects")).holds
