"""``rest://`` (``rests://`` for HTTPS) — JSON over HTTP with requests.

    rest://127.0.0.1:8081/api?push_path=/cases&pull_path=/results&api_key_env=DEPT_KEY

Options: ``timeout`` (seconds, default 30), ``retries`` (default 3; only transient
failures are retried, with exponential back-off from ``backoff`` seconds, default 0.5),
``push_path`` (default ``/{kind}``), ``pull_path`` (cursor-paginated GET returning
``{"records": [...], "next_cursor": ..., "has_more": ...}``), ``ping_path`` (default
``/health``), ``api_key_env`` (sends ``X-Api-Key``), ``hmac_secret_env`` + ``system``
(signs every attempt like the hub expects: ``hub.core.signing.hmac_signature``, v2),
``max_answer_bytes`` (default 20 MiB). Redirects are not followed and answers are read
under the cap (``adapters.http_policy``).

Errors: connection failures, timeouts, 429 and 5xx → ``TransientError``; 401/403 →
``AuthError``; other 4xx, a 3xx redirect and an answer over the cap → ``RejectedError``
(the peer will not accept it as it is).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from urllib.parse import urlunsplit

import requests

from adapters.base import Adapter, Capabilities, Envelope, Receipt
from adapters.errors import AuthError, ConfigError, RejectedError, TransientError
from adapters.http_policy import policy_session
from hub.core.signing import hmac_signature

TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


class RestAdapter(Adapter):
    scheme = "rest"
    capabilities = Capabilities(read=True, write=True, ack=False, ordered=True, formats=("json", "xml"))

    def __init__(self, url: str, **options):
        super().__init__(url, **options)

        p = self.parts
        if not p.hostname:
            raise ConfigError(f"a rest:// URL needs a host: {url!r}")
        scheme = "https" if p.scheme == "rests" else "http"
        self.base = urlunsplit((scheme, p.netloc, p.path.rstrip("/"), "", ""))
        self.timeout = float(self.option("timeout", 30))
        self.retries = int(self.option("retries", 3))
        self.backoff = float(self.option("backoff", 0.5))
        self.session = policy_session(self.peer, self.option("max_answer_bytes"))  # no redirects, capped answers
        key_env = self.option("api_key_env")
        if key_env:
            key = os.environ.get(key_env)
            if not key:
                raise ConfigError(f"the environment variable {key_env} (API key for {self.peer}) is not set")
            self.session.headers["X-Api-Key"] = key
        self._hmac = None
        if self.option("hmac_secret_env"):
            secret = os.environ.get(self.option("hmac_secret_env"))
            if not secret:
                raise ConfigError(f"the environment variable {self.option('hmac_secret_env')} is not set")
            self._hmac = (self.option("system", required=True), secret)
        self._last_ts = 0  # the last signed timestamp (see _signed)

    def _request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None, params: dict | None = None
    ):
        url = self.base + path
        headers = dict(headers or {})
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                resp = self.session.request(
                    method,
                    url,
                    data=body,
                    headers=self._signed(method, url, params, body, headers),
                    params=params,
                    timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = TransientError(f"{method} {url}: {type(exc).__name__}", peer=self.peer)
                continue
            if resp.status_code in TRANSIENT_STATUS:
                last = TransientError(
                    f"{method} {url}: HTTP {resp.status_code}", peer=self.peer, status=resp.status_code
                )
                continue
            if resp.status_code in (401, 403):
                raise AuthError(
                    f"{method} {url}: HTTP {resp.status_code} {_reason(resp)}", peer=self.peer, status=resp.status_code
                )
            if resp.status_code >= 400:
                raise RejectedError(
                    f"{method} {url}: HTTP {resp.status_code} {_reason(resp)}", peer=self.peer, status=resp.status_code
                )
            return resp
        raise last  # type: ignore[misc]

    def _signed(self, method: str, url: str, params: dict | None, body: bytes | None, headers: dict) -> dict:
        """``headers`` with a v2 signature (``hub.core.signing``) when the peer wants one,
        made anew for every attempt: the hub accepts a signature once, so a retry needs a
        later timestamp than the attempt before it."""
        if not self._hmac:
            return headers
        ts = max(int(time.time()), self._last_ts + 1)
        self._last_ts = ts
        # the path and query exactly as requests puts them on the request line
        target = requests.Request(method, url, params=params).prepare().path_url
        message_id = headers.get("X-Message-Id", "")
        signature = hmac_signature(self._hmac[1], method, target, str(ts), message_id, body or b"")
        return {
            **headers,
            "X-Govhub-System": self._hmac[0],
            "X-Govhub-Timestamp": str(ts),
            "X-Govhub-Signature": signature,
        }

    def write(self, envelope: Envelope) -> Receipt:
        path = self.option("push_path", "/{kind}").format(kind=envelope.kind or "records")
        ctype = "application/xml" if envelope.format == "xml" else "application/json"
        resp = self._request("POST", path, envelope.body, {"Content-Type": ctype, "X-Message-Id": envelope.message_id})
        try:
            answer = resp.json()
        except ValueError:
            answer = {}
        ref = answer.get("id") or answer.get("message_id") if isinstance(answer, dict) else None
        return Receipt("acknowledged", str(ref) if ref else None, f"HTTP {resp.status_code}", resp.content)

    def read(self, limit: int | None = None) -> Iterator[Envelope]:
        path = self.option("pull_path", required=True)
        cursor = self.option("cursor")
        pages = 0
        while limit is None or pages < limit:
            resp = self._request("GET", path, params={"cursor": cursor} if cursor else None)
            try:
                page = resp.json()
            except ValueError:
                raise RejectedError(f"GET {path}: the answer is not JSON", peer=self.peer) from None
            records = page.get("records") or []
            if records:
                body = json.dumps({"records": records}, ensure_ascii=False).encode("utf-8")
                yield Envelope(
                    body,
                    f"{self.peer}#{cursor or 'start'}",
                    format="json",
                    headers={"next_cursor": page.get("next_cursor")},
                    handle=page.get("next_cursor"),
                )
            pages += 1
            cursor = page.get("next_cursor")
            if not page.get("has_more") or not cursor:
                return

    def ping(self) -> None:
        self._request("GET", self.option("ping_path", "/health"))

    def close(self) -> None:
        self.session.close()


def _reason(resp) -> str:
    try:
        d = resp.json()
        return str(d.get("message") or d.get("error") or "")[:300]
    except ValueError:
        return resp.text[:200]
