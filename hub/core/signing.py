"""The request signature both sides of a REST exchange compute: ``hub.catalog.authn``
checks it on the hub's ingress, ``adapters.rest`` signs with it when the hub calls a peer.
One home, so the two can never drift apart.

Version 2 (the only one accepted since issue #12): hex HMAC-SHA256, keyed with the
system's secret (UTF-8), over the UTF-8 string

    govhub-hmac-v2\\nMETHOD\\nPATH[?QUERY]\\nTIMESTAMP\\nMESSAGE_ID\\nSHA256HEX(BODY)

METHOD upper case; PATH and QUERY exactly as on the request line (percent-encoded, the
query without its ``?`` and the ``?`` left out when there is none); TIMESTAMP the
``X-Govhub-Timestamp`` (unix seconds); MESSAGE_ID the ``X-Message-Id`` header ("" when
there is none); the body's SHA-256 in lower-case hex (of nothing for an empty body).
Version 1 (``METHOD\\nPATH\\nTIMESTAMP\\nSHA256HEX(BODY)``) covered neither the query nor
the message id; it is only computed to tell a sender still using it what to change.
"""

from __future__ import annotations

import hashlib
import hmac

V2 = "govhub-hmac-v2"


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def same(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time equality of two secrets or digests, on their UTF-8 bytes: a value
    the sender made up (non-ASCII included) compares unequal, it never raises."""
    return hmac.compare_digest(_utf8(a), _utf8(b))


def _utf8(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def string_to_sign(method: str, target: str, timestamp: str, message_id: str, body_sha256: str) -> str:
    """``target`` is the path with its query (``/api/v1/case/changes?limit=10``)."""
    return f"{V2}\n{method.upper()}\n{target}\n{timestamp}\n{message_id}\n{body_sha256}"


def hmac_signature(secret: str, method: str, target: str, timestamp: str, message_id: str, body: bytes) -> str:
    """The v2 signature of a request (``target``: path and query, as sent)."""
    return sign(secret, string_to_sign(method, target, timestamp, message_id, sha256_hex(body)))


def sign(secret: str, text: str) -> str:
    return hmac.new(_utf8(secret), _utf8(text), hashlib.sha256).hexdigest()


def v1_string_to_sign(method: str, path: str, timestamp: str, body_sha256: str) -> str:
    return f"{method.upper()}\n{path}\n{timestamp}\n{body_sha256}"
