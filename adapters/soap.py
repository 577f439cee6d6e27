"""``soap://`` (``soaps://`` for HTTPS) — a WSDL-driven SOAP client (zeep).

    soap://10.32.1.5:8080/exchange/CaseService?username=govhub&password_env=PROV_SOAP_PW
    soap://prov:8080/catalogue?wsdl=/catalogue/wsdl/Catalogue.wsdl&pull=GetItemCatalogue&pull.region_code=320500

The URL's host, port and path are where calls go; the WSDL says everything else
(operations, their elements, SOAP 1.1 or 1.2, SOAPAction). Calls go to the configured
address, not to the WSDL's ``soap:address``: published WSDLs often name an internal host.

Options
    ``wsdl``            where the WSDL is: an absolute URL or a path on the same host
                        (default: the URL's path + ``?wsdl``)
    ``timeout``         seconds for loading the WSDL and for each call (default 30)
    ``username``        WS-Security UsernameToken user; its password from ``password_env``
                        (an environment variable) or ``password``; ``digest=1`` sends a
                        PasswordDigest (nonce + created) instead of PasswordText
    ``service``/``port`` which WSDL service and port (default: the first of each)
    ``operation``       the operation ``write`` calls when the envelope does not name one
    ``pull``            the operation ``read`` calls; ``pull.<name>=<value>`` its arguments
    ``ref_field``       the answer's field that is the peer's receipt id (default: the first
                        of ``ack_id``, ``receipt_id``, ``message_id`` present)
    ``ca_file``         CA bundle for ``soaps://`` peers with a private CA
    ``max_answer_bytes`` the largest answer (WSDL, XSD, SOAP reply) read, default 20 MiB;
                        redirects are never followed (``adapters.http_policy``)

``write(envelope)``: the envelope body is one XML document (a canonical batch); its root
element goes into the SOAP Body as it is, byte for byte, with a WS-Addressing MessageID
header carrying ``envelope.message_id``. The operation is ``envelope.headers["operation"]``
if the WSDL has it, else the ``operation`` option, else the one operation whose input
element is the document's root element (``<cases>`` → ``PushCases`` / ``ReportCases``).
Returns ``Receipt("acknowledged", peer_ref)``.

``read()``: one call of ``pull``; yields one envelope whose body is the answer's Body
element as an XML document (``kind`` from its ``urn:govhub:<kind>:1`` namespace, message
id from its ``message_id`` attribute or the digest of its content).

``ping()``: fetches the WSDL.

No retries inside: a ``TransientError`` goes back to the caller (``hub.outbound.delivery`` backs
off and tries again; the receiving side deduplicates by message id).

Errors: connection failures, timeouts, HTTP 5xx and Server/Receiver faults →
``TransientError``; authentication faults (``Client.Authentication``, WS-Security
``FailedAuthentication``...) and HTTP 401/403 → ``AuthError``; other Client/Sender faults,
HTTP 4xx, a 3xx redirect and an answer over the cap → ``RejectedError``; a WSDL that
cannot be read as one → ``ConfigError``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urljoin, urlunsplit

from adapters.base import Adapter, Capabilities, Envelope, Receipt
from adapters.errors import AuthError, ConfigError, RejectedError, TransientError

# Drivers load lazily (the registry's promise, kept by a test): zeep, requests and lxml, and
# the hub's XML and masking helpers that pull in lxml, are imported inside the methods that
# talk SOAP, so a hub that never uses a SOAP peer never loads them.

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
REF_FIELDS = ("ack_id", "receipt_id", "message_id")
AUTH_FAULT_WORDS = ("Authentication", "InvalidSecurity", "SecurityToken", "FailedCheck")
_KIND_NS = re.compile(r"^urn:govhub:([a-z_]+):\d+$")
OPTIONS = frozenset(
    {
        "wsdl",
        "timeout",
        "username",
        "password",
        "password_env",
        "digest",
        "service",
        "port",
        "operation",
        "pull",
        "ref_field",
        "ca_file",
        "kind",
        "max_answer_bytes",
    }
)  # and pull.<argument>


class SoapAdapter(Adapter):
    scheme = "soap"
    capabilities = Capabilities(read=True, write=True, ack=False, ordered=True, formats=("xml",))

    def __init__(self, url: str, **options):
        super().__init__(url, **options)
        unknown = sorted(k for k in self.options if k not in OPTIONS and not k.startswith("pull."))
        if unknown:
            raise ConfigError(
                f"unknown soap:// option(s) {', '.join(unknown)}; known: {', '.join(sorted(OPTIONS))}, pull.<argument>",
                peer=self.peer,
            )
        p = self.parts
        if not p.hostname:
            raise ConfigError(f"a soap:// URL needs a host: {url.split('@')[-1]!r}")
        host = f"[{p.hostname}]" if ":" in p.hostname else p.hostname
        netloc = f"{host}:{p.port}" if p.port else host
        self.address = urlunsplit(("https" if p.scheme == "soaps" else "http", netloc, p.path or "/", "", ""))
        wsdl = self.option("wsdl")
        self.wsdl_url = urljoin(self.address, wsdl) if wsdl else self.address + "?wsdl"
        try:
            self.timeout = float(self.option("timeout", 30))
        except ValueError:
            raise ConfigError(f"timeout must be seconds, not {self.option('timeout')!r}", peer=self.peer) from None
        if str(self.option("digest", "0")) not in ("0", "1"):
            raise ConfigError("digest is 1 (PasswordDigest) or 0 (PasswordText)", peer=self.peer)
        self._session = None
        self._client = None
        self._binding = None

    # -------------------------------------------------------------- zeep

    def _wsse(self):
        username = self.option("username")
        if not username:
            return None
        from zeep.wsse.username import UsernameToken

        env = self.option("password_env")
        password = os.environ.get(env) if env else self.option("password")
        if password is None:
            raise ConfigError(
                f"no password for the SOAP user {username!r} of {self.peer}: "
                + (f"the environment variable {env} is not set" if env else "set password_env"),
                peer=self.peer,
            )
        return UsernameToken(username, password, use_digest=str(self.option("digest", "0")) == "1")

    def _http(self):
        if self._session is None:
            from adapters.http_policy import policy_session

            self._session = policy_session(self.peer, self.option("max_answer_bytes"))
            self._session.verify = self.option("ca_file", True)
        return self._session

    def _zeep(self):
        """The zeep client and the binding calls use, built on first use."""
        if self._client is None:
            import zeep
            from zeep.transports import Transport

            transport = Transport(session=self._http(), timeout=self.timeout, operation_timeout=self.timeout)
            settings = zeep.Settings(forbid_dtd=True, forbid_entities=True, xml_huge_tree=False)
            wsse = self._wsse()
            with self._errors("load the WSDL", loading=True):
                client = zeep.Client(self.wsdl_url, transport=transport, settings=settings, wsse=wsse)
            self._binding = self._pick_binding(client)
            self._client = client
        return self._client, self._binding

    def _pick_binding(self, client):
        services = client.wsdl.services
        name, port_name = self.option("service"), self.option("port")
        try:
            service = services[name] if name else next(iter(services.values()))
            port = service.ports[port_name] if port_name else next(iter(service.ports.values()))
        except (KeyError, StopIteration):
            known = {s: list(s_.ports) for s, s_ in services.items()}
            raise ConfigError(
                f"the WSDL {self.wsdl_url} has no service/port {name or '(first)'}/{port_name or '(first)'}; "
                f"it has {known}",
                peer=self.peer,
            ) from None
        return port.binding

    # -------------------------------------------------------------- errors

    @contextmanager
    def _errors(self, what: str, loading: bool = False):
        """Translate driver errors into the adapter error tree."""
        import requests
        from zeep.exceptions import Error as ZeepError
        from zeep.exceptions import Fault, TransportError

        try:
            yield
        except Fault as exc:
            raise self._fault_error(exc, what) from None
        except requests.Timeout:
            raise TransientError(f"{what}: no answer within {self.timeout:g}s", peer=self.peer) from None
        except requests.ConnectionError as exc:
            raise TransientError(f"{what}: cannot connect ({type(exc).__name__})", peer=self.peer) from None
        except requests.HTTPError as exc:  # loading the WSDL or an XSD
            raise self._status_error(exc.response.status_code if exc.response is not None else None, what) from None
        except TransportError as exc:  # an HTTP error without a SOAP fault, or an answer that is not XML
            raise self._status_error(exc.status_code, what) from None
        except (ZeepError, ValueError) as exc:
            if loading:
                raise ConfigError(
                    f"{what}: {self.wsdl_url} is not a usable WSDL ({type(exc).__name__}: {_masked(exc)})",
                    peer=self.peer,
                ) from None
            raise RejectedError(
                f"{what}: the answer does not match the WSDL ({type(exc).__name__}: {_masked(exc)})", peer=self.peer
            ) from None

    def _status_error(self, status: int | None, what: str):
        if status in (401, 403):
            return AuthError(f"{what}: HTTP {status}", peer=self.peer, status=status)
        if status is not None and 400 <= status < 500 and status not in (408, 429):
            return RejectedError(f"{what}: HTTP {status}", peer=self.peer, status=status)
        return TransientError(f"{what}: HTTP {status or 'error'}", peer=self.peer, status=status)

    def _fault_error(self, exc, what: str):
        code = exc.code or ""
        subcodes = [getattr(q, "localname", str(q)) for q in (exc.subcodes or [])]
        names = " ".join([code, *subcodes])
        text = f"{what}: SOAP fault {code}{'/' + '/'.join(subcodes) if subcodes else ''}: {_masked(exc.message or '')}"
        local = code.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
        if any(word in names for word in AUTH_FAULT_WORDS):
            return AuthError(text, peer=self.peer)
        if local.startswith(("Client", "Sender", "VersionMismatch", "MustUnderstand", "DataEncodingUnknown")):
            return RejectedError(text, peer=self.peer)
        return TransientError(text, peer=self.peer)  # Server / Receiver, or a code we do not know

    # -------------------------------------------------------------- calls

    def _operation(self, name: str | None, element_tag: str | None = None):
        """The named operation if the WSDL has it, else the one whose input is ``element_tag``."""
        ops = self._zeep()[1].all()
        if name in ops:
            return ops[name]
        matching = [op for op in ops.values() if element_tag and _input_tag(op) == element_tag]
        if len(matching) == 1:
            return matching[0]
        raise ConfigError(
            f"the WSDL {self.wsdl_url} has no operation {name or ''} for <{element_tag}>; "
            f"it has {', '.join(sorted(ops))}",
            peer=self.peer,
        )

    def _call(self, op, envelope):
        """Post a SOAP envelope for ``op``; returns (zeep's reading of the answer, the HTTP response)."""
        client, binding = self._zeep()
        soap12 = _namespace(envelope) == SOAP12_ENV
        if soap12:
            headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{op.soapaction or ""}"'}
        else:
            headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{op.soapaction or ""}"'}
        if client.wsse:
            envelope, headers = client.wsse.apply(envelope, headers)
        response = client.transport.post_xml(self.address, envelope, headers)
        return binding.process_reply(client, op, response), response

    def _new_envelope(self, payload, message_id: str):
        from lxml import etree
        from zeep.wsdl.bindings.soap import Soap12Binding

        env_ns = SOAP12_ENV if isinstance(self._zeep()[1], Soap12Binding) else SOAP11_ENV
        env = etree.Element(f"{{{env_ns}}}Envelope", nsmap={"soap-env": env_ns})
        header = etree.SubElement(env, f"{{{env_ns}}}Header")
        etree.SubElement(header, f"{{{WSA}}}MessageID", nsmap={"wsa": WSA}).text = message_id
        etree.SubElement(env, f"{{{env_ns}}}Body").append(payload)
        return env

    def write(self, envelope: Envelope) -> Receipt:
        from hub.model.xmlsafe import XmlRefused, parse_document

        try:
            payload = parse_document(envelope.body)
        except XmlRefused as exc:
            raise RejectedError(
                f"the envelope body is not a sendable XML document: {exc.message}", peer=self.peer
            ) from None
        op = self._operation(envelope.headers.get("operation") or self.option("operation"), payload.tag)
        expected = _input_tag(op)
        if expected and expected != payload.tag:
            raise ConfigError(f"operation {op.name} takes <{expected}>, not <{payload.tag}>", peer=self.peer)
        with self._errors(f"SOAP {op.name}"):
            result, response = self._call(op, self._new_envelope(payload, envelope.message_id))
        return Receipt(
            "acknowledged", self._peer_ref(result), f"{op.name}: HTTP {response.status_code}", response.content
        )

    def read(self, limit: int | None = None) -> Iterator[Envelope]:
        if limit is not None and limit < 1:
            return
        from lxml import etree
        from zeep.exceptions import ValidationError as ZeepValidationError

        from hub.model.xmlsafe import XmlRefused, parse_document

        name = self.option("pull", required=True)
        args = {k.split(".", 1)[1]: v for k, v in self.options.items() if k.startswith("pull.")}
        op = self._operation(name)
        with self._errors(f"SOAP {name}"):
            try:  # zeep builds the request element from the WSDL
                request = op.input.serialize(**args).content
            except (TypeError, ZeepValidationError) as exc:
                raise ConfigError(
                    f"the pull arguments {sorted(args)} do not fit {name}: {exc}", peer=self.peer
                ) from None
            _result, response = self._call(op, request)
        try:
            answer = parse_document(response.content)
        except XmlRefused as exc:
            raise RejectedError(f"SOAP {name}: the answer is refused: {exc.message}", peer=self.peer) from None
        body = answer.find(f"{{{_namespace(answer)}}}Body")
        payload = next((c for c in (body if body is not None else ()) if isinstance(c.tag, str)), None)
        if payload is None:
            return
        doc = etree.tostring(payload, xml_declaration=True, encoding="UTF-8")  # in-scope namespaces kept
        m = _KIND_NS.match(etree.QName(payload).namespace or "")
        message_id = payload.get("message_id") or f"sha256:{hashlib.sha256(doc).hexdigest()[:40]}"
        yield Envelope(
            doc,
            message_id,
            kind=self.option("kind") or (m.group(1) if m else None),
            format="xml",
            headers={"operation": name},
        )

    def _peer_ref(self, result) -> str | None:
        if result is None or isinstance(result, (str, int)):  # no answer, or a bare receipt value
            return None if result is None else str(result)
        fields = (self.option("ref_field"),) if self.option("ref_field") else REF_FIELDS
        for name in fields:
            try:
                value = result[name]
            except (KeyError, TypeError, AttributeError):
                continue
            if value is not None:
                return str(value)
        return None

    def ping(self) -> None:
        with self._errors("fetch the WSDL"):
            self._http().get(self.wsdl_url, timeout=self.timeout).raise_for_status()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        self._session = self._client = self._binding = None


def _namespace(element) -> str:
    from lxml import etree

    return etree.QName(element).namespace or ""


def _input_tag(op) -> str | None:
    """Clark name of a document/literal operation's input element."""
    body = getattr(op.input, "body", None)
    qname = getattr(body, "qname", None)
    return str(qname) if qname is not None else None


def _masked(exc) -> str:
    from hub.model.masking import mask_text

    return mask_text(str(exc))[:300]
