"""Weaknesses 1 and 2, and the worker's hardening item: a system writes only the records it
owns, whatever the ingress. Each kind names its owner in the data dictionary (a case's
``dept_code`` and ``region_code``, a licence's ``issuer_code`` and ``region_code``, the
resource libraries' ``writers`` in catalog/precedence.yaml); the pipeline authorises every
record it stores, and an update may replace only a stored row the sender owns. Through
the real HTTP interface (REST and SOAP) and a real worker on the bus, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import secrets
from collections import Counter

from lxml import etree
from sqlalchemy import select

from hub.bus import topology as bus
from hub.catalog.authn import sha256_hex
from hub.db.tables import LIBRARY, lineage
from hub.ingest.partitions import publish_inbound
from hub.worker.process import Worker
from synth.generator import Generator
from tests.helpers import count, library_count, quarantine_rows, xml_doc
from tests.integration.conftest import catalog  # pytest fixture, used by name
from tests.integration.test_rest_ingress import client  # pytest fixture, used by name

A, B = "常熟市行政审批局", "张家港市住房和城乡建设局"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SVC = "urn:govhub:service:1"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"


def records(kind: str, dept: str, n: int, seed: int = 1) -> list[dict]:
    return [r for r, _ in Generator(seed=seed, departments=[dept]).records(kind, n)]


def push(client, key: str, recs: list[dict], kind: str = "case", message_id: str | None = None):
    headers = {"X-Api-Key": key, "Content-Type": "application/json"}
    if message_id:
        headers["X-Message-Id"] = message_id
    return client.post(f"/api/v1/{kind}", content=json.dumps({"records": recs}, ensure_ascii=False), headers=headers)


def soap(client, batch: bytes, user: str = "dept-a", password: str = "dept-a-password"):
    body = batch.decode("utf-8").split("?>", 1)[1].strip()
    env = (
        f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP11}"><soap:Header>'
        f'<wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken><wsse:Username>{user}</wsse:Username>'
        f'<wsse:Password Type="{TEXT}">{password}</wsse:Password></wsse:UsernameToken></wsse:Security>'
        f"</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"
    )
    return client.post(
        "/soap/push",
        content=env.encode("utf-8"),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{SVC}#PushCases"'},
    )


def nested(own: list[dict], foreign: list[dict], message_id: str) -> bytes:
    """A canonical <cases> batch: the own cases directly inside, the foreign ones in a <wrapper>."""
    doc = etree.fromstring(xml_doc(own + foreign, message_id=message_id))
    wrapper = etree.SubElement(doc, "{urn:govhub:case:1}wrapper")
    for case in list(doc)[len(own) : len(own) + len(foreign)]:
        wrapper.append(case)
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8")


def stored_cases(engine) -> Counter[str]:
    t = LIBRARY["case"]
    with engine.connect() as conn:
        return Counter(r[0] for r in conn.execute(select(t.c.dept_code)))


def licence_row(engine, licence_no: str) -> dict:
    t = LIBRARY["licence"]
    with engine.connect() as conn:
        return dict(conn.execute(select(t).where(t.c.licence_no == licence_no)).mappings().one())


def test_soap_batch_with_a_record_nested_in_an_unknown_element_is_refused(client, catalog):
    """Weakness 1: A's envelope with a <wrapper> holding B's <case> stored B's record under A."""
    batch = nested(records("case", A, 2), records("case", B, 1, seed=2), "nested-1")
    r = soap(client, batch)
    assert r.status_code == 500, r.text
    fault = etree.fromstring(r.content).find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    assert fault is not None and fault.findtext("faultcode").endswith("Client.InvalidBatch"), r.text
    assert "wrapper" in fault.findtext("faultstring")
    assert library_count(client.engine, "case") == 0 and count(client.engine, lineage) == 0


def test_rest_xml_record_nested_in_an_unknown_element_is_not_stored(client, catalog):
    """The same document over REST: the nested record is quarantined, never stored."""
    batch = nested([], records("case", B, 1, seed=2), "nested-2")
    r = client.post(
        "/api/v1/case",
        content=batch,
        headers={"X-Api-Key": catalog.keys["dept-a"], "Content-Type": "application/xml"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["stored"], r.json()["quarantined"]) == (0, 1)
    assert r.json()["records"][0]["reason"] == "schema_invalid" and "wrapper" in r.json()["records"][0]["message"]
    assert library_count(client.engine, "case") == 0


def test_soap_foreign_record_is_quarantined_per_record(client, catalog):
    """The SOAP envelope is no longer what is authorised: each record is, by the pipeline."""
    own, foreign = records("case", A, 2), records("case", B, 1, seed=2)
    r = soap(client, xml_doc(own + foreign, message_id="soap-mixed"))
    assert r.status_code == 200, r.text
    result = etree.fromstring(r.content).find(f".//{{{SVC}}}PushResult")
    assert (result.findtext(f"{{{SVC}}}stored"), result.findtext(f"{{{SVC}}}quarantined")) == ("2", "1")
    assert stored_cases(client.engine) == {own[0]["dept_code"]: 2}
    assert [q["reason"] for q in quarantine_rows(client.engine)] == ["forbidden_department"]


def test_another_department_cannot_overwrite_or_revoke_a_licence(client, catalog):
    """Weakness 2: B pushed A's licence number with status 吊销 and no region: 200, updated."""
    catalog.update("dept-b", may_push=["case", "licence"])
    (lic,) = records("licence", A, 1, seed=5)
    first = push(client, catalog.keys["dept-a"], [lic], kind="licence", message_id="lic-a-1")
    assert first.status_code == 200 and first.json()["stored"] == 1, first.text
    before = licence_row(client.engine, lic["licence_no"])
    (b_lic,) = records("licence", B, 1, seed=6)
    b_code, b_region = b_lic["issuer_code"], b_lic["region_code"]

    attempts = {
        # B as itself: its own issuer and region, but the stored licence is A's
        "forbidden_department": {**lic, "status": "吊销", "issuer_code": b_code, "region_code": b_region},
        # B claiming to be A: the record names A's department
        "forbidden_department ": {**lic, "status": "吊销"},
        # no region at all: whose it is cannot be checked
        "owner_missing": {k: v for k, v in {**lic, "status": "吊销"}.items() if k != "region_code"},
    }
    for n, (reason, rec) in enumerate(attempts.items()):
        r = push(client, catalog.keys["dept-b"], [rec], kind="licence", message_id=f"lic-b-{n}")
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["stored"], body["quarantined"]) == (0, 1), body
        assert body["records"][0]["reason"] == reason.strip(), body
    after = licence_row(client.engine, lic["licence_no"])
    assert after == before and after["status"] == lic["status"] and after["source_system"] == "dept-a"
    assert after["region_code"] == lic["region_code"]
    assert Counter(q["reason"] for q in quarantine_rows(client.engine)) == {
        "forbidden_department": 2,
        "owner_missing": 1,
    }
    # the owner itself may still revoke it
    mine = push(client, catalog.keys["dept-a"], [{**lic, "status": "吊销"}], kind="licence", message_id="lic-a-2")
    assert mine.json()["records"][0]["detail"] == "updated", mine.text
    assert licence_row(client.engine, lic["licence_no"])["status"] == "吊销"


def test_a_licence_without_its_owner_field_is_refused_owner_missing(client, catalog):
    """A record lacking its owner field is refused with owner_missing, not stored for anyone."""
    catalog.update("dept-a", may_push=["case", "licence"])
    lic = {k: v for k, v in records("licence", A, 1, seed=7)[0].items() if k != "region_code"}
    r = push(client, catalog.keys["dept-a"], [lic], kind="licence", message_id="no-owner")
    assert r.status_code == 200 and r.json()["records"][0]["reason"] == "owner_missing", r.text
    assert library_count(client.engine, "licence") == 0


def test_a_library_record_from_a_system_not_listed_as_writer_is_forbidden_writer(client, catalog):
    """A department may not write the people library; the sharing platform (a listed writer) may."""
    catalog.update("dept-a", may_push=["case", "person"])
    catalog.keys["sz-sharing"] = key = secrets.token_urlsafe(24)
    catalog.add(
        {
            "id": "sz-sharing",
            "name": "苏州市政务数据共享平台",
            "level": "city",
            "region_code": "320500",
            "may_push": ["person"],
            "credentials": {"api_key_sha256": sha256_hex(key)},
        }
    )
    people = [r for r, _ in Generator(seed=8).records("person", 2)]
    r = push(client, catalog.keys["dept-a"], people, kind="person", message_id="people-dept")
    assert r.status_code == 200, r.text
    assert [x["reason"] for x in r.json()["records"]] == ["forbidden_writer", "forbidden_writer"]
    assert library_count(client.engine, "person") == 0
    r = push(client, key, people, kind="person", message_id="people-sharing")
    assert r.status_code == 200 and r.json()["stored"] == 2, r.text


def test_bus_message_from_a_carrying_bs_record_is_quarantined(catalog, settings, engine):
    """Whoever can publish to the hub's broker writes nothing a system does not own: the
    worker authorises each record against the system the message names."""
    own, foreign = records("case", A, 3), records("case", B, 1, seed=2)
    with bus.connect(settings) as conn:
        bus.declare(conn)
        publish_inbound(conn, xml_doc(own + foreign, message_id="bus-mixed"), "dept-a", "bus-mixed", kind="case")
    handled = Worker(settings, engine).run(idle_exit=1.5)
    assert handled == Counter(stored=3, quarantined=1)
    assert stored_cases(engine) == {own[0]["dept_code"]: 3}
    (row,) = quarantine_rows(engine)
    assert row["reason"] == "forbidden_department" and row["source_system"] == "dept-a"
