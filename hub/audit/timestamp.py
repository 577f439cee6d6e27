"""RFC 3161 time-stamps on checkpoint signatures (issue #21).

A checkpoint's own ``at`` is the hub's word; a time-stamp from an independent authority
(TSA) proves the signature existed at the TSA's time. The client asks over HTTP (RFC 3161
§3.4: POST ``application/timestamp-query``, answer ``application/timestamp-reply``) for a
token over the raw DER signature, with a fresh nonce, and keeps it only when it checks:
status granted, the imprint is SHA-256 of the signature, the nonce is ours, and the
signature is the TSA's (:mod:`govhub_verify.tsp`, the code the offline verifier runs).

| variable | meaning |
|---|---|
| ``GOVHUB_AUDIT_TSA_URL`` | the TSA's URL; unset: checkpoints are signed without a time-stamp |
| ``GOVHUB_AUDIT_TSA_CERT_FILE`` | the TSA's certificate (PEM) the tokens must be signed by; unset: the certificate the token carries (then nothing pins the TSA: set it in production) |
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from govhub_verify.signature import load_certificate, signature_bytes
from govhub_verify.tsp import Stamp, TimestampError, token_from_response, verify_token
from hub.audit.signing import Identity, sign_checkpoint

URL_ENV, CERT_ENV = "GOVHUB_AUDIT_TSA_URL", "GOVHUB_AUDIT_TSA_CERT_FILE"
QUERY, REPLY = "application/timestamp-query", "application/timestamp-reply"

__all__ = ["Stamp", "TimestampError", "Tsa", "load_tsa", "request_timestamp", "seal", "timestamp_checkpoint"]


@dataclass(frozen=True)
class Tsa:
    url: str
    certificate: x509.Certificate | None = None
    timeout: float = 10.0

    @property
    def certificate_pem(self) -> bytes | None:
        return None if self.certificate is None else self.certificate.public_bytes(Encoding.PEM)


def load_tsa(env: Mapping[str, str] | None = None) -> Tsa | None:
    """The TSA the environment names, or None when ``GOVHUB_AUDIT_TSA_URL`` is unset."""
    env = os.environ if env is None else env
    url = env.get(URL_ENV)
    if not url:
        return None
    path = env.get(CERT_ENV)
    cert = load_certificate(Path(path).read_bytes()) if path else None
    return Tsa(url, cert)


def _query(data: bytes, nonce: int) -> bytes:
    imprint = {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": hashlib.sha256(data).digest()}
    return bytes(
        tsp.TimeStampReq({"version": "v1", "message_imprint": imprint, "nonce": nonce, "cert_req": True}).dump()
    )


def request_timestamp(data: bytes, tsa: Tsa, session: requests.Session | None = None) -> Stamp:
    """A checked time-stamp token over ``data``; :class:`TimestampError` when the TSA cannot
    be reached, refuses, or answers with a token that does not check."""
    nonce = secrets.randbits(63)
    post = (session or requests).post
    try:
        answer = post(tsa.url, data=_query(data, nonce), headers={"Content-Type": QUERY}, timeout=tsa.timeout)
    except requests.RequestException as exc:
        raise TimestampError(f"the TSA at {tsa.url} cannot be reached ({type(exc).__name__})") from None
    if answer.status_code != 200:
        raise TimestampError(f"the TSA answered HTTP {answer.status_code}")
    content_type = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type != REPLY:
        raise TimestampError(f"the TSA answered {content_type or 'no content type'}, not {REPLY}")
    stamp = verify_token(token_from_response(answer.content), data, tsa.certificate)
    if stamp.nonce != nonce:
        raise TimestampError("the TSA's token carries another nonce: not the answer to this request")
    return stamp


def timestamp_checkpoint(signed: dict[str, Any], tsa: Tsa, session: requests.Session | None = None) -> dict[str, Any]:
    """The signed checkpoint with ``timestamp``: the token (DER, base64) over its signature."""
    stamp = request_timestamp(signature_bytes(signed), tsa, session)
    return {**signed, "timestamp": base64.b64encode(stamp.token).decode("ascii")}


def seal(checkpoint: dict[str, Any], identity: Identity, tsa: Tsa | None) -> tuple[dict[str, Any], str | None]:
    """Sign the checkpoint and, with a TSA, stamp the signature. A TSA that fails does not
    lose the checkpoint: it is kept signed but unstamped, and the reason comes back (for
    the log and a metric: a checkpoint without a stamp is the hub's own word on the time)."""
    signed = sign_checkpoint(checkpoint, identity.key)
    if tsa is None:
        return signed, None
    try:
        return timestamp_checkpoint(signed, tsa), None
    except TimestampError as exc:
        return signed, str(exc)
