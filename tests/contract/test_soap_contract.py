"""The SOAP push service's contract, as other stacks see it: the WSDL and its XSDs load in
zeep, xmlschema and lxml, every operation is document/literal, raw SOAP 1.1 / 1.2 / GBK
envelopes are accepted, and hostile or broken envelopes get a Client fault — never a
traceback, never personal data, never anything stored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
import xmlschema
import yaml
from lxml import etree
from sqlalchemy import select
from starlette.applications import Starlette

from hub.api import body as request_body
from hub.api.soap.service import routes
from hub.catalog.authn import hash_password
from hub.db.tables import LIBRARY, ingest_message, lineage
from hub.model.schemagen import xsd_path
from hub.wiring import standard_pipeline
from sandbox.server import run_in_thread
from synth.generator import Generator
from tests.helpers import count, library_count, xml_doc

DEPT = "常熟市行政审批局"
USER, PASSWORD = "cs-approval-soap", "dept-soap-password"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SVC = "urn:govhub:service:1"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
TEXT_TYPE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
XMLSCHEMA_WSDL = Path(xmlschema.__file__).parent / "schemas" / "WSDL"
ID_NO = "110101199003074518"  # a valid resident ID number (check character 8)


@pytest.fixture
def catalogue(tmp_path, monkeypatch):
    """A catalogue with one department system that authenticates by WS-Security."""
    _name, code, region = Generator(seed=0, departments=[DEPT]).departments[0]
    entry = {
        "id": "cs-approval-soap",
        "name": "常熟市行政审批局业务系统",
        "level": "department",
        "region_code": region,
        "dept_code": code,
        "may_push": ["case"],
        "credentials": {"username": USER, "password_pbkdf2": hash_password(PASSWORD, iterations=1000)},
    }
    path = tmp_path / "systems.yaml"
    path.write_text(yaml.safe_dump({"systems": [entry]}, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("GOVHUB_CATALOG", str(path))
    yield entry
    from hub.catalog.systems import _systems_at

    _systems_at.cache_clear()


def _serve(pipeline=None):
    app = Starlette(routes=routes())
    if pipeline is not None:
        app.state.pipeline = pipeline
    return run_in_thread(app)


@pytest.fixture
def endpoint(catalogue):
    """The SOAP endpoint without a database: for calls that must never reach one."""
    base, stop = _serve()
    yield base + "/soap/push"
    stop()


@pytest.fixture
def hub(catalogue, engine):
    base, stop = _serve(standard_pipeline(engine))
    yield base + "/soap/push"
    stop()


def cases(n: int, seed: int = 1) -> list[dict]:
    return [r for r, _ in Generator(seed=seed, departments=[DEPT]).records("case", n)]


def batch_xml(records, message_id: str | None = None) -> str:
    """A canonical <cases> batch as text, without its XML declaration."""
    doc = xml_doc(records, message_id=message_id).decode("utf-8")
    return doc.split("?>", 1)[1].strip()


def envelope(
    body: str, version: str = "1.1", password: str = PASSWORD, encoding: str = "utf-8", header: str | None = None
) -> bytes:
    ns = SOAP11 if version == "1.1" else SOAP12
    if header is None:
        header = (
            f'<wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken><wsse:Username>{USER}</wsse:Username>'
            f'<wsse:Password Type="{TEXT_TYPE}">{password}</wsse:Password></wsse:UsernameToken></wsse:Security>'
        )
    text = (
        f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n<soap:Envelope xmlns:soap="{ns}">'
        f"<soap:Header>{header}</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"
    )
    return text.encode(encoding)


def post(url: str, data: bytes, version: str = "1.1") -> requests.Response:
    if version == "1.1":
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{SVC}#PushCases"'}
    else:
        headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{SVC}#PushCases"'}
    return requests.post(url, data=data, headers=headers, timeout=30)


def push_result(resp: requests.Response) -> dict:
    doc = etree.fromstring(resp.content)
    result = doc.find(f".//{{{SVC}}}PushResult")
    assert result is not None, resp.text
    counts = {n: int(result.findtext(f"{{{SVC}}}{n}")) for n in ("received", "stored", "duplicate", "quarantined")}
    counts["results"] = [{c.tag.split("}")[1]: c.text for c in r} for r in result.findall(f"{{{SVC}}}result")]
    return counts


def fault11(resp: requests.Response) -> tuple[str, str, str]:
    """(faultcode, faultstring, detail code) of a SOAP 1.1 fault; also checks the HTTP side."""
    assert resp.status_code == 500 and resp.headers["content-type"].startswith("text/xml"), resp.text
    assert "Traceback" not in resp.text
    fault = etree.fromstring(resp.content).find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    assert fault is not None, resp.text
    detail_code = fault.findtext(f"detail/{{{SVC}}}PushFault/{{{SVC}}}code")
    return fault.findtext("faultcode"), fault.findtext("faultstring"), detail_code


def nothing_stored(engine) -> bool:
    return library_count(engine, "case") == 0 and count(engine, lineage) == 0 and count(engine, ingest_message) == 0


# ------------------------------------------------------------------ WSDL and XSDs


def test_wsdl_loads_in_zeep_and_every_operation_is_document_literal(endpoint):
    import zeep
    from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding
    from zeep.wsdl.messages import DocumentMessage

    client = zeep.Client(endpoint + "?wsdl")
    ports = client.wsdl.services["GovhubPushService"].ports
    assert [type(p.binding) for p in ports.values()] == [Soap11Binding, Soap12Binding]
    for port in ports.values():
        ops = port.binding.all()
        assert {"PushCases", "PushLicences", "PushItems", "PushEvaluations", "PushSupervisions"} <= set(ops)
        for name, op in ops.items():
            assert op.style == "document" and isinstance(op.input, DocumentMessage)
            pulls = {"GetCaseChanges": "CaseChanges", "GetItemCatalogue": "ItemCatalogue"}  # issue #13
            answer = etree.QName("urn:govhub:pull:1", pulls[name]) if name in pulls else etree.QName(SVC, "PushResult")
            assert op.output.body.qname == answer
            assert port.binding_options["address"] == endpoint
        assert {"GetCaseChanges", "GetItemCatalogue"} <= set(ops)
        assert ops["PushCases"].input.body.qname == etree.QName("urn:govhub:case:1", "cases")
    doc = etree.fromstring(requests.get(endpoint + "?wsdl", timeout=10).content)
    wsdl = {
        "w": "http://schemas.xmlsoap.org/wsdl/",
        "s": "http://schemas.xmlsoap.org/wsdl/soap/",
        "s12": "http://schemas.xmlsoap.org/wsdl/soap12/",
    }
    assert all(
        p.get("element") and not p.get("type") for p in doc.iterfind("w:message/w:part", wsdl)
    )  # literal elements
    bodies = [*doc.iterfind(".//s:body", wsdl), *doc.iterfind(".//s12:body", wsdl)]
    bindings = [*doc.iterfind("w:binding/s:binding", wsdl), *doc.iterfind("w:binding/s12:binding", wsdl)]
    assert len(bindings) == 2 and {b.get("style") for b in bindings} == {"document"}
    assert {b.get("use") for b in bodies} == {"literal"}


def test_wsdl_and_xsds_load_in_xmlschema_and_lxml(endpoint):
    from xmlschema.extras.wsdl import Wsdl11Document

    full = requests.get(endpoint + "?wsdl", timeout=10).content
    xmlschema.XMLSchema(str(XMLSCHEMA_WSDL / "wsdl.xsd")).validate(full)  # WSDL 1.1 structure
    # xmlschema reads SOAP 1.1 bindings only: ?wsdl=soap11 is the same service without SOAP 1.2.
    wsdl = Wsdl11Document(endpoint + "?wsdl=soap11", allow="all")
    (binding,) = wsdl.bindings.values()
    assert binding.soap_style == "document"
    ops = binding.operations.values()
    assert all(op.input.soap_body.use == "literal" and op.output.soap_body.use == "literal" for op in ops)
    assert wsdl.schema.maps.elements["{urn:govhub:case:1}cases"] is not None  # imported by schemaLocation URL
    for name in ("service", "pull", "case", "licence", "item", "evaluation", "supervision"):
        data = requests.get(f"{endpoint}?xsd={name}", timeout=10).content
        xmlschema.XMLSchema(f"{endpoint}?xsd={name}")
        if name != "pull":  # it imports the canonical XSDs by URL, which lxml does not fetch (xmlschema did)
            etree.XMLSchema(etree.fromstring(data))
        if name not in ("service", "pull"):
            assert data == xsd_path(name).read_bytes()  # exactly the schema the pipeline validates with
    assert requests.get(f"{endpoint}?xsd=nosuch", timeout=10).status_code == 404


def test_soap_address_is_the_url_the_wsdl_was_fetched_at(endpoint):
    def address(headers):
        doc = etree.fromstring(requests.get(endpoint + "?wsdl", headers=headers, timeout=10).content)
        locations = {el.get("location") for el in doc.iter("{*}address")}
        imports = {
            el.get("schemaLocation").split("?")[0] for el in doc.iter("{http://www.w3.org/2001/XMLSchema}import")
        }
        assert len(locations) == 1 and imports == locations
        return locations.pop()

    assert address({}) == endpoint
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "zwfw.example.gov.cn, internal:8080"}
    assert address(proxied) == "https://zwfw.example.gov.cn/soap/push"
    assert address({"X-Forwarded-Host": 'evil"><x/>', "X-Forwarded-Proto": "gopher"}) == endpoint  # forged: ignored


# ------------------------------------------------------------------ raw envelopes


def test_raw_soap11_envelope_is_stored_and_answered_per_the_schema(hub, engine):
    recs = cases(4)
    resp = post(hub, envelope(batch_xml(recs, "raw-11")))
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/xml")
    result = push_result(resp)
    assert (result["received"], result["stored"]) == (4, 4)
    assert [r["outcome"] for r in result["results"]] == ["stored"] * 4
    envelope_xsd = xmlschema.XMLSchema(str(XMLSCHEMA_WSDL / "soap-envelope.xsd"))
    envelope_xsd.validate(resp.content)
    service_xsd = xmlschema.XMLSchema(hub + "?xsd=service")
    service_xsd.validate(etree.tostring(etree.fromstring(resp.content).find(f".//{{{SVC}}}PushResult")))
    with engine.connect() as conn:
        stored = set(conn.execute(select(LIBRARY["case"].c.case_no)).scalars())
    assert stored == {r["case_no"] for r in recs}


def test_raw_soap12_envelope_is_answered_in_soap12(hub, engine):
    resp = post(hub, envelope(batch_xml(cases(3), "raw-12"), version="1.2"), version="1.2")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/soap+xml")
    assert etree.QName(etree.fromstring(resp.content)).namespace == SOAP12
    assert push_result(resp)["stored"] == 3 and library_count(engine, "case") == 3


def test_soap12_faults_use_sender_subcodes_and_http_400(hub, engine):
    resp = post(hub, envelope(batch_xml(cases(1)), version="1.2", password="wrong"), version="1.2")
    assert resp.status_code == 400 and resp.headers["content-type"].startswith("application/soap+xml")
    fault = etree.fromstring(resp.content).find(f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault")
    code = fault.find(f"{{{SOAP12}}}Code")
    assert code.findtext(f"{{{SOAP12}}}Value").endswith(":Sender")
    sub = code.find(f"{{{SOAP12}}}Subcode/{{{SOAP12}}}Value")
    prefix, local = sub.text.split(":")
    assert (sub.nsmap[prefix], local) == (SVC, "Authentication")
    assert nothing_stored(engine)


# GB18030 has every character; GBK lacks the four-byte ones (𠀀 U+20000).
CHINESE = {"gbk": "张家港市杨舍镇食品经营许可（补正材料）", "gb18030": "常熟市虞山街道个体工商户设立登记（𠀀𪚥）"}


@pytest.mark.parametrize("encoding", sorted(CHINESE))
def test_gb_encoded_envelope_with_chinese_text_is_stored_as_utf8(hub, engine, encoding):
    recs = cases(3, seed=4)
    recs[0]["case_name"] = CHINESE[encoding]
    resp = post(hub, envelope(batch_xml(recs, f"raw-{encoding}"), encoding=encoding))
    assert push_result(resp)["stored"] == 3, resp.text
    t = LIBRARY["case"]
    with engine.connect() as conn:
        rows = {r.case_no: r for r in conn.execute(select(t.c.case_no, t.c.case_name, t.c.applicant_name))}
    assert rows[recs[0]["case_no"]].case_name == CHINESE[encoding]
    assert all(rows[r["case_no"]].applicant_name == r["applicant_name"] for r in recs)


def test_records_that_fail_validation_are_quarantined_and_reported_not_faulted(hub, engine):
    g = Generator(seed=9, departments=[DEPT])
    recs = [g.case(), g.defective("case", "id_check_char"), g.case(), g.defective("case", "bad_enum")]
    result = push_result(post(hub, envelope(batch_xml(recs, "with-defects"))))
    assert (result["stored"], result["quarantined"]) == (2, 2)
    by_seq = {int(r["seq"]): r for r in result["results"]}
    assert by_seq[2]["outcome"] == "quarantined" and by_seq[2]["reason"] == "id_check_char"
    assert by_seq[4]["outcome"] == "quarantined" and by_seq[4]["reason"] == "schema_invalid"
    assert by_seq[1]["outcome"] == "stored" and by_seq[1]["reason"] == "new"
    assert by_seq[2]["message"] and not re.search(r"\d{17}[\dXx]", by_seq[2]["message"])  # masked


# ------------------------------------------------------------------ hostile and broken envelopes

_BOMB_BODY = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)
HOSTILE = {
    "billion-laughs": (
        f'<?xml version="1.0"?>{_BOMB_BODY}<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body>'
        '<cases xmlns="urn:govhub:case:1"><case><case_no>&lol3;</case_no></case></cases>'
        "</soap:Body></soap:Envelope>"
    ),
    "external-entity": (
        f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body><cases xmlns="urn:govhub:case:1"><case>'
        "<case_no>&xxe;</case_no></case></cases></soap:Body></soap:Envelope>"
    ),
    "doctype-after-long-prolog": (
        f'<?xml version="1.0"?><!--{"x" * 8000}--><!DOCTYPE e [<!ENTITY x "y">]>'
        f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body><cases xmlns="urn:govhub:case:1">'
        "<case><case_no>&x;</case_no></case></cases></soap:Body></soap:Envelope>"
    ),
}


def test_dtd_and_entity_envelopes_are_refused_and_nothing_stored(hub, engine):
    for name, doc in HOSTILE.items():
        code, text, detail = fault11(post(hub, doc.encode("utf-8")))
        assert (code, detail) == ("soap:Client.XmlForbidden", "Client.XmlForbidden"), name
        assert "DOCTYPE" in text and "root:" not in text
    assert nothing_stored(engine)


MALFORMED = {
    "empty": (b"", "soap:Client.MalformedXml"),
    "not-xml": (b"hello, this is not XML", "soap:Client.MalformedXml"),
    "truncated": (envelope("<cases xmlns='urn:govhub:case:1'><case>")[:-30], "soap:Client.MalformedXml"),
    "not-an-envelope": (b'<cases xmlns="urn:govhub:case:1"/>', "soap:Client.MalformedXml"),
    "no-body": (
        f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Header/></soap:Envelope>'.encode(),
        "soap:Client.MalformedXml",
    ),
    "empty-body": (envelope(""), "soap:Client.MalformedXml"),
    "wrong-envelope-namespace": (
        b'<soap:Envelope xmlns:soap="urn:not-soap"><soap:Body/></soap:Envelope>',
        "soap:VersionMismatch",
    ),
    "bad-gbk-bytes": (b'<?xml version="1.0" encoding="GBK"?><a>\xff\xff</a>', "soap:Client.MalformedXml"),
    "unknown-encoding": (b'<?xml version="1.0" encoding="EBCDIC-CP-US"?><a/>', "soap:Client.MalformedXml"),
    "unknown-operation": (envelope('<GetWeather xmlns="urn:weather"/>'), "soap:Client.UnknownOperation"),
    "record-not-batch": (envelope('<case xmlns="urn:govhub:case:1"/>'), "soap:Client.UnknownOperation"),
    "no-token": (envelope(batch_xml(cases(1)), header=""), "soap:Client.Authentication"),
    "wrong-password": (envelope(batch_xml(cases(1)), password="guess"), "soap:Client.Authentication"),
    "kind-not-allowed": (envelope('<licences xmlns="urn:govhub:licence:1"/>'), "soap:Client.Forbidden"),
    "message-id-too-long": (
        envelope(f'<cases xmlns="urn:govhub:case:1" message_id="{"m" * 200}"/>'),
        "soap:Client.InvalidMessageId",
    ),
    "must-understand": (
        envelope(
            "<cases xmlns='urn:govhub:case:1'/>",
            header=(f'<t:Tx xmlns:t="urn:tx" xmlns:soap="{SOAP11}" soap:mustUnderstand="1"/>'),
        ),
        "soap:MustUnderstand",
    ),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_broken_envelopes_get_a_client_fault_never_a_traceback(endpoint, name):
    body, expected = MALFORMED[name]
    code, text, detail = fault11(post(endpoint, body))
    assert code == expected and text
    assert detail == expected.removeprefix("soap:")


def test_too_large_request_is_a_client_fault(endpoint, monkeypatch):
    monkeypatch.setattr(request_body, "MAX_BODY", 4096)
    code, text, _ = fault11(post(endpoint, envelope(batch_xml(cases(20)))))
    assert code == "soap:Client.TooLarge" and "MiB" in text


LEAKY = {
    "id-in-namespace": envelope(f'<cases xmlns="urn:{ID_NO}"/>'),
    "id-in-element-name": envelope(f'<n{ID_NO} xmlns="urn:x"/>'),
    "id-in-broken-tag": envelope(f"<cases xmlns='urn:govhub:case:1'><n{ID_NO}></cases>"),
    "id-in-entity-name": envelope(f"<cases xmlns='urn:govhub:case:1'>&x{ID_NO};</cases>"),
    "id-in-envelope-namespace": f'<soap:Envelope xmlns:soap="urn:{ID_NO}"><soap:Body/></soap:Envelope>'.encode(),
    "id-as-username": envelope(
        batch_xml(cases(1)),
        header=(
            f'<wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken><wsse:Username>{ID_NO}</wsse:Username>'
            f"<wsse:Password>{ID_NO}</wsse:Password></wsse:UsernameToken></wsse:Security>"
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(LEAKY))
def test_fault_strings_contain_no_unmasked_id_numbers(endpoint, name):
    resp = post(endpoint, LEAKY[name])
    code, text, _ = fault11(resp)
    assert code.startswith(("soap:Client", "soap:VersionMismatch"))
    assert ID_NO not in resp.text and not re.search(r"\d{17}[\dXx]", resp.text), resp.text
