"""Errors raised by the code validators in ``hub.model.codes``.

One exception, :class:`CodeError`, for every kind of bad code. It is a data error,
never a transient one: retrying the same record cannot fix it, so callers quarantine
the record and report ``reason`` (a short machine code, stable across releases, fit
for counting in lineage) and ``message`` (English, says what is wrong and what to
fix).

Reasons (members of ``hub.model.outcomes.Reason``)::

    id_length  id_format  id_birth_date  id_address  id_check_char
    uscc_length  uscc_format  uscc_registration_dept  uscc_division  uscc_check_char
    org_format  org_check_char
    licence_id_format  licence_id_check_char
    division_format  division_unknown

Messages never carry the input value: ID numbers are personal data and messages end
up in logs and reports. Use :func:`mask` to quote a value.
"""

from __future__ import annotations

from hub.core.errors import InputError
from hub.model.outcomes import Reason

__all__ = ["CodeError", "mask"]


class CodeError(InputError):
    """A code failed validation. ``reason`` is machine-readable, ``message`` is for people."""

    reason: Reason

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message, reason=reason)

    def __reduce__(self) -> tuple[type[CodeError], tuple[Reason, str]]:
        # ValueError pickles with self.args only (just the message); workers that ship
        # errors back to a parent process must not lose the reason.
        return (type(self), (self.reason, self.message))

    def __repr__(self) -> str:
        return f"CodeError({self.reason!r}, {self.message!r})"


def mask(value: object) -> str:
    """Return ``value`` safe for a log line: first 3 and last 2 characters kept,
    every character in between replaced by ``*`` (so the length still shows).

    Values shorter than 8 characters are masked completely: keeping 5 of 6 characters
    would hide nothing.
    """
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    n = len(value)
    if n < 8:
        return "*" * n
    return value[:3] + "*" * (n - 5) + value[-2:]
