"""The adapters' exception tree. Driver exceptions (socket, paramiko, zeep, requests,
amqp...) are translated at the adapter boundary into one of two kinds, so retry logic
stays generic:

    AdapterError
    ├── TransientError        retry later: timeouts, refused connections, 5xx, broker down
    │   └── PeerUnavailable   the circuit breaker is open for this peer
    └── TerminalError         retrying will not help: quarantine / dead-letter it
        ├── AuthError         the peer refused our credentials
        ├── ConfigError       the URL or options are wrong (unknown scheme, missing option)
        └── RejectedError     the peer understood the message and refused it (4xx, SOAP Client fault)
"""

from __future__ import annotations


class AdapterError(Exception):
    def __init__(self, message: str, *, peer: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message, self.peer, self.status = message, peer, status

    @property
    def transient(self) -> bool:
        return isinstance(self, TransientError)


class TransientError(AdapterError):
    pass


class PeerUnavailable(TransientError):
    pass


class TerminalError(AdapterError):
    pass


class AuthError(TerminalError):
    pass


class ConfigError(TerminalError):
    pass


class RejectedError(TerminalError):
    pass
