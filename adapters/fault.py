"""``fault+<scheme>://`` — a FAULT-INJECTING wrapper around any adapter, for tests of
faults that cannot be caused otherwise (a peer that fails N times, answers slowly, or
refuses for good). It is a test double and is named as one.

    fault+rest://127.0.0.1:8081/api?fail_writes=3&latency=0.2

Options: ``fail_writes`` / ``fail_reads`` (first N calls raise ``TransientError``),
``terminal`` (``1``: failures are ``RejectedError`` instead), ``latency`` (seconds added
to every call), ``down`` (``1``: ping and every call fail).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlencode

from adapters.base import Adapter, Capabilities, Envelope, Receipt
from adapters.errors import ConfigError, RejectedError, TransientError
from adapters.registry import open_adapter


class FaultAdapter(Adapter):
    scheme = "fault"
    capabilities = Capabilities(read=True, write=True, ack=True)

    FAULT_OPTIONS = ("fail_writes", "fail_reads", "latency", "terminal", "down")

    def __init__(self, url: str, inner: Adapter | None = None, **options):
        super().__init__(url, **options)
        inner_url = url.split("+", 1)[1].split("?", 1)[0]
        passed = {k: v for k, v in self.options.items() if k not in self.FAULT_OPTIONS}  # the inner adapter's own
        self.inner = inner or open_adapter(inner_url + ("?" + urlencode(passed) if passed else ""))
        self.capabilities = self.inner.capabilities  # type: ignore[misc]  # this wrapper can do what its inner adapter can
        try:
            self.fail_writes = int(self.option("fail_writes", 0))
            self.fail_reads = int(self.option("fail_reads", 0))
            self.latency = float(self.option("latency", 0))
        except ValueError as exc:
            raise ConfigError(f"fault adapter option is not a number: {exc}") from None
        self.terminal = str(self.option("terminal", "0")) == "1"
        self.down = str(self.option("down", "0")) == "1"
        self.calls = {"read": 0, "write": 0, "ping": 0}

    def _maybe_fail(self, what: str, budget: int) -> None:
        self.calls[what] += 1
        if self.latency:
            time.sleep(self.latency)
        if self.down or self.calls[what] <= budget:
            err = RejectedError if self.terminal else TransientError
            raise err(f"injected fault on {what} #{self.calls[what]}", peer=self.inner.peer)

    def read(self, limit: int | None = None) -> Iterator[Envelope]:
        self._maybe_fail("read", self.fail_reads)
        return self.inner.read(limit)

    def ack(self, envelope: Envelope) -> None:
        self.inner.ack(envelope)

    def write(self, envelope: Envelope) -> Receipt:
        self._maybe_fail("write", self.fail_writes)
        return self.inner.write(envelope)

    def ping(self) -> None:
        self._maybe_fail("ping", 0)
        self.inner.ping()

    def close(self) -> None:
        self.inner.close()
