"""What every reader of ``hub.ingest.decode`` yields: a ``RawRecord`` per record of the
message (its data, or the ``Defect`` that kept it from being read, and its original text),
and the ``MessageInfo`` the document says about itself — plus the limits and helpers the
line-based readers (JSON lines, CSV) share."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from hub.model.defects import Defect

MAX_LINE = 1 << 20  # one JSON line / CSV row larger than 1 MiB is refused, not buffered
_NO_JSON: Any = object()
TOO_DEEP = "is nested too deeply to read (hundreds of levels of arrays or objects); send flat records"


@dataclass(slots=True)
class RawRecord:
    seq: int
    data: dict[str, Any] | None
    defect: Defect | None = None
    _payload: str | None = None
    _element: Any = None
    payload_encoding: str = "text"
    _json: Any = _NO_JSON  # a JSON record's value: its text is written only when asked for

    @property
    def payload(self) -> str:
        """The record's original text, written on demand: only a quarantined record needs it."""
        if self._payload is None:
            if self._element is not None:
                self._payload = etree.tostring(self._element, encoding="unicode")
            elif self._json is not _NO_JSON:
                self._payload = json.dumps(self._json, ensure_ascii=False)
        return self._payload or ""


@dataclass
class MessageInfo:
    """What the document says about itself (filled in while reading)."""

    message_id: str | None = None
    batch_no: str | None = None
    encoding: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


def raw_payload(data: bytes) -> tuple[str, str]:
    """Bytes kept for quarantine: as text when they are UTF-8, else base64 (and which)."""
    try:
        return data.decode("utf-8"), "text"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"
