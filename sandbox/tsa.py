"""A sandbox time-stamping authority (RFC 3161 over HTTP, RFC 3161 §3.4) for the exchange
log's tests and the demo: it stands in for a real TSA and speaks the real protocol.

``POST /tsa`` with ``Content-Type: application/timestamp-query`` and a DER TimeStampReq
answers ``application/timestamp-reply``, a DER TimeStampResp: status granted and a token (a
CMS SignedData over a TSTInfo with the request's imprint and nonce, genTime from
``state.now``, signed with the TSA's own ECDSA P-256 key, whose certificate is critical
``timeStamping`` only and is carried in the token when the request asks). A request that
does not parse, or hashes with something else than SHA-2, is answered ``rejection``.

``state.mode``: ``up``; ``refuse`` (a well-formed ``rejection``: the TSA will not stamp);
``down`` (HTTP 503); ``replay`` (answers with the last token it issued, as a replaying
man in the middle would: a client that checks its nonce refuses it). ``state.issued`` counts the tokens; ``state.certificate_pem`` is the
TSA's certificate (what the hub pins, and an evidence package carries as tsa.pem).

    state = TsaState(); base_url, stop = run_in_thread(make_app(state))   # url: base_url + "/tsa"
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

QUERY, REPLY = "application/timestamp-query", "application/timestamp-reply"
POLICY = "1.3.6.1.4.1.55555.1.1"  # the sandbox's own policy id: a real TSA names its published policy
_ACCEPTED = ("sha256", "sha384", "sha512")


class TsaState:
    def __init__(self, now: Callable[[], datetime] | None = None):
        self.lock = threading.Lock()
        self.mode = "up"  # up | refuse | down | replay
        self.last: bytes | None = None
        self.now = now or (lambda: datetime.now(UTC))
        self.issued = 0
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.certificate = _certificate(self.key)
        self.certificate_pem = self.certificate.public_bytes(serialization.Encoding.PEM)


def _certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "govhub sandbox TSA")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # wide on purpose: tests stamp at whatever time their clock says
        .not_valid_before(datetime(2000, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2100, 1, 1, tzinfo=UTC))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


class _Resp(core.Sequence):
    """RFC 3161 §2.4.2 (asn1crypto's TimeStampResp makes the token mandatory; a refusal has none)."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


def _refusal(failure: str, text: str) -> bytes:
    return _Resp({"status": {"status": "rejection", "status_string": [text], "fail_info": {failure}}}).dump()


def _token(state: TsaState, request: tsp.TimeStampReq, serial: int) -> cms.ContentInfo:
    tst_info = {
        "version": "v1",
        "policy": POLICY,
        "message_imprint": request["message_imprint"],
        "serial_number": serial,
        "gen_time": state.now().astimezone(UTC),
        "accuracy": {"seconds": 1},
    }
    if request["nonce"].native is not None:
        tst_info["nonce"] = request["nonce"].native
    tst_der = tsp.TSTInfo(tst_info).dump()
    cert_der = state.certificate.public_bytes(serialization.Encoding.DER)
    cert = asn1_x509.Certificate.load(cert_der)
    attrs = cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]},
            {
                "type": "signing_certificate_v2",
                "values": [{"certs": [{"cert_hash": hashlib.sha256(cert_der).digest()}]}],
            },
        ]
    )
    signature = state.key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                "issuer_and_serial_number",
                cms.IssuerAndSerialNumber({"issuer": cert.issuer, "serial_number": cert.serial_number}),
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            "signature": signature,
        }
    )
    signed_data = {
        "version": "v3",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(tst_der)},
        "signer_infos": [signer],
    }
    if request["cert_req"].native:
        signed_data["certificates"] = [cert]
    return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})


def reply(state: TsaState, body: bytes) -> bytes:
    """The TimeStampResp (DER) for a TimeStampReq (DER)."""
    try:
        request = tsp.TimeStampReq.load(body, strict=True)
        algorithm = request["message_imprint"]["hash_algorithm"]["algorithm"].native
        imprint = request["message_imprint"]["hashed_message"].native
    except (ValueError, TypeError):
        return _refusal("bad_data_format", "the request is not a DER TimeStampReq")
    if algorithm not in _ACCEPTED or len(imprint) != hashlib.new(algorithm).digest_size:
        return _refusal("bad_alg", f"the imprint must be SHA-256/384/512, not {algorithm}")
    if state.mode == "refuse":
        return _refusal("system_failure", "the sandbox TSA is set to refuse")
    if state.mode == "replay" and state.last is not None:
        return state.last
    with state.lock:
        state.issued += 1
        serial = state.issued
    token = _token(state, request, serial)
    state.last = _Resp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()
    return state.last


def make_app(state: TsaState) -> Starlette:
    async def stamp(request: Request) -> Response:
        if state.mode == "down":
            return Response(b"TSA unavailable", status_code=503, media_type="text/plain")
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != QUERY:
            return Response(b"expected application/timestamp-query", status_code=415, media_type="text/plain")
        return Response(reply(state, await request.body()), media_type=REPLY)

    return Starlette(routes=[Route("/tsa", stamp, methods=["POST"])])
