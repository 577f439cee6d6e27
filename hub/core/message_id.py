"""The one rule for a message id, wherever it comes from: the REST header ``X-Message-Id``,
a JSON body's ``message_id``, an XML batch's ``message_id`` attribute, SOAP, or an id the
hub derives for a file of a drop.

A message id is printable text of 1 to 128 characters: ``ingest_message``, ``lineage``
and ``quarantine`` keep 128 characters, and PostgreSQL refuses a longer value (which was
a 500, and on a drop a file that failed every poll). A sender's id that breaks the rule
is refused (``MessageIdInvalid``, a 400 or a SOAP ``Client`` fault); an id the hub derives
is made to fit (``fit_message_id``).
"""

from __future__ import annotations

import hashlib

from hub.core.errors import InputError

MAX_MESSAGE_ID = 128  # the message_id columns' size


class MessageIdInvalid(InputError):
    reason = "message_id_invalid"


def message_id_problem(value: object) -> str | None:
    """Why ``value`` is not a message id, or None when it is one."""
    if not isinstance(value, str):
        return "message_id must be text"
    if not value:
        return "message_id must not be empty"
    if len(value) > MAX_MESSAGE_ID:
        return f"message_id is {len(value)} characters long; at most {MAX_MESSAGE_ID} are kept"
    if not value.isprintable():
        return "message_id must be printable text (no line breaks, tabs or control characters)"
    return None


def check_message_id(value: object, source: str = "message_id") -> str:
    """``value`` when it is a message id; else raises ``MessageIdInvalid`` naming ``source``."""
    why = message_id_problem(value)
    if why is not None:
        raise MessageIdInvalid(f"{source}: {why}; send printable text of 1 to {MAX_MESSAGE_ID} characters")
    assert isinstance(value, str)
    return value


def fit_message_id(derived: str, limit: int = MAX_MESSAGE_ID) -> str:
    """A derived id made to fit ``limit`` characters: kept whole when it fits, else a prefix
    (recognisable in listings) and a digest of the whole, so two long ids stay distinct and
    a file read twice keeps its id. (A smaller ``limit`` leaves room for a suffix, such as a
    bus part's ``#index/parts``.)"""
    if len(derived) <= limit:
        return derived
    digest = hashlib.sha256(derived.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return f"{derived[: limit - len(digest) - 3]}...{digest}"
