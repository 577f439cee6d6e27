"""The hub's signing identity and its signed checkpoints (issue #21, AUDIT-SPEC.md).

A checkpoint ``{"seq", "head", "at", "hub"}`` names the chain's head; the hub signs its
canonical JSON with its own ECDSA P-256 key (``"algorithm": "ecdsa-p256-sha256"``,
``"signature"``: DER, base64). Whoever has the hub's certificate can check it, offline,
with :mod:`govhub_verify` (the same code checks here).

The key and certificate are PEM, from the environment or from files, never from the
catalogue (which administrators edit and the repository holds):

| variable | meaning |
|---|---|
| ``GOVHUB_AUDIT_KEY_FILE`` (or ``GOVHUB_AUDIT_KEY``) | the hub's private key, PEM (PKCS#8 or SEC1), ECDSA P-256, unencrypted: keep the file 0600 |
| ``GOVHUB_AUDIT_CERT_FILE`` (or ``GOVHUB_AUDIT_CERT``) | its X.509 certificate, PEM: what third parties check packages with |

:func:`generate_identity` writes a key and a self-signed certificate for development and
the demo; in production the certificate comes from the department's CA.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from govhub_verify.formats import ECDSA_P256_SHA256, signed_bytes
from govhub_verify.signature import SignatureError, load_certificate, verify_signature
from hub.core.clock import CST
from hub.core.config import secret

KEY_ENV, CERT_ENV = "GOVHUB_AUDIT_KEY", "GOVHUB_AUDIT_CERT"


class IdentityError(RuntimeError):
    """The signing key or certificate is missing, unreadable or do not belong together."""


@dataclass(frozen=True)
class Identity:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def load_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise IdentityError(f"the audit key is not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise IdentityError("the audit key must be an ECDSA P-256 key (ecdsa-p256-sha256)")
    return key


def identity_from_pem(key_pem: bytes, cert_pem: bytes) -> Identity:
    key = load_key(key_pem)
    try:
        cert = load_certificate(cert_pem)
    except SignatureError as exc:
        raise IdentityError(f"the audit certificate: {exc}") from None
    if cert.public_key() != key.public_key():
        raise IdentityError("the audit certificate does not hold the audit key's public key")
    return Identity(key, cert)


def load_identity(env: Mapping[str, str] | None = None) -> Identity | None:
    """The identity the environment names; None when neither key nor certificate is set
    (the hub then keeps its chain unsigned and says so); IdentityError when one is missing."""
    env = os.environ if env is None else env
    try:
        key, cert = secret(env, KEY_ENV), secret(env, CERT_ENV)
    except RuntimeError as exc:
        raise IdentityError(str(exc)) from None
    if key is None and cert is None:
        return None
    if key is None or cert is None:
        missing = KEY_ENV if key is None else CERT_ENV
        raise IdentityError(f"{missing}_FILE (or {missing}) is not set: the audit key and certificate go together")
    return identity_from_pem(key.encode("utf-8"), cert.encode("utf-8"))


def generate_identity(hub_id: str, directory: Path | None = None, *, days: int = 3650) -> Identity:
    """A fresh key and a self-signed certificate naming ``hub_id`` (development, demo, tests).
    With ``directory``, also written there as ``audit-key.pem`` (0600) and ``audit-cert.pem``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, hub_id),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "govhub audit"),
        ]
    )
    now = datetime.now(UTC)  # X.509 validity is checked against real time, not the hub's clock
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    identity = Identity(key, cert)
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        key_path = directory / "audit-key.pem"
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key_pem)
        (directory / "audit-cert.pem").write_bytes(identity.certificate_pem)
    return identity


def utc_text(at: datetime) -> str:
    """ISO 8601 UTC with ``Z``, to the second (the log's time format, as its entries'); a
    naive time is the hub's (CST)."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=CST)
    return aware.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def make_checkpoint(seq: int, head: str, hub: str, at: datetime) -> dict[str, Any]:
    return {"seq": seq, "head": head, "at": utc_text(at), "hub": hub}


def sign_checkpoint(checkpoint: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """The checkpoint with ``algorithm`` and ``signature`` (a new dict; any earlier
    signature or time-stamp is dropped: it was over other bytes)."""
    body = {k: v for k, v in checkpoint.items() if k not in ("algorithm", "signature", "timestamp")}
    signature = key.sign(signed_bytes(body), ec.ECDSA(hashes.SHA256()))
    return {**body, "algorithm": ECDSA_P256_SHA256, "signature": base64.b64encode(signature).decode("ascii")}


def verify_checkpoint(signed: dict[str, Any], cert_pem: bytes) -> bool:
    """True when ``signed`` is well formed and its signature verifies with the certificate."""
    try:
        verify_signature(signed, load_certificate(cert_pem))
    except SignatureError:
        return False
    return True
