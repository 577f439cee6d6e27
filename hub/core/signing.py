"""The request signature both sides of a REST exchange compute (HMAC-SHA256 over the method,
path, timestamp and the body's digest): ``hub.catalog.access`` checks it on the hub's
ingress, ``adapters.rest`` signs with it when the hub calls a peer. One home, so the two can
never drift apart."""

from __future__ import annotations

import hashlib
import hmac


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def hmac_signature(secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    msg = f"{method.upper()}\n{path}\n{timestamp}\n{sha256_hex(body)}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()
