"""Cutting a device payload into events: each vendor ``format`` gives, per event, its
position, the fragment as received and the vendor's fields as a flat ``{name: value}``.

| format | one event is | position | refused as a whole when |
|---|---|---|---|
| ``json`` | an object (the body is one object or an array) | index, from 1 | not in the vendor's encoding, not JSON |
| ``lines`` | a line of ``KEY=VALUE`` pairs (blank lines skipped) | line number | — (each line stands alone) |
| ``xml`` | a ``record_element`` under ``root_element``, one child element per field | index, from 1 | DTD or entities (``xml_forbidden``), bytes not in the declared encoding, not well-formed |

:class:`DeviceInputError` carries a reason from a small fixed vocabulary (the
quarantine's ``reason``) and a message that never quotes a field's value, so it cannot
echo an ID number; it is passed through ``mask_text`` all the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from lxml import etree

from devices.vendors import Vendor
from hub.core.errors import InputError
from hub.model.masking import mask_text
from hub.model.xmlsafe import XmlRefused, declared_encoding, parse_document

REASONS = (
    "vendor_unknown",
    "payload_empty",
    "encoding_invalid",
    "json_malformed",
    "xml_forbidden",
    "xml_malformed",
    "line_malformed",
    "line_too_long",
    "type_unknown",
    "field_missing",
    "field_format",
    "code_unknown",
    "time_invalid",
    "id_invalid",
)


class DeviceInputError(InputError):
    """Device input that cannot become a canonical event: quarantine it, never drop it."""

    def __init__(self, reason: str, message: str):
        assert reason in REASONS, reason
        super().__init__(mask_text(message), reason=reason)

    def __reduce__(self):
        return (type(self), (self.reason, self.message))


Piece = tuple[int, bytes, "dict | DeviceInputError"]


def pieces(vendor: Vendor, payload: bytes) -> list[Piece]:
    """The events of ``payload``, or ``DeviceInputError`` if it is unreadable as a whole."""
    cut = {"json": _json, "lines": _lines, "xml": _xml}[vendor.format]
    out = list(cut(vendor, payload))
    if not out:
        raise DeviceInputError("payload_empty", f"the {vendor.name} payload holds no event")
    return out


def _json(vendor: Vendor, payload: bytes) -> Iterator[Piece]:
    try:
        doc = json.loads(payload.decode(vendor.encoding))
    except UnicodeDecodeError as exc:
        raise DeviceInputError("encoding_invalid", f"the body is not {vendor.encoding} (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise DeviceInputError(
            "json_malformed", f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:  # nesting deep enough to exhaust the decoder's stack
        raise DeviceInputError(
            "json_malformed", "the body is nested too deeply to be an event; send flat objects"
        ) from None
    for i, obj in enumerate(doc if isinstance(doc, list) else [doc], 1):
        fragment = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        if not isinstance(obj, dict):
            yield (
                i,
                fragment,
                DeviceInputError("json_malformed", f"event {i} is a JSON {type(obj).__name__}, not an object"),
            )
            continue
        nested = [k for k, v in obj.items() if isinstance(v, (dict, list))]
        if nested:
            yield i, fragment, DeviceInputError("field_format", f"event {i}: fields {nested} are not plain values")
            continue
        yield i, fragment, {k: v for k, v in obj.items() if v is not None}


def _lines(vendor: Vendor, payload: bytes) -> Iterator[Piece]:
    for n, raw in enumerate(payload.split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            text = raw.decode(vendor.encoding)
            fragment, problem = text.encode("utf-8"), None  # kept as UTF-8, whatever the device wrote
        except UnicodeDecodeError as exc:
            fragment, problem = (
                raw,
                DeviceInputError("encoding_invalid", f"line {n} is not {vendor.encoding} (byte {exc.start})"),
            )
        if len(raw) > vendor.max_line:
            problem = DeviceInputError(
                "line_too_long", f"line {n} has {len(raw)} bytes; {vendor.name} lines have at most {vendor.max_line}"
            )
        yield n, fragment, problem or _pairs(vendor, text, n)


def _pairs(vendor: Vendor, text: str, n: int) -> dict | DeviceInputError:
    fields: dict[str, str] = {}
    for i, part in enumerate(text.split(vendor.separator), 1):
        if not part.strip():
            continue  # a trailing separator
        key, assign, value = part.partition(vendor.assign)
        key = key.strip()
        if not assign or not key:
            return DeviceInputError("line_malformed", f"line {n}: part {i} is not KEY{vendor.assign}VALUE")
        if key in fields:
            return DeviceInputError("line_malformed", f"line {n}: key {key!r} appears twice")
        fields[key] = value.strip()
    return fields


def _xml(vendor: Vendor, payload: bytes) -> Iterator[Piece]:
    if (declared_encoding(payload[:200]) or "utf-8") in ("utf-8", "utf8"):
        try:
            payload.decode("utf-8")  # else lxml's own complaint would read like broken XML
        except UnicodeDecodeError as exc:
            raise DeviceInputError(
                "encoding_invalid",
                f"the document is not UTF-8 (byte {exc.start}); declare the encoding it is written in",
            ) from None
    try:
        root = parse_document(payload)
    except XmlRefused as exc:
        reason = exc.reason if exc.reason in REASONS else "xml_malformed"
        raise DeviceInputError(reason, exc.message) from None
    if etree.QName(root).localname != vendor.root_element:
        raise DeviceInputError(
            "xml_malformed",
            f"the document element is <{etree.QName(root).localname}>, {vendor.name} sends <{vendor.root_element}>",
        )
    for i, el in enumerate((e for e in root if isinstance(e.tag, str)), 1):
        fragment = etree.tostring(el, encoding="utf-8")
        name = etree.QName(el).localname
        if name != vendor.record_element:
            yield (
                i,
                fragment,
                DeviceInputError("xml_malformed", f"element {i} is <{name}>, not <{vendor.record_element}>"),
            )
            continue
        fields, nested = {}, []
        for child in el:
            if isinstance(child.tag, str):
                key = etree.QName(child).localname
                if len(child):
                    nested.append(key)
                elif child.text and child.text.strip():
                    fields[key] = child.text.strip()
        if nested:
            yield i, fragment, DeviceInputError("field_format", f"event {i}: elements {nested} are not plain values")
            continue
        yield i, fragment, fields
