"""Decoding: bytes of one message → raw records (one per case, item, licence...).

Formats: ``xml`` (a batch document; streamed with a hardened parser and validated per
record against the kind's XSD when the sender speaks the canonical contract), ``jsonl``
(one JSON object per line), ``json`` (an array, or an object with ``records``), ``csv``
(header row; decoded per line so one badly encoded row does not sink the file).

Readers never raise for bad content: a record that cannot be decoded comes out with a
``Defect`` and its original text, so it can be quarantined and counted. When a document
breaks off (truncated, not well-formed) the rest comes out as one defective record.

The readers live one module per wire format (``decode_xml``, ``decode_json``,
``decode_csv``; ``decode_records`` holds what they yield); this module picks the reader
for a message and sniffs the format and kind of an unlabelled body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

from hub.ingest.decode_csv import read_csv as read_csv
from hub.ingest.decode_json import json_validator as json_validator
from hub.ingest.decode_json import read_json as read_json
from hub.ingest.decode_json import read_jsonl as read_jsonl
from hub.ingest.decode_records import MAX_LINE as MAX_LINE
from hub.ingest.decode_records import TOO_DEEP as TOO_DEEP
from hub.ingest.decode_records import MessageInfo as MessageInfo
from hub.ingest.decode_records import RawRecord as RawRecord
from hub.ingest.decode_xml import read_xml as read_xml
from hub.ingest.decode_xml import xml_schema as xml_schema
from hub.model.mapping import Mapping

READERS = {"xml": read_xml, "jsonl": read_jsonl, "json": read_json, "csv": read_csv}


def sniff_format(head: bytes, filename: str | None = None) -> str:
    if filename:
        for ext, fmt in (
            (".xml", "xml"),
            (".jsonl", "jsonl"),
            (".ndjson", "jsonl"),
            (".json", "json"),
            (".csv", "csv"),
        ):
            if filename.lower().endswith(ext):
                return fmt
    s = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if s.startswith(b"<"):
        return "xml"
    if s.startswith(b"["):
        return "json"
    if s.startswith(b"{"):
        first = s.split(b"\n", 1)[0].rstrip()
        return "jsonl" if first.endswith(b"}") else "json"
    return "csv"


_KIND_NS = re.compile(rb'xmlns(?::\w+)?=["\']urn:govhub:([a-z]+):\d+["\']')


def sniff_kind(head: bytes) -> str | None:
    """The message kind a canonical XML document declares by its namespace."""
    m = _KIND_NS.search(head)
    return m.group(1).decode("ascii") if m else None


def read(stream: IO[bytes], mapping: Mapping, info: MessageInfo, **kw: Any) -> Iterator[RawRecord]:
    return READERS[mapping.spec.format](stream, mapping, info, **kw)
