"""The hub's exception tree. Every error the hub raises on purpose is a
:class:`GovhubError`; driver and library exceptions are translated into one of these
where the hub meets them, so callers catch by meaning, not by module:

    GovhubError               reason: a short machine code; str(exc) / message: for people
    ├── ConfigError           a file the hub reads at start is wrong: catalogue, mapping,
    │                         dictionary, rules, templates, calendar overrides... (the
    │                         message names the file, line and key); fix the file, restart
    ├── InputError            a record or a message cannot be taken as it is: quarantine it,
    │                         never retry; reason is a quarantine reason code
    │                         (``hub.model.outcomes.Reason``), message never quotes personal data
    ├── AccessDenied          the caller may not do this; ``status`` 401 (who are you?), 403 or 429
    ├── NotFound              no such thing: a version, an evaluation, a follow-up
    ├── StorageError          the store failed; database driver errors are wrapped in it
    │   └── ConcurrentUpdate  (hub.ingest.store) another writer changed a row of the batch:
    │                         retry the batch
    └── WorkflowError         an action cannot be done: unknown target, wrong state, missing
        │                     input; ``status`` is the HTTP status to answer with
        ├── QuarantineActionError   (hub.quarantine.workflow) retry, reject, export
        └── SupervisionActionError  (hub.domains.supervision.scan) a supervision transition

ConfigError, InputError and WorkflowError are also ``ValueError``s, NotFound a
``LookupError`` and StorageError a ``RuntimeError``, so code that caught the builtin
kinds keeps working. The adapters keep their own tree (``adapters.errors``: transient vs
terminal), since they stand apart from the hub.

``reason`` is stable across releases, fit for an API answer, a lineage row or a metric
label. Each class has a default; a raise may name a narrower one::

    raise ConfigError(f"{path}:{line}: kinds: expected a list")       # reason "config_invalid"
    raise AccessDenied(403, "forbidden_kind", "system X may not push licence records")
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "GovhubError",
    "ConfigError",
    "InputError",
    "AccessDenied",
    "AccessReason",
    "NotFound",
    "StorageError",
    "WorkflowError",
]

AccessReason = Literal[
    "unauthenticated",
    "bad_credentials",
    "stale_request",
    "replayed_nonce",
    "replayed_request",
    "signature_version",
    "too_many_failures",
    "administrators_only",
    "forbidden_kind",
    "forbidden_department",
    "forbidden_region",
    "forbidden_writer",
    "owner_missing",
]


class GovhubError(Exception):
    """The root: ``reason`` is machine-readable, ``message`` (also ``str(exc)``) is for people."""

    reason: str = "error"

    def __init__(self, message: str = "", *, reason: str | None = None):
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class ConfigError(GovhubError, ValueError):
    """A configuration or catalogue file is wrong; the message names the file, line and key."""

    reason = "config_invalid"


class InputError(GovhubError, ValueError):
    """Input that cannot become a stored record: quarantined with ``reason``, never retried."""

    reason = "input_invalid"


class AccessDenied(GovhubError):
    """``status`` is the HTTP status to answer with (401 unauthenticated, 403 forbidden)."""

    reason: AccessReason

    def __init__(self, status: int, reason: AccessReason, message: str):
        super().__init__(message, reason=reason)
        self.status = status


class NotFound(GovhubError, LookupError):
    """No such thing (the message says what exists instead)."""

    reason = "not_found"


class StorageError(GovhubError, RuntimeError):
    """The store's own error: a database driver error, wrapped (``__cause__`` holds it)."""

    reason = "storage_failed"


class WorkflowError(GovhubError, ValueError):
    """An action cannot be done: an unknown target, a transition out of order, missing input.
    ``status`` is the HTTP status an API answers with (404 unknown, 409 wrong state, 422 bad input)."""

    reason = "action_refused"
    status = 422

    def __init__(self, message: str = "", *, reason: str | None = None, status: int | None = None):
        super().__init__(message, reason=reason)
        if status is not None:
            self.status = status
