"""Reading JSON: ``jsonl`` (one object per line, read line by line so one bad line does
not sink the rest) and ``json`` (the whole body: an array of records, or an object with a
``records`` array and its ``message_id``). A record of a canonical kind is validated
against the kind's JSON Schema; one that fails comes out with a ``Defect``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import IO, Any

import fastjsonschema

from hub.core.message_id import check_message_id
from hub.ingest.decode_records import MAX_LINE, TOO_DEEP, MessageInfo, RawRecord, raw_payload
from hub.model.defects import Defect
from hub.model.mapping import Mapping
from hub.model.masking import mask_text
from hub.model.outcomes import Reason
from hub.model.schemagen import json_schema_path

_UNREAD = object()  # read_json's document: parse the stream


@cache
def json_validator(kind: str) -> Callable[[Any], Any]:
    validate: Callable[[Any], Any] = fastjsonschema.compile(
        json.loads(json_schema_path(kind).read_text(encoding="utf-8"))
    )
    return validate


def _json_record(seq: int, obj: Any, mapping: Mapping, raw: str | None = None) -> RawRecord:
    """``raw``: the record's text when the reader has it (a JSON line); else the payload
    is written from ``obj`` only if it is needed (a quarantined record), not for every record."""
    if not isinstance(obj, dict):
        return RawRecord(
            seq,
            None,
            Defect(Reason.JSON_MALFORMED, f"record {seq} is not a JSON object", "decode:json"),
            raw,
            _json=obj,
        )
    unstorable = _unstorable(obj)
    if unstorable is not None:
        return RawRecord(
            seq,
            None,
            Defect(
                Reason.ENCODING_INVALID,
                f"record {seq}: {unstorable or 'a field name'} holds a character that cannot be stored "
                "(a lone UTF-16 surrogate such as \\ud800); send valid Unicode text",
                "decode:json",
                unstorable or None,
            ),
            raw,
            _json=obj,
        )
    if mapping.spec.canonical:
        try:
            json_validator(mapping.kind.kind)(obj)
        except Exception as exc:  # noqa: BLE001 — JsonSchemaException, or RecursionError/TypeError on hostile input: each quarantines the record
            name = getattr(exc, "name", "") or ""
            field_name = name.split(".", 1)[1].split(".")[0].split("[")[0] if "." in name else None
            return RawRecord(
                seq,
                None,
                Defect(
                    Reason.SCHEMA_INVALID,
                    f"record {seq}: {mask_text(str(exc))}",
                    f"jsonschema:{mapping.kind.schema_version}",
                    field_name,
                ),
                raw,
                _json=obj,
            )
    return RawRecord(seq, obj, None, raw, _json=obj)


# Text no database can hold: neither PostgreSQL nor SQLite can encode a lone surrogate
# (JSON's "\ud800" escape) as UTF-8. (A NUL is refused by the dictionary's field checks
# as field_format, and a payload holding one is kept as base64.)
_UNSTORABLE = re.compile("[\ud800-\udfff]")


def _unstorable(obj: dict[str, Any]) -> str | None:
    """The top-level field holding text that cannot be stored ("" when a field name
    itself cannot), or None. Walked without recursion: the document may nest deeply."""
    for name, value in obj.items():
        if _UNSTORABLE.search(name):
            return ""
        stack = [value]
        while stack:
            v = stack.pop()
            if isinstance(v, str):
                if _UNSTORABLE.search(v):
                    return name
            elif isinstance(v, dict):
                if any(_UNSTORABLE.search(k) for k in v):
                    return name
                stack.extend(v.values())
            elif isinstance(v, list):
                stack.extend(v)
    return None


def read_jsonl(stream: IO[bytes], mapping: Mapping, info: MessageInfo) -> Iterator[RawRecord]:
    enc = mapping.spec.encoding
    seq = 0
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE:
            seq += 1
            while line and not line.endswith(b"\n"):  # skip the rest of the oversized line
                line = stream.readline(MAX_LINE)
            yield RawRecord(
                seq,
                None,
                Defect(Reason.RECORD_TOO_LARGE, f"record {seq} is larger than {MAX_LINE} bytes", "decode:jsonl"),
                "(oversized line not kept)",
            )
            continue
        if not line.strip():
            continue
        seq += 1
        try:
            text = line.decode(enc)
        except UnicodeDecodeError:
            payload, penc = raw_payload(line)
            yield RawRecord(
                seq,
                None,
                Defect(Reason.ENCODING_INVALID, f"record {seq} is not valid {enc.upper()}", "decode:jsonl"),
                payload,
                payload_encoding=penc,
            )
            continue
        if seq == 1:
            text = text.lstrip("\ufeff")  # a byte-order mark from a Windows export, as the CSV reader allows
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:  # json.loads' only ValueError
            yield RawRecord(
                seq,
                None,
                Defect(
                    Reason.JSON_MALFORMED,
                    f"record {seq} is not valid JSON: {exc.msg} at column {exc.colno}",
                    "decode:jsonl",
                ),
                text.rstrip("\n"),
            )
            continue
        except RecursionError:  # the C decoder recurses per level: 10,000 nested arrays exhaust the stack
            yield RawRecord(
                seq, None, Defect(Reason.JSON_MALFORMED, f"record {seq} {TOO_DEEP}", "decode:jsonl"), text.rstrip("\n")
            )
            continue
        yield _json_record(seq, obj, mapping, text.rstrip("\n"))


def read_json(stream: IO[bytes], mapping: Mapping, info: MessageInfo, document: Any = _UNREAD) -> Iterator[RawRecord]:
    """``document``: the body already parsed (the REST ingress parses it once to check
    its shape); else the stream is read and parsed here."""
    if document is _UNREAD:
        data = stream.read()
        try:
            document = json.loads(data.decode(mapping.spec.encoding))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            why = TOO_DEEP if isinstance(exc, RecursionError) else f"is not valid JSON: {mask_text(str(exc))}"
            payload, penc = raw_payload(data)
            yield RawRecord(
                1, None, Defect(Reason.JSON_MALFORMED, f"the body {why}", "decode:json"), payload, payload_encoding=penc
            )
            return
        del data  # the records are read from the document from here on
    records = document.get("records") if isinstance(document, dict) else document
    if not isinstance(records, list):
        yield RawRecord(
            1,
            None,
            Defect(
                Reason.JSON_MALFORMED, "a JSON batch is an array or an object with a 'records' array", "decode:json"
            ),
            _json=document,
        )
        return
    if isinstance(document, dict):
        mid = document.get("message_id")
        info.message_id = check_message_id(mid, "the body's message_id") if isinstance(mid, str) and mid else None
    for seq, obj in enumerate(records, 1):
        yield _json_record(seq, obj, mapping)
