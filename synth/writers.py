"""Streaming writers of generated records (flat memory in N): canonical XML through the
hub's one canonical XML writer (:mod:`hub.model.xmlwrite`), and canonical JSON lines.
Each takes an iterable of records and a path or binary file object and returns the
number of records written."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any

from hub.model import xmlwrite

try:  # msgspec encodes a record ~10x faster than json.dumps; fall back if absent
    import msgspec as _msgspec

    _json_encode: Callable[[Any], bytes] = _msgspec.json.Encoder().encode
except ImportError:  # pragma: no cover
    import json as _json

    def _json_encode(obj: Any) -> bytes:
        return _json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _Sink:
    """A path or a binary file object, written in chunks; closes only what it opened."""

    def __init__(self, out: str | os.PathLike | IO[bytes]) -> None:
        if isinstance(out, (str, os.PathLike)):
            self.f = open(out, "wb")
            self.owned = True
        else:
            self.f = out
            self.owned = False

    def __enter__(self) -> IO[bytes]:
        return self.f

    def __exit__(self, *exc) -> None:
        if self.owned:
            self.f.close()
        else:
            self.f.flush()


_CHUNK = 512  # records per write: big enough to amortise, small enough to keep memory flat


def write_xml(
    records: Iterable[Mapping[str, Any]],
    kind: str,
    out: str | os.PathLike | IO[bytes],
    encoding: str = "utf-8",
    message_id: str | None = None,
    batch_no: str | None = None,
    *,
    source_system: str | None = None,
    sync_time: str | None = None,
) -> int:
    """Write one canonical batch document (``<{batch} xmlns="urn:govhub:{kind}:1">``).

    ``encoding``: 'utf-8', 'gbk' or 'gb18030'; the declaration names it and characters
    the encoding lacks become character references. ``message_id`` defaults to a fresh
    UUID (a real sender always sends one). Elements follow each record's key order, one
    record per line. Streams: at most one chunk of records (512) in memory. Returns the
    number of records written.
    """
    writer = xmlwrite.BatchWriter(
        kind,
        encoding,
        message_id=message_id or uuid.uuid4().hex,
        batch_no=batch_no,
        source_system=source_system,
        sync_time=sync_time,
        chunk=_CHUNK,
    )
    with _Sink(out) as f:
        return writer.write(records, f)


def write_jsonl(records: Iterable[Mapping[str, Any]], out: str | os.PathLike | IO[bytes]) -> int:
    """Canonical JSON lines: one record per line, UTF-8, non-ASCII unescaped."""
    count = 0
    with _Sink(out) as f:
        buf: list[bytes] = []
        for rec in records:
            buf.append(_json_encode(rec))
            count += 1
            if len(buf) >= _CHUNK:
                buf.append(b"")
                f.write(b"\n".join(buf))
                buf.clear()
        if buf:
            buf.append(b"")
            f.write(b"\n".join(buf))
    return count
