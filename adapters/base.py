"""The one small adapter interface every protocol implements.

    adapter = open_adapter("sftp://hub@127.0.0.1:2222/outbox?done=done")
    for envelope in adapter.read():      # inbound: files, messages, pages, calls
        ...hand envelope.body to the hub, commit...
        adapter.ack(envelope)            # only now: mark done / delete / acknowledge
    receipt = adapter.write(envelope)    # outbound: deliver, get the peer's receipt
    adapter.ping(); adapter.close()

An adapter declares what it can do in a frozen ``Capabilities`` record; optional powers
are absent, not stubbed (``write`` on a read-only adapter raises ``ConfigError``). Driver
errors are translated into ``TransientError`` (retry) or ``TerminalError`` (quarantine /
dead letter) — see ``adapters.errors``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import parse_qsl, urlsplit

from adapters.errors import ConfigError


@dataclass(frozen=True)
class Capabilities:
    read: bool = False  # yields inbound envelopes
    write: bool = False  # delivers outbound envelopes
    ack: bool = False  # inbound envelopes must be acknowledged after the hub commits
    ordered: bool = False  # delivers in the order written (per peer)
    formats: tuple[str, ...] = ("xml", "json", "jsonl", "csv")


@dataclass
class Envelope:
    """One message through an adapter: the raw bytes and what is known about them."""

    body: bytes
    message_id: str
    system: str | None = None
    kind: str | None = None
    format: str | None = None
    filename: str | None = None
    headers: dict = field(default_factory=dict)
    handle: object = None  # adapter-private: what ``ack`` needs (a path, a delivery tag)


@dataclass(frozen=True)
class Receipt:
    """The peer's answer to a delivery."""

    status: str  # "acknowledged": the peer confirmed it holds the message; "sent": no confirmation exists
    peer_ref: str | None = None  # the peer's id for it, when it gives one
    detail: str = ""
    answer: bytes | None = None  # the peer's answer as received (per-row receipts: hub.outbound.formats)


class Adapter(ABC):
    scheme: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(self, url: str, **options):
        self.url = url
        parts = urlsplit(url)
        self.parts = parts
        self.options = {**dict(parse_qsl(parts.query)), **options}

    def read(self, limit: int | None = None) -> Iterator[Envelope]:
        raise ConfigError(f"{self.scheme}:// adapters cannot read", peer=self.peer)

    def ack(self, envelope: Envelope) -> None:  # noqa: B027 — optional: a push-only adapter has nothing to ack
        """Acknowledge an envelope from ``read`` after the hub has committed it."""

    def write(self, envelope: Envelope) -> Receipt:
        raise ConfigError(f"{self.scheme}:// adapters cannot write", peer=self.peer)

    @abstractmethod
    def ping(self) -> None:
        """Raise ``TransientError`` if the peer cannot be reached now."""

    def close(self) -> None:  # noqa: B027 — optional: an adapter without a connection has nothing to close
        """Release connections; calling it twice is harmless."""

    @property
    def peer(self) -> str:
        p = self.parts
        return f"{p.scheme}://{p.hostname or ''}{':' + str(p.port) if p.port else ''}{p.path}"

    def option(self, name: str, default=None, required: bool = False):
        if name in self.options:
            return self.options[name]
        if required:
            raise ConfigError(
                f"{self.scheme}:// adapter needs the option {name!r} (as ?{name}=... in the URL)", peer=self.peer
            )
        return default

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
