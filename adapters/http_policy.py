"""The one HTTP client policy of the adapters that talk HTTP (``rest://``, ``soap://``):
a ``requests.Session`` that every call of theirs goes through.

- **No redirect is followed.** The session carries the peer's credentials (``X-Api-Key``,
  an HMAC signature, a WS-Security token in the body): following a 3xx would hand them to
  whichever host the ``Location`` names. A 3xx answer is a delivery failure: a
  ``RejectedError`` whose reason names the ``Location``'s host, so an operator sees where
  the peer tried to send us and fixes the URL in the catalogue; nothing is acknowledged.
- **Answers are read under a cap.** The body is streamed and counted (decompressed bytes,
  so a small gzip bomb counts at its real size) up to ``max_answer_bytes`` (default 20 MiB,
  the hub's own request limit); a longer answer, or a ``Content-Length`` announcing one, is
  refused before it fills memory.

Options (on the adapter URL): ``max_answer_bytes``.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import requests

from adapters.errors import ConfigError, RejectedError

MAX_ANSWER_BYTES = 20 * 1024 * 1024
CHUNK = 64 * 1024


class PolicySession(requests.Session):
    """``requests.Session`` with the adapters' policy applied in ``send``, which every
    request of the session (``request``, ``get``, ``post``, zeep's transport) goes through."""

    def __init__(self, peer: str | None, max_answer_bytes: int = MAX_ANSWER_BYTES):
        super().__init__()
        self.peer = peer
        self.max_answer_bytes = max_answer_bytes

    def send(self, request, **kwargs):
        kwargs["allow_redirects"] = False
        kwargs["stream"] = True
        resp = super().send(request, **kwargs)
        try:
            if 300 <= resp.status_code < 400:
                raise _redirected(request, resp, self.peer)
            _read_capped(request, resp, self.max_answer_bytes, self.peer)
        except BaseException:
            resp.close()
            raise
        return resp


def policy_session(peer: str | None, max_answer_bytes: object = None) -> PolicySession:
    """The session an adapter uses; ``max_answer_bytes`` as given in its URL options."""
    if max_answer_bytes in (None, ""):
        return PolicySession(peer)
    try:
        cap = int(str(max_answer_bytes))
    except ValueError:
        cap = 0
    if cap < 1:
        raise ConfigError(f"max_answer_bytes must be a positive number of bytes, not {max_answer_bytes!r}", peer=peer)
    return PolicySession(peer, cap)


def _where(request) -> str:
    p = urlsplit(request.url)
    return f"{request.method} {p.scheme}://{p.netloc}{p.path}"  # no query: it may carry a token


def _redirected(request, resp, peer: str | None) -> RejectedError:
    location = resp.headers.get("location") or ""
    host = urlsplit(urljoin(request.url, location)).netloc if location else ""
    return RejectedError(
        f"{_where(request)}: HTTP {resp.status_code} redirect to {host or '(no Location)'} not followed: "
        "the request carries this peer's credentials; correct the peer's URL in the catalogue",
        peer=peer,
        status=resp.status_code,
    )


def _read_capped(request, resp, cap: int, peer: str | None) -> None:
    """Read the whole answer into ``resp`` (so ``.content``/``.json()`` work as usual), or
    refuse it once it passes ``cap`` bytes."""

    def too_large() -> RejectedError:
        return RejectedError(
            f"{_where(request)}: the answer is larger than {cap} bytes (max_answer_bytes); not read",
            peer=peer,
            status=resp.status_code,
        )

    announced = resp.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > cap:
        raise too_large()
    chunks, size = [], 0
    for chunk in resp.iter_content(CHUNK):
        size += len(chunk)
        if size > cap:
            raise too_large()
        chunks.append(chunk)
    resp._content = b"".join(chunks)
    resp._content_consumed = True
