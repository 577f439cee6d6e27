"""Checking a stored checkpoint at its seq (``govhub audit verify``): its head is the hash of
the entry at its seq, its signature verifies with the hub's certificate, and its
time-stamp (if any) is over that signature and signed by the TSA. The same code as the
offline verifier (:mod:`govhub_verify`) does the cryptography.

The certificates are the configured ones (``GOVHUB_AUDIT_CERT_FILE``,
``GOVHUB_AUDIT_TSA_CERT_FILE``) when set: what is stored beside a checkpoint is only used
when nothing is configured, since whoever can rewrite the table can rewrite that too.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from govhub_verify.signature import SignatureError, load_certificate, signature_bytes, verify_signature
from govhub_verify.tsp import TimestampError, verify_token
from hub.audit.signing import CERT_ENV
from hub.audit.timestamp import CERT_ENV as TSA_CERT_ENV
from hub.core.config import secret


@dataclass(frozen=True)
class Pins:
    """The certificates checkpoints must verify with (None: the one stored with each)."""

    hub: x509.Certificate | None = None
    tsa: x509.Certificate | None = None


def pins_from_env(env: Mapping[str, str] | None = None) -> Pins:
    env = os.environ if env is None else env
    hub = secret(env, CERT_ENV)
    tsa = env.get(TSA_CERT_ENV)
    return Pins(
        load_certificate(hub.encode("utf-8")) if hub else None,
        load_certificate(Path(tsa).read_bytes()) if tsa else None,
    )


def check(cp: dict[str, Any], head_hash: str, pins: Pins) -> str | None:
    """The problem with checkpoint row ``cp`` given the stored hash of the entry at its
    seq, or None when it holds."""
    signed = cp["signed"] or {}
    where = f"checkpoint #{cp['id']} at seq {cp['seq']}"
    if signed.get("seq") != cp["seq"] or signed.get("head") != cp["head"]:
        return f"{where}: its row does not match what it signed (the checkpoint was altered)"
    if cp["head"] != head_hash:
        return f"{where}: its head is not the hash of entry {cp['seq']} (the entry or the checkpoint was altered)"
    try:
        cert = pins.hub or load_certificate(str(cp["certificate"]).encode("ascii"))
        verify_signature(signed, cert)
    except SignatureError as exc:
        return f"{where}: {exc} (a forged or altered checkpoint)"
    token = signed.get("timestamp")
    if token is None:
        return None
    try:
        tsa = pins.tsa
        if tsa is None and cp.get("tsa_certificate"):
            tsa = load_certificate(str(cp["tsa_certificate"]).encode("ascii"))
        verify_token(base64.b64decode(token, validate=True), signature_bytes(signed), tsa)
    except (TimestampError, SignatureError, binascii.Error) as exc:
        return f"{where}: its time-stamp does not check ({exc})"
    return None
