"""URL scheme → adapter class, imported lazily (a user never imports a driver).

    open_adapter("rest://127.0.0.1:8080/api")          # adapters.rest
    open_adapter("fault+rest://...?fail=3")            # the fault-injecting wrapper

Adding a protocol is adding one module and one line here.
"""

from __future__ import annotations

from importlib import import_module
from urllib.parse import urlsplit

from adapters.base import Adapter
from adapters.errors import ConfigError

ADAPTER_ALIASES = {
    "file": "adapters.file:FileAdapter",
    "rest": "adapters.rest:RestAdapter",
    "rests": "adapters.rest:RestAdapter",
    "soap": "adapters.soap:SoapAdapter",
    "soaps": "adapters.soap:SoapAdapter",
    "sftp": "adapters.sftp:SftpAdapter",
    "amqp": "adapters.amqp:AmqpAdapter",
    "amqps": "adapters.amqp:AmqpAdapter",
}

FAULT_ADAPTER = "adapters.fault:FaultAdapter"  # fault+<scheme>://…: test faults around any adapter


def adapter_class(url: str) -> type[Adapter]:
    scheme = urlsplit(url).scheme.lower()
    # by name, as every adapter: its module loads only when asked for (and adapters.fault,
    # which opens the inner adapter through this registry, is not imported by it)
    target = FAULT_ADAPTER if scheme.startswith("fault+") else ADAPTER_ALIASES.get(scheme)
    if target is None:
        raise ConfigError(
            f"unknown adapter scheme {scheme!r} in {url.split('@')[-1]!r}; known: "
            f"{', '.join(sorted(ADAPTER_ALIASES))} (and fault+<scheme>)"
        )
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


def open_adapter(url: str, **options) -> Adapter:
    return adapter_class(url)(url, **options)
