"""The SOAP push endpoint (``/soap/push``): department and platform systems push batches
of records as document/literal SOAP calls.

Datasheet
---------
GET         ``?wsdl`` the WSDL (``hub.api.soap.wsdl``; ``?wsdl=soap11`` without the SOAP 1.2
            binding), whose ``soap:address`` is the URL it was fetched at
            (``X-Forwarded-Proto`` / ``X-Forwarded-Host`` honoured behind a proxy);
            ``?xsd=<kind>`` / ``?xsd=service`` the XSDs it imports.
POST        a SOAP 1.1 (``text/xml``) or SOAP 1.2 (``application/soap+xml``) envelope; the
            answer is in the same version. Any declared encoding the hardened parser
            reads (UTF-8, GBK, GB2312, GB18030) is accepted; records are stored as UTF-8.
            Body limit ``hub.api.body.MAX_BODY`` (20 MiB: larger batches go in several calls or by SFTP).
Auth        WS-Security 1.0 ``wsse:Security/wsse:UsernameToken`` in the SOAP header:
            PasswordText (checked against the catalogue's ``password_pbkdf2``) or
            PasswordDigest (against the ``secret``; ``wsu:Created`` must be within
            ``hub.catalog.authn`` MAX_PAST/MAX_FUTURE and a nonce is accepted once, by
            every worker: ``hub.api.soap.wssec``).
Dispatch    on the Body's first element: the batch element of a kind
            (``{urn:govhub:case:1}cases`` → case), not on SOAPAction; a pull's request
            element (``{urn:govhub:pull:1}GetCaseChanges``: ``hub.api.soap.pull``).
Checks      the caller may push the kind (``may_push``; else the whole push is refused) and
            the batch holds nothing but records directly (an unknown element between the
            batch and its records refuses the whole push, nothing stored). Then the batch
            goes through the pipeline as a canonical XML message, which authorises every
            record it stores: a record the caller does not own (another department or
            region, no owner field) is quarantined with its reason, per record. The SOAP
            contract is always the canonical XSD, whatever mapping the system's file
            uploads use. Records that fail validation are not
            faults: they are quarantined and reported in ``PushResult``, one ``result``
            per record (seq, outcome, reason, message).
Message id  the batch's ``message_id`` attribute, else the WS-Addressing ``MessageID``
            header, else ``sha256:`` + the digest of the batch element. A message id seen
            before answers with every record a duplicate (safe redelivery).
Faults      the detail is ``{urn:govhub:service:1}PushFault`` (code, reason, message);
            messages say what to fix and never carry personal data.

            ===========================  =================  ===========================
            code (SOAP 1.1 faultcode     SOAP 1.2 Code /    when
            and PushFault detail)        Subcode (svc:)
            ===========================  =================  ===========================
            ``Client.Authentication``    Sender / ...       no, bad, stale or replayed
                                                            token; locked out after
                                                            repeated failures
            ``Client.Forbidden``         Sender / ...       a kind it may not push
            ``Client.InvalidBatch``      Sender / ...       an unknown element between
                                                            the batch and its records
            ``Client.MalformedXml``      Sender / ...       not XML, bad encoding, no Body
            ``Client.XmlForbidden``      Sender / ...       a DTD or entity declarations
            ``Client.UnknownOperation``  Sender / ...       the Body element is no batch
            ``Client.InvalidMessageId``  Sender / ...       message id over 128 chars
            ``Client.TooLarge``          Sender / ...       body over ``MAX_BYTES``
            ``Client.InvalidRequest``    Sender / ...       a pull's cursor, limit or
                                                            region is not valid
            ``VersionMismatch``          VersionMismatch    not a SOAP 1.1/1.2 envelope
            ``MustUnderstand``           MustUnderstand     a mustUnderstand header we
                                                            do not process
            ``Server``                   Receiver           the hub failed: send again
            ===========================  =================  ===========================

            A SOAP 1.2 Subcode is the part after ``Client.`` in the service's namespace
            (``svc:Authentication``). HTTP status: SOAP 1.1 faults are always 500 (SOAP 1.1 §6.2, WS-I BP R1126);
            SOAP 1.2 follows its HTTP binding: 400 for Sender faults, 500 otherwise.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re

from lxml import etree
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from hub.api.body import BodyTooLarge, read_body
from hub.api.soap import pull as soap_pull
from hub.api.soap.envelope import (
    SOAP11,
    SOAP12,
    WSA,
    SoapFault,
    SoapVersion,
    elements,
    fault_response,
    header_and_body,
    ok,
    parse_envelope,
    push_result,
)
from hub.api.soap.wsdl import batch_elements, build_wsdl, kind_xsd
from hub.api.soap.wssec import authenticate
from hub.audit import refused as audit_refused
from hub.audit.chain import LogUnavailable
from hub.catalog.access import AccessDenied, authorise_push
from hub.catalog.systems import System
from hub.core.message_id import MAX_MESSAGE_ID, message_id_problem
from hub.ingest.decode_xml import refuse_nesting
from hub.model.dictionary import Kind

log = logging.getLogger("govhub.soap")


# ------------------------------------------------------------------ HTTP


def routes(path: str = "/soap/push") -> list[Route]:
    """Routes to add to the hub's app (``app.router.routes.extend(routes())``); the app
    must hold a ``hub.ingest.pipeline.Pipeline`` in ``app.state.pipeline``."""
    return [Route(path, soap_endpoint, methods=["GET", "POST"])]


async def soap_endpoint(request: Request) -> Response:
    if request.method != "POST":
        return _describe(request)
    version = SOAP12 if "application/soap+xml" in request.headers.get("content-type", "") else SOAP11
    try:
        body = await read_body(request)
    except BodyTooLarge as exc:
        return fault_response(
            version,
            SoapFault(
                "Client.TooLarge",
                "too_large",
                f"the request is larger than {exc.mib} MiB; send the records in several calls",
            ),
        )
    pipeline = getattr(request.app.state, "pipeline", None)
    client = request.client.host if request.client else None
    return await run_in_threadpool(handle_call, body, pipeline, version, client)


def _describe(request: Request) -> Response:
    address = endpoint_url(request)
    params = {k.lower(): v for k, v in request.query_params.items()}
    if "wsdl" in params:
        wsdl = build_wsdl(address, soap12=params["wsdl"].lower() != "soap11")
        return Response(wsdl, media_type="text/xml; charset=utf-8")
    if "xsd" in params:
        xsd = kind_xsd(params["xsd"], address)
        if xsd is None:
            return PlainTextResponse(
                f"no schema {params['xsd']!r}; the WSDL at {address}?wsdl lists them", status_code=404
            )
        return Response(xsd, media_type="text/xml; charset=utf-8")
    return PlainTextResponse(f"govhub SOAP push service; WSDL: {address}?wsdl\n")


_HOST_RE = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def endpoint_url(request: Request) -> str:
    """The URL the client used for this endpoint, as seen in front of any proxy."""
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
    if proto not in ("http", "https"):
        proto = request.url.scheme
    if not _HOST_RE.match(host):  # absent or not a host name: a forged header must not inject markup or paths
        host = request.url.netloc
    return f"{proto}://{host}{request.url.path}"


# ------------------------------------------------------------------ one call


def handle_call(body: bytes, pipeline, version: SoapVersion = SOAP11, client: str | None = None) -> Response:
    """Answer one POSTed envelope; ``version`` (from the Content-Type) is used for faults
    until the envelope says which it is; ``client`` is the sender's address (the lockout's).
    Runs in a worker thread: parsing, PBKDF2 and the database are blocking."""
    system_id = "-"
    try:
        envelope, version = parse_envelope(body)
        header, batch = header_and_body(envelope, version)
        system = authenticate(header, getattr(pipeline, "engine", None), client)
        system_id = system.id
        pull_op = soap_pull.request_elements().get(batch.tag)
        if pull_op is not None:  # GetCaseChanges, GetItemCatalogue
            return ok(version, soap_pull.handle(pull_op, batch, system, pipeline.engine))
        k = _dispatch(batch)
        authorise_push(system, k.kind)  # each record is authorised by the pipeline: a foreign one is quarantined
        nested = refuse_nesting(batch, k)
        if nested is not None:
            raise SoapFault("Client.InvalidBatch", "schema_invalid", nested)
        # Serialised with every namespace declaration in scope on the envelope, so QName-valued
        # content (xsi:type="xs:string") still resolves once cut out of it. Not C14N: libxml2
        # 2.14's subtree C14N puts xmlns="" on grandchildren of a default-namespace element.
        doc = etree.tostring(batch, xml_declaration=True, encoding="UTF-8")
        message_id = _message_id(batch, header, doc)
        if pipeline is None:
            raise RuntimeError("app.state.pipeline is not set")
        return ok(version, _ingest(pipeline, system, k, doc, message_id, body))
    except AccessDenied as exc:
        log.warning("SOAP push from %s refused: %s", system_id, exc.reason)
        return fault_response(version, SoapFault.denied(exc))
    except SoapFault as fault:
        log.warning("SOAP push from %s refused: %s (%s)", system_id, fault.code, fault.reason)
        if system_id != "-":  # an authenticated system's push refused whole: in the exchange log all the same
            audit_refused.refused(
                getattr(pipeline, "engine", None), "soap", system_id, None, body, fault.code, fault.reason
            )
        return fault_response(version, fault)
    except LogUnavailable as exc:  # nothing is accepted without evidence: a Server fault, send again
        log.error("SOAP push from %s not logged: %s", system_id, exc.message)
        return fault_response(
            version,
            SoapFault("Server", exc.reason, "the hub cannot record this push in its exchange log; send it again later"),
        )
    except Exception as exc:
        log.exception("SOAP push from %s failed: %s", system_id, type(exc).__name__)
        return fault_response(
            version,
            SoapFault(
                "Server",
                "internal_error",
                "the hub could not process this push; "
                "send it again later with the same message id (a redelivery is safe)",
            ),
        )


# ------------------------------------------------------------------ the push


def _dispatch(batch) -> Kind:
    k = batch_elements().get(batch.tag)
    if k is None:
        name = etree.QName(batch)
        known = ", ".join(f"<{e.batch}> of {e.namespace}" for e in batch_elements().values())
        raise SoapFault(
            "Client.UnknownOperation",
            "unknown_operation",
            f"the Body holds <{name.localname}> of {name.namespace or 'no namespace'}, which is no operation "
            f"of this service; send one of {known} (see ?wsdl)",
        )
    return k


def _message_id(batch, header, doc: bytes) -> str:
    wsa = next(
        (
            h.text.strip()
            for h in elements(header)
            if etree.QName(h).namespace in WSA and etree.QName(h).localname == "MessageID" and h.text
        ),
        None,
    )
    mid = (batch.get("message_id") or "").strip() or wsa or f"sha256:{hashlib.sha256(doc).hexdigest()[:40]}"
    why = message_id_problem(mid)  # the one rule (hub.core.message_id)
    if why is not None:
        too_long = len(mid) > MAX_MESSAGE_ID
        raise SoapFault("Client.InvalidMessageId", "message_id_too_long" if too_long else "message_id_invalid", why)
    return mid


def _ingest(pipeline, system: System, k: Kind, doc: bytes, message_id: str, envelope: bytes) -> etree._Element:
    canonical = system.model_copy(update={"mappings": {}})
    results: list[dict] = []
    summary = pipeline.ingest(
        io.BytesIO(doc),
        canonical,
        fmt="xml",
        kind=k.kind,
        message_id=message_id,
        results=results,
        channel="soap",
        exact=envelope,  # the exchange log keeps the envelope as received, its signature included
    )
    return push_result(summary, results)
