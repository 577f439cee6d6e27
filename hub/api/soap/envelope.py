"""SOAP envelopes for the push service (``hub.api.soap.service``): the two SOAP versions,
faults, reading an envelope (``parse_envelope``, ``header_and_body``: hardened parser,
version, mustUnderstand) and writing the answers (``push_result``, ``ok``,
``fault_response``). See the service's datasheet for the fault codes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree
from starlette.responses import Response

from hub.api.soap.wsdl import SERVICE_NS
from hub.catalog.access import AccessDenied
from hub.core.errors import GovhubError
from hub.model.masking import mask_id, mask_text
from hub.model.outcomes import RECORD_OUTCOMES, Reason
from hub.model.xmlsafe import XmlRefused, parse_document

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSA = ("http://www.w3.org/2005/08/addressing", "http://schemas.xmlsoap.org/ws/2004/08/addressing")
UNDERSTOOD_HEADERS = {WSSE, *WSA}


@dataclass(frozen=True)
class SoapVersion:
    env: str  # envelope namespace
    content_type: str
    client: str  # the fault class for the sender's mistakes
    server: str
    actor_attr: str  # header blocks addressed to someone else carry this attribute
    our_roles: tuple[str, ...]


SOAP11 = SoapVersion(
    "http://schemas.xmlsoap.org/soap/envelope/",
    "text/xml; charset=utf-8",
    "Client",
    "Server",
    "actor",
    ("http://schemas.xmlsoap.org/soap/actor/next",),
)
SOAP12 = SoapVersion(
    "http://www.w3.org/2003/05/soap-envelope",
    "application/soap+xml; charset=utf-8",
    "Sender",
    "Receiver",
    "role",
    (
        "http://www.w3.org/2003/05/soap-envelope/role/next",
        "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver",
    ),
)
VERSIONS = {v.env: v for v in (SOAP11, SOAP12)}


_DIGIT_RUN_RE = re.compile(r"\d{15,17}[\dXx]?")


def scrub(message: str) -> str:
    """``mask_text``, then every run of 15+ digits as well: parser messages quote element
    and entity names, where an ID number may sit glued to letters (``n110101…``) and
    escape ``mask_text``'s word boundaries. A fault string is allowed to over-mask."""
    return _DIGIT_RUN_RE.sub(lambda m: mask_id(m.group(0)), mask_text(message))


class SoapFault(GovhubError):
    """``code`` is ``Client.<Subcode>``, ``Server``, ``VersionMismatch`` or ``MustUnderstand``."""

    def __init__(self, code: str, reason: str, message: str):
        super().__init__(message, reason=reason)
        self.code, self.message = code, scrub(message)

    @classmethod
    def denied(cls, exc: AccessDenied) -> SoapFault:
        return cls("Client.Authentication" if exc.status == 401 else "Client.Forbidden", exc.reason, exc.message)


def parse_envelope(body: bytes) -> tuple[etree._Element, SoapVersion]:
    if not body.strip():
        raise SoapFault("Client.MalformedXml", Reason.XML_MALFORMED, "the request body is empty; POST a SOAP envelope")
    try:
        root = parse_document(body)
    except XmlRefused as exc:
        code = "Client.XmlForbidden" if exc.reason == Reason.XML_FORBIDDEN else "Client.MalformedXml"
        raise SoapFault(code, exc.reason, exc.message) from None
    if root.getroottree().docinfo.doctype:  # a DOCTYPE the prolog check did not see
        raise SoapFault("Client.XmlForbidden", Reason.XML_FORBIDDEN, "XML with a DOCTYPE is refused; send plain XML")
    name = etree.QName(root)
    if name.localname != "Envelope":
        raise SoapFault(
            "Client.MalformedXml",
            "not_soap",
            f"the document is a <{name.localname}>, not a SOAP Envelope; "
            "wrap the batch in a SOAP 1.1 or 1.2 envelope (see the WSDL at ?wsdl)",
        )
    version = VERSIONS.get(name.namespace or "")
    if version is None:
        raise SoapFault(
            "VersionMismatch",
            "version_mismatch",
            f"the envelope namespace {name.namespace!r} is not SOAP 1.1 ({SOAP11.env}) or SOAP 1.2 ({SOAP12.env})",
        )
    return root, version


def elements(parent) -> list:
    return [] if parent is None else [c for c in parent if isinstance(c.tag, str)]


def header_and_body(envelope, version: SoapVersion):
    header = envelope.find(f"{{{version.env}}}Header")
    body = envelope.find(f"{{{version.env}}}Body")
    if body is None:
        raise SoapFault("Client.MalformedXml", "no_body", "the envelope has no Body")
    _check_must_understand(header, version)
    payload = elements(body)
    if not payload:
        raise SoapFault(
            "Client.MalformedXml",
            "empty_body",
            'the SOAP Body is empty; put the batch element in it (e.g. <cases xmlns="urn:govhub:case:1">)',
        )
    return header, payload[0]


def _check_must_understand(header, version: SoapVersion) -> None:
    for block in elements(header):
        name = etree.QName(block)
        must = block.get(f"{{{version.env}}}mustUnderstand", "").strip() in ("1", "true")
        role = block.get(f"{{{version.env}}}{version.actor_attr}")
        if must and (role is None or role in version.our_roles) and name.namespace not in UNDERSTOOD_HEADERS:
            raise SoapFault(
                "MustUnderstand",
                "must_understand",
                f"the header <{name.localname}> of {name.namespace} "
                "is marked mustUnderstand and this service does not process it; leave it out",
            )


# ------------------------------------------------------------------ answers


def _sub(parent, name: str, text) -> None:
    etree.SubElement(parent, f"{{{SERVICE_NS}}}{name}").text = str(text)


def push_result(summary, results: list[dict]) -> etree._Element:
    el = etree.Element(f"{{{SERVICE_NS}}}PushResult", nsmap={None: SERVICE_NS})
    _sub(el, "message_id", summary.message_id)
    _sub(el, "kind", summary.kind)
    _sub(el, "received", summary.received)
    for outcome in RECORD_OUTCOMES:
        _sub(el, outcome, summary.counts[outcome])
    for r in results:
        item = etree.SubElement(el, f"{{{SERVICE_NS}}}result")
        _sub(item, "seq", r["seq"])
        _sub(item, "outcome", r["outcome"])
        _sub(item, "reason", r["reason"] or r["detail"])
        if r["message"]:
            _sub(item, "message", mask_text(r["message"]))
    return el


# ------------------------------------------------------------------ answers


def _envelope(version: SoapVersion, payload) -> bytes:
    env = etree.Element(f"{{{version.env}}}Envelope", nsmap={"soap": version.env, "svc": SERVICE_NS})
    etree.SubElement(env, f"{{{version.env}}}Body").append(payload)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def ok(version: SoapVersion, payload) -> Response:
    return Response(_envelope(version, payload), status_code=200, media_type=version.content_type)


def fault_response(version: SoapVersion, fault: SoapFault) -> Response:
    cls, _, sub = fault.code.partition(".")
    detail = etree.Element(f"{{{SERVICE_NS}}}PushFault")
    _sub(detail, "code", fault.code)
    _sub(detail, "reason", fault.reason)
    _sub(detail, "message", fault.message)
    env = version.env
    el = etree.Element(f"{{{env}}}Fault")
    if version is SOAP11:
        etree.SubElement(el, "faultcode").text = f"soap:{fault.code}"
        etree.SubElement(el, "faultstring").text = fault.message
        etree.SubElement(el, "detail").append(detail)
        status = 500
    else:
        code = etree.SubElement(el, f"{{{env}}}Code")
        value = {"Client": SOAP12.client, "Server": SOAP12.server}.get(cls, cls)
        etree.SubElement(code, f"{{{env}}}Value").text = f"soap:{value}"
        if sub:
            etree.SubElement(etree.SubElement(code, f"{{{env}}}Subcode"), f"{{{env}}}Value").text = f"svc:{sub}"
        reason = etree.SubElement(el, f"{{{env}}}Reason")
        etree.SubElement(
            reason, f"{{{env}}}Text", {"{http://www.w3.org/XML/1998/namespace}lang": "en"}
        ).text = fault.message
        etree.SubElement(el, f"{{{env}}}Detail").append(detail)
        status = 400 if value == SOAP12.client else 500
    return Response(_envelope(version, el), status_code=status, media_type=version.content_type)
