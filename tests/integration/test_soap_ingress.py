"""A department system pushes by SOAP the way a client stack does it: zeep reads
``/soap/push?wsdl`` from the hub on a real port and calls ``PushCases`` with a WS-Security
UsernameToken. Stored records land in the case library; a wrong password or a record of
another department is refused with the right fault and nothing stored."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
import yaml
import zeep
from sqlalchemy import select
from starlette.applications import Starlette
from zeep.exceptions import Fault
from zeep.wsse.username import UsernameToken

from hub.api.soap.service import routes
from hub.catalog.authn import hash_password
from hub.db.tables import LIBRARY, ingest_message, lineage, quarantine
from hub.model.dictionary import kind as dictionary_kind
from hub.wiring import standard_pipeline
from sandbox.server import run_in_thread
from synth.generator import Generator
from tests.helpers import count, library_count

DEPT, OTHER_DEPT = "常熟市行政审批局", "常熟市市场监督管理局"
SYSTEM, USER, PASSWORD = "cs-approval-soap", "cs-approval", "Cs-approval-2024"
SVC = "urn:govhub:service:1"


@pytest.fixture
def wsdl(tmp_path, monkeypatch, engine):
    """The hub's SOAP endpoint on a free port, with a catalogue holding one department
    system; returns the WSDL URL."""
    _name, code, region = Generator(seed=0, departments=[DEPT]).departments[0]
    # PasswordText is checked against the PBKDF2 hash, PasswordDigest needs the plaintext
    # (from the environment, as in production).
    monkeypatch.setenv("GOVHUB_TEST_SOAP_PASSWORD", PASSWORD)
    entry = {
        "id": SYSTEM,
        "name": "常熟市行政审批局业务系统",
        "level": "department",
        "region_code": region,
        "dept_code": code,
        "may_push": ["case"],
        "credentials": {
            "username": USER,
            "password_pbkdf2": hash_password(PASSWORD, iterations=1000),
            "secret": {"env": "GOVHUB_TEST_SOAP_PASSWORD"},
        },
    }
    path = tmp_path / "systems.yaml"
    path.write_text(yaml.safe_dump({"systems": [entry]}, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("GOVHUB_CATALOG", str(path))
    app = Starlette(routes=routes())
    app.state.pipeline = standard_pipeline(engine)
    base, stop = run_in_thread(app)
    yield f"{base}/soap/push?wsdl"
    stop()
    from hub.catalog.systems import _systems_at

    _systems_at.cache_clear()


def service(wsdl_url: str, token: UsernameToken, port: str | None = None):
    client = zeep.Client(wsdl_url, wsse=token)
    return client.bind("GovhubPushService", port) if port else client.service


def cases(n: int, dept: str = DEPT, seed: int = 3) -> list[dict]:
    return [r for r, _ in Generator(seed=seed, departments=[dept]).records("case", n)]


def as_zeep(records: list[dict]) -> list[dict]:
    """Canonical records → zeep's shape of <case>: lists sit in their wrapper element."""
    lists = {f.name: f.record for f in dictionary_kind("case").lists}
    return [{k: ({lists[k]: v} if k in lists else v) for k, v in r.items()} for r in records]


def nothing_stored(engine) -> bool:
    return all(
        n == 0
        for n in (
            library_count(engine, "case"),
            count(engine, lineage),
            count(engine, quarantine),
            count(engine, ingest_message),
        )
    )


def fault_detail_code(fault: Fault) -> str:
    return fault.detail.findtext(f"{{{SVC}}}PushFault/{{{SVC}}}code")


def test_department_pushes_cases_by_soap_and_they_are_stored(wsdl, engine):
    svc = service(wsdl, UsernameToken(USER, PASSWORD))
    recs = cases(6)
    first = svc.PushCases(case=as_zeep(recs), message_id="cs-2024-0001")
    assert (first.message_id, first.received, first.stored, first.duplicate) == ("cs-2024-0001", 6, 6, 0)
    assert [r.outcome for r in first.result] == ["stored"] * 6
    t = LIBRARY["case"]
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.case_no, t.c.source_system, t.c.applicant_name)).all()
    assert {r.case_no for r in rows} == {r["case_no"] for r in recs}
    assert {r.source_system for r in rows} == {SYSTEM}
    assert {r.applicant_name for r in rows} == {r["applicant_name"] for r in recs}  # Chinese intact
    again = svc.PushCases(case=as_zeep(recs), message_id="cs-2024-0001")  # a redelivery
    assert (again.stored, again.duplicate) == (0, 6)
    assert {r.reason for r in again.result} == {"same_message"}
    assert library_count(engine, "case") == 6


def test_wrong_password_is_an_authentication_fault_and_nothing_is_stored(wsdl, engine):
    svc = service(wsdl, UsernameToken(USER, "not-the-password"))
    with pytest.raises(Fault) as exc:
        svc.PushCases(case=as_zeep(cases(2)), message_id="cs-bad-pw")
    assert exc.value.code == "soap:Client.Authentication"
    assert fault_detail_code(exc.value) == "Client.Authentication"
    assert nothing_stored(engine)


def test_another_departments_case_is_quarantined_and_a_kind_not_allowed_is_forbidden(wsdl, engine):
    svc = service(wsdl, UsernameToken(USER, PASSWORD))
    mixed = cases(3) + cases(1, dept=OTHER_DEPT, seed=4)
    result = svc.PushCases(case=as_zeep(mixed), message_id="cs-mixed")
    assert (result.stored, result.quarantined) == (3, 1)
    assert result.result[3].reason == "forbidden_department"
    assert library_count(engine, "case") == 3
    with pytest.raises(Fault) as exc:
        svc.PushLicences(licence=[], message_id="cs-licences")  # the catalogue allows cases only
    assert exc.value.code == "soap:Client.Forbidden" and fault_detail_code(exc.value) == "Client.Forbidden"
    assert library_count(engine, "case") == 3 and library_count(engine, "licence") == 0


def test_password_digest_is_accepted_once_per_nonce_and_only_when_fresh(wsdl, engine):
    recs = cases(3)
    svc = service(wsdl, UsernameToken(USER, PASSWORD, use_digest=True))
    assert svc.PushCases(case=as_zeep(recs), message_id="cs-digest").stored == 3
    fixed = UsernameToken(USER, PASSWORD, use_digest=True, nonce=uuid.uuid4().hex, created=datetime.utcnow())
    replaying = service(wsdl, fixed)
    assert replaying.PushCases(case=as_zeep(cases(1, seed=8)), message_id="cs-digest-2").stored == 1
    with pytest.raises(Fault) as exc:
        replaying.PushCases(case=as_zeep(cases(1, seed=9)), message_id="cs-digest-3")
    assert exc.value.code == "soap:Client.Authentication" and "Nonce" in exc.value.message
    stale = UsernameToken(USER, PASSWORD, use_digest=True, created=datetime.utcnow() - timedelta(hours=1))
    with pytest.raises(Fault) as exc:
        service(wsdl, stale).PushCases(case=as_zeep(cases(1, seed=10)), message_id="cs-digest-4")
    assert exc.value.code == "soap:Client.Authentication" and "clocks" in exc.value.message
    assert library_count(engine, "case") == 4


def test_soap12_port_stores_and_faults_in_soap12(wsdl, engine):
    svc = service(wsdl, UsernameToken(USER, PASSWORD), port="PushSoap12")
    assert svc.PushCases(case=as_zeep(cases(4)), message_id="cs-soap12").stored == 4
    with pytest.raises(Fault) as exc:
        service(wsdl, UsernameToken(USER, "wrong"), port="PushSoap12").PushCases(case=as_zeep(cases(1)))
    assert exc.value.code == "soap:Sender" and [q.localname for q in exc.value.subcodes] == ["Authentication"]
    assert library_count(engine, "case") == 4
