"""The contract of the SOAP push service: its WSDL 1.1 and the XSDs it imports.

Datasheet
---------
Style       document/literal, WS-I Basic Profile shaped: one body part per message, the
            operation is known from the body's element alone.
Pulls       ``GetCaseChanges`` and ``GetItemCatalogue`` (``hub.api.soap.pull``), types in
            ``urn:govhub:pull:1`` at ``<endpoint>?xsd=pull``.
Operations  one per message kind of the data dictionary, named after its batch element:
            ``PushCases``, ``PushLicences``, ``PushItems``, ``PushEvaluations``,
            ``PushSupervisions``, ``PushPeople``, ``PushEnterprises``, ``PushProjects``.
            Input: the kind's batch element (``{urn:govhub:case:1}cases``...) from
            ``schemas/xsd/<kind>.xsd``; output: ``{urn:govhub:service:1}PushResult``;
            fault detail: ``{urn:govhub:service:1}PushFault``. Which kinds a system may
            actually push is the catalogue's ``may_push``, not the WSDL's business.
Bindings    ``PushSoap11Binding`` (SOAP 1.1) and ``PushSoap12Binding`` (SOAP 1.2); the
            service ``GovhubPushService`` has one port for each (``PushSoap11`` first, so
            clients that take the first port speak SOAP 1.1), both at the same address.
            ``soap12=False`` leaves the SOAP 1.2 binding out, for the few WSDL readers
            that refuse a binding they do not know (xmlschema's, some old toolkits).
URLs        ``<endpoint>?wsdl`` this document (``?wsdl=soap11``: SOAP 1.1 only);
            ``<endpoint>?xsd=<kind>`` a kind's XSD as
            committed in ``schemas/xsd/``; ``<endpoint>?xsd=service`` the service's own
            types. The WSDL imports every XSD by its absolute URL (``xsd:import
            schemaLocation``), so any client that reads the WSDL can fetch them.
Address     the ``soap:address`` is the endpoint URL the WSDL was fetched at, which the
            caller (``hub.api.soap.service``) works out, proxy headers included.
"""

from __future__ import annotations

from functools import lru_cache

from lxml import etree

from hub.model.dictionary import Kind, kinds
from hub.model.outcomes import RECORD_OUTCOMES
from hub.model.schemagen import xsd_path

SERVICE_NS = "urn:govhub:service:1"
XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
WSDL_SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"
SERVICE_XSD = "service"  # ?xsd=service

OUTCOMES = RECORD_OUTCOMES

# ------------------------------------------------------------------ the pulls (hub.api.soap.pull)

PULL_NS = "urn:govhub:pull:1"
PULL_XSD = "pull"  # ?xsd=pull
# operation → (request element, answer element, kind, the answer's cursor element)
OPERATIONS = {
    "GetCaseChanges": ("GetCaseChanges", "CaseChanges", "case", "next_cursor", "cursor"),
    "GetItemCatalogue": ("GetItemCatalogue", "ItemCatalogue", "item", "version", "since_version"),
}


def pull_xsd(address: str) -> bytes:
    """The pull types; the canonical batches are imported from next to it (``?xsd=case``)."""
    nsmap = {"xs": XS, None: PULL_NS, "case": "urn:govhub:case:1", "item": "urn:govhub:item:1"}
    schema = etree.Element(
        f"{{{XS}}}schema", nsmap=nsmap, targetNamespace=PULL_NS, elementFormDefault="qualified", version="1"
    )
    for kind in ("case", "item"):
        etree.SubElement(
            schema, f"{{{XS}}}import", namespace=f"urn:govhub:{kind}:1", schemaLocation=f"{address}?xsd={kind}"
        )
    for req, answer, kind, out_cursor, in_cursor in OPERATIONS.values():
        seq = _sequence(schema, req)
        for name, type_ in ((in_cursor, "xs:string"), ("limit", "xs:int"), ("region", "xs:string")):
            etree.SubElement(seq, f"{{{XS}}}element", name=name, type=type_, minOccurs="0")
        seq = _sequence(schema, answer)
        etree.SubElement(seq, f"{{{XS}}}element", name=out_cursor, type="xs:string", minOccurs="0")
        etree.SubElement(seq, f"{{{XS}}}element", name="has_more", type="xs:boolean")
        etree.SubElement(seq, f"{{{XS}}}element", ref=f"{kind}:{kind}s")  # the canonical batch: <cases>, <items>
    out: bytes = etree.tostring(schema, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out


def _sequence(schema, name: str):
    el = etree.SubElement(schema, f"{{{XS}}}element", name=name)
    return etree.SubElement(etree.SubElement(el, f"{{{XS}}}complexType"), f"{{{XS}}}sequence")


def operation_name(k: Kind) -> str:
    return "Push" + k.batch[:1].upper() + k.batch[1:]


def batch_elements() -> dict[str, Kind]:
    """Clark name of each operation's input element (``{urn:govhub:case:1}cases``) → kind."""
    return {f"{{{k.namespace}}}{k.batch}": k for k in kinds().values()}


def kind_xsd(name: str, address: str = "") -> bytes | None:
    """The XSD served at ``?xsd=<name>``, or None for an unknown name."""
    if name == SERVICE_XSD:
        return service_xsd()
    if name == PULL_XSD:
        return pull_xsd(address)
    if name in kinds():
        return xsd_path(name).read_bytes()
    return None


def _x(parent, tag: str, **attrs) -> etree._Element:
    return etree.SubElement(parent, tag, attrs)


def _xs_element(parent, name: str, type_: str, optional: bool = False, many: bool = False) -> None:
    el = _x(parent, f"{{{XS}}}element", name=name, type=type_)
    if optional or many:
        el.set("minOccurs", "0")
    if many:
        el.set("maxOccurs", "unbounded")


@lru_cache(maxsize=1)
def service_xsd() -> bytes:
    """The service's own types: ``PushResult`` (the answer to every push) and
    ``PushFault`` (the detail of every fault)."""
    schema = etree.Element(
        f"{{{XS}}}schema",
        nsmap={"xs": XS, None: SERVICE_NS},
        targetNamespace=SERVICE_NS,
        elementFormDefault="qualified",
        version="1",
    )
    _x(
        _x(schema, f"{{{XS}}}annotation"), f"{{{XS}}}documentation"
    ).text = "govhub SOAP push service: the answer to a push and the detail of a fault."

    outcome = _x(schema, f"{{{XS}}}simpleType", name="Outcome")
    restriction = _x(outcome, f"{{{XS}}}restriction", base="xs:string")
    for value in OUTCOMES:
        _x(restriction, f"{{{XS}}}enumeration", value=value)

    record = _x(_x(schema, f"{{{XS}}}complexType", name="RecordResult"), f"{{{XS}}}sequence")
    _xs_element(record, "seq", "xs:int")  # position of the record in the batch, from 1
    _xs_element(record, "outcome", "Outcome")
    _xs_element(record, "reason", "xs:string")  # new/updated/same_content... or the quarantine reason
    _xs_element(record, "message", "xs:string", optional=True)  # quarantined: what to fix, personal data masked

    result = _x(_x(_x(schema, f"{{{XS}}}element", name="PushResult"), f"{{{XS}}}complexType"), f"{{{XS}}}sequence")
    _xs_element(result, "message_id", "xs:string")
    _xs_element(result, "kind", "xs:string")
    for name in ("received", *OUTCOMES):
        _xs_element(result, name, "xs:int")
    _xs_element(result, "result", "RecordResult", many=True)

    fault = _x(_x(_x(schema, f"{{{XS}}}element", name="PushFault"), f"{{{XS}}}complexType"), f"{{{XS}}}sequence")
    _xs_element(fault, "code", "xs:string")  # Client.Authentication, Client.Forbidden...
    _xs_element(fault, "reason", "xs:string")  # machine reason: bad_credentials, forbidden_department...
    _xs_element(fault, "message", "xs:string")  # what the sender should do about it
    return etree.tostring(schema, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@lru_cache(maxsize=32)
def build_wsdl(address: str, soap12: bool = True) -> bytes:
    """The WSDL for the endpoint at ``address`` (absolute URL, no query)."""
    ks = list(kinds().values())
    nsmap = {
        "wsdl": WSDL,
        "soap": WSDL_SOAP11,
        "soap12": WSDL_SOAP12,
        "xs": XS,
        "tns": SERVICE_NS,
        "pull": PULL_NS,
        **{k.kind: k.namespace for k in ks},
    }
    defs = etree.Element(f"{{{WSDL}}}definitions", nsmap=nsmap, name="GovhubPush", targetNamespace=SERVICE_NS)
    _x(defs, f"{{{WSDL}}}documentation").text = (
        "govhub push service (政务服务数据交换): department and platform systems push batches of case records, "
        "licences, items, evaluations and supervision data. Authenticate with a WS-Security UsernameToken "
        "(PasswordText or PasswordDigest) in the SOAP header. Records that fail validation are quarantined and "
        "reported per record in PushResult; faults say what the sender must fix."
    )

    # The types are imported by URL, as in the WCF "Imports" pattern: the XSDs stay the
    # committed files the pipeline validates with, fetched from next to this WSDL.
    schema = _x(_x(defs, f"{{{WSDL}}}types"), f"{{{XS}}}schema", targetNamespace=SERVICE_NS + ":imports")
    _x(schema, f"{{{XS}}}import", namespace=SERVICE_NS, schemaLocation=f"{address}?xsd={SERVICE_XSD}")
    for k in ks:
        _x(schema, f"{{{XS}}}import", namespace=k.namespace, schemaLocation=f"{address}?xsd={k.kind}")
    _x(schema, f"{{{XS}}}import", namespace=PULL_NS, schemaLocation=f"{address}?xsd={PULL_XSD}")

    for k in ks:
        msg = _x(defs, f"{{{WSDL}}}message", name=f"{operation_name(k)}Request")
        _x(msg, f"{{{WSDL}}}part", name="batch", element=f"{k.kind}:{k.batch}")
    for op_name, (req, answer, *_rest) in OPERATIONS.items():
        _x(
            _x(defs, f"{{{WSDL}}}message", name=f"{op_name}Request"),
            f"{{{WSDL}}}part",
            name="query",
            element=f"pull:{req}",
        )
        _x(
            _x(defs, f"{{{WSDL}}}message", name=f"{op_name}Response"),
            f"{{{WSDL}}}part",
            name="page",
            element=f"pull:{answer}",
        )
    _x(_x(defs, f"{{{WSDL}}}message", name="PushResponse"), f"{{{WSDL}}}part", name="result", element="tns:PushResult")
    _x(_x(defs, f"{{{WSDL}}}message", name="PushFault"), f"{{{WSDL}}}part", name="fault", element="tns:PushFault")

    port_type = _x(defs, f"{{{WSDL}}}portType", name="PushPortType")
    for k in ks:
        op = _x(port_type, f"{{{WSDL}}}operation", name=operation_name(k))
        _x(
            op, f"{{{WSDL}}}documentation"
        ).text = f"Push a batch of {k.label} ({k.kind}) records: <{k.batch}> of {k.namespace}."
        _x(op, f"{{{WSDL}}}input", message=f"tns:{operation_name(k)}Request")
        _x(op, f"{{{WSDL}}}output", message="tns:PushResponse")
        _x(op, f"{{{WSDL}}}fault", name="PushFault", message="tns:PushFault")
    for op_name, (_req, _answer, kind, *_rest) in OPERATIONS.items():
        op = _x(port_type, f"{{{WSDL}}}operation", name=op_name)
        _x(op, f"{{{WSDL}}}documentation").text = f"Pull {kind} records changed since a cursor (urn:govhub:pull:1)."
        _x(op, f"{{{WSDL}}}input", message=f"tns:{op_name}Request")
        _x(op, f"{{{WSDL}}}output", message=f"tns:{op_name}Response")
        _x(op, f"{{{WSDL}}}fault", name="PushFault", message="tns:PushFault")

    ports = [("PushSoap11", "PushSoap11Binding", WSDL_SOAP11)]
    if soap12:
        ports.append(("PushSoap12", "PushSoap12Binding", WSDL_SOAP12))
    for _port, binding, soap_ns in ports:
        _binding(defs, binding, soap_ns, ks)
    service = _x(defs, f"{{{WSDL}}}service", name="GovhubPushService")
    for port, binding, soap_ns in ports:
        _x(
            _x(service, f"{{{WSDL}}}port", name=port, binding=f"tns:{binding}"),
            f"{{{soap_ns}}}address",
            location=address,
        )
    return etree.tostring(defs, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _binding(defs, name: str, soap_ns: str, ks: list[Kind]) -> None:
    binding = _x(defs, f"{{{WSDL}}}binding", name=name, type="tns:PushPortType")
    _x(binding, f"{{{soap_ns}}}binding", style="document", transport=HTTP_TRANSPORT)
    for name in [operation_name(k) for k in ks] + list(OPERATIONS):
        op = _x(binding, f"{{{WSDL}}}operation", name=name)
        _x(op, f"{{{soap_ns}}}operation", soapAction=f"{SERVICE_NS}#{name}", style="document")
        for direction in ("input", "output"):
            _x(_x(op, f"{{{WSDL}}}{direction}"), f"{{{soap_ns}}}body", use="literal")
        _x(_x(op, f"{{{WSDL}}}fault", name="PushFault"), f"{{{soap_ns}}}fault", name="PushFault", use="literal")
