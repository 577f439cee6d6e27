"""A checkpoint's signature: ECDSA P-256 over SHA-256 of the checkpoint's canonical JSON,
DER, base64 in ``signature``, by the key of the hub's X.509 certificate."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from govhub_verify.formats import CHECKPOINT_FIELDS, ECDSA_P256_SHA256, signed_bytes

_HEX64 = re.compile(r"[0-9a-f]{64}")


class SignatureError(ValueError):
    """The checkpoint is malformed or its signature does not verify."""


def load_certificate(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise SignatureError(f"not a PEM X.509 certificate ({exc})") from None


def describe(cert: x509.Certificate) -> str:
    """Who the certificate names and its SHA-256 fingerprint: what a reader compares with
    the certificate the hub's operator published."""
    return f"{cert.subject.rfc4514_string()} (sha256 fingerprint {cert.fingerprint(hashes.SHA256()).hex()})"


def check_shape(checkpoint: Any) -> None:
    """The four signed fields, with their types: a checkpoint is refused before its signature is."""
    if not isinstance(checkpoint, dict):
        raise SignatureError("the checkpoint is not a JSON object")
    missing = [k for k in (*CHECKPOINT_FIELDS, "algorithm", "signature") if k not in checkpoint]
    if missing:
        raise SignatureError(f"the checkpoint lacks {', '.join(missing)}")
    seq, head = checkpoint["seq"], checkpoint["head"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise SignatureError(f"the checkpoint's seq is not a positive whole number: {seq!r}")
    if not isinstance(head, str) or not _HEX64.fullmatch(head):
        raise SignatureError("the checkpoint's head is not 64 lower-case hex digits")
    if not isinstance(checkpoint["at"], str) or not isinstance(checkpoint["hub"], str):
        raise SignatureError("the checkpoint's at and hub must be strings")


def signature_bytes(checkpoint: dict[str, Any]) -> bytes:
    """The raw DER signature (what an RFC 3161 time-stamp's imprint is taken over)."""
    value = checkpoint.get("signature")
    if not isinstance(value, str):
        raise SignatureError("the checkpoint's signature is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the checkpoint's signature is not valid base64") from None


def verify_signature(checkpoint: Any, cert: x509.Certificate) -> None:
    """Raise :class:`SignatureError` unless ``checkpoint`` is well formed and signed by ``cert``'s key."""
    check_shape(checkpoint)
    if checkpoint["algorithm"] != ECDSA_P256_SHA256:
        raise SignatureError(f"unknown signature algorithm {checkpoint['algorithm']!r} (expected {ECDSA_P256_SHA256})")
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SignatureError("the certificate's key is not an ECDSA P-256 key")
    try:
        key.verify(signature_bytes(checkpoint), signed_bytes(checkpoint), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureError("the signature does not verify with the certificate's key") from None
