"""Masking of personal data (ID numbers, phones, names, addresses) for logs, errors and
reports. Nothing that leaves the database for a human goes out unmasked.

``mask_text`` scrubs free text (error messages, log lines) by pattern; ``mask_record``
masks a record field by field, using the ``pii`` tags of the data dictionary.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lxml import etree

from hub.model.dictionary import Field
from hub.model.dictionary import kind as dictionary_kind
from hub.model.mapping import FieldSpec, MappingError, get_mapping

# the pattern and per-tag maskers live in hub.model.scrub (below hub.model.xmlsafe); re-exported here
from hub.model.scrub import MASKERS as _MASKERS
from hub.model.scrub import log_safe as log_safe
from hub.model.scrub import mask_address as mask_address
from hub.model.scrub import mask_id as mask_id
from hub.model.scrub import mask_name as mask_name
from hub.model.scrub import mask_phone as mask_phone
from hub.model.scrub import mask_text as mask_text
from hub.model.xmlsafe import SAFE_PARSER

# mask_payload's callbacks: remember(field name, value) a personal value; masked(field name, value)
Remember = Callable[[str | None, str], None]
Masked = Callable[[str | None, str], str]


def mask_value(pii: str | None, value: object) -> str:
    """One value of a field: by its dictionary ``pii`` tag, else scrubbed by pattern."""
    return _MASKERS[pii](str(value)) if pii else mask_text(str(value))


def mask_key(kind: str, key: str | None) -> str | None:
    """A record's key text (``hub.ingest.batch.Prepared.key_text``: the key fields joined
    by ``|``) as it may leave the hub in an answer or a log: each part that is personal
    data by the dictionary (a person's 公民身份号码) masked by its ``pii`` tag, the others
    scrubbed by pattern. A sender still recognises its record by ``seq``."""
    if key is None:
        return None
    try:
        fields = [dictionary_kind(kind).field(name) for name in dictionary_kind(kind).key]
    except (ValueError, KeyError):
        return mask_text(key)
    parts = key.split("|")
    if len(parts) != len(fields):  # a part holding "|" itself: mask the whole by the first pii tag
        tag = next((f.pii for f in fields if f.pii), None)
        return mask_value(tag, key)
    return "|".join(mask_value(f.pii, part) for f, part in zip(fields, parts))


def mask_record(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    masked: dict[str, Any] = json.loads(mask_payload(kind, json.dumps(record, ensure_ascii=False, default=str), "text"))
    return masked


def log_line(message: str) -> str:
    """A rendered log message as one safe line: personal data masked, and control
    characters escaped, since message ids, file names and system ids come from senders."""
    return log_safe(mask_text(message))


class MaskingFilter(logging.Filter):
    """Masks every log record's rendered message (installed on the hub's handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = log_line(msg)
        if masked != msg:
            record.msg, record.args = masked, None
        return True


def _pii_names(kind: str, mapping_name: str | None) -> dict[str, str]:
    """Field name → pii kind, for canonical names and the mapping's source names."""
    names: dict[str, str] = {}

    def walk(fields: Iterable[Field]) -> None:
        for f in fields:
            if f.pii:
                names[f.name] = f.pii
            if f.fields:
                walk(f.fields)

    try:
        walk(dictionary_kind(kind).fields)
    except ValueError:
        return names
    if mapping_name and "@" in mapping_name:
        try:
            m = get_mapping(mapping_name.split("@", 1)[0])
        except MappingError:
            return names

        def walk_specs(specs: Mapping[str, FieldSpec]) -> None:
            for canon, spec in specs.items():
                if spec.from_ and canon in names:
                    names[spec.from_.rsplit(".", 1)[-1]] = names[canon]
                if spec.fields:
                    walk_specs(spec.fields)

        walk_specs(m.spec.fields)
    return names


def _scrub_known(text: str, known: dict[str, str]) -> str:
    """Replace personal values found elsewhere in the record (a name inside a case
    title, an ID number inside an opinion) by their masked forms."""
    for value, masked_value in known.items():
        if value in text:
            text = text.replace(value, masked_value)
    return mask_text(text)


def mask_payload(kind: str, payload: str, encoding: str, mapping_name: str | None = None) -> str:
    """An original payload (XML fragment, JSON object, CSV header+row) with its
    personal data masked by field, by known value and by pattern everywhere else."""
    if encoding == "base64":
        return "(binary payload, not shown)"
    names = _pii_names(kind, mapping_name)
    known: dict[str, str] = {}

    def remember(name: str | None, value: str) -> None:
        if name in names and isinstance(value, str) and len(value.strip()) >= 2 and names[name] != "free_text":
            known[value.strip()] = _MASKERS[names[name]](value.strip())

    def masked(name: str | None, value: str) -> str:
        if name in names:
            return _MASKERS[names[name]](value)
        return _scrub_known(value, known)

    if encoding == "csv":
        return _mask_csv(payload, remember, masked)
    text = payload.lstrip()
    if text.startswith("<"):
        return _mask_xml(payload, text, remember, masked)
    if text.startswith("{") or text.startswith("["):
        return _mask_json(payload, text, remember, masked)
    return mask_text(payload)


def _mask_csv(payload: str, remember: Remember, masked: Masked) -> str:
    """A CSV header and row: each value masked by its column."""
    head, _, row = payload.partition("\n")
    try:
        cols = [c.strip() for c in next(csv.reader([head]))]
        vals = next(csv.reader([row]))
    except (StopIteration, csv.Error):
        return mask_text(payload)
    for c, v in zip(cols, vals):
        remember(c, v)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([cols, [masked(c, v) for c, v in zip(cols, vals)]])
    return out.getvalue().rstrip("\n")


def _mask_xml(payload: str, text: str, remember: Remember, masked: Masked) -> str:
    """An XML fragment: each leaf's text masked by its element name."""
    try:
        el = etree.fromstring(text.encode("utf-8"), SAFE_PARSER)
    except etree.XMLSyntaxError:
        return mask_text(payload)
    leaves = [e for e in el.iter() if isinstance(e.tag, str) and e.text and len(e) == 0]
    for e in leaves:
        remember(etree.QName(e).localname, e.text)
    for e in leaves:
        e.text = masked(etree.QName(e).localname, e.text)
    xml: str = etree.tostring(el, encoding="unicode")
    return xml


def _mask_json(payload: str, text: str, remember: Remember, masked: Masked) -> str:
    """A JSON object or array: each string masked by its key."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):  # nested thousands deep: quarantined for exactly that
        return mask_text(payload)

    def collect(o: Any, key: str | None = None) -> None:
        if isinstance(o, dict):
            for k, v in o.items():
                collect(v, k)
        elif isinstance(o, list):
            for v in o:
                collect(v, key)
        elif isinstance(o, str):
            remember(key, o)

    def walk(o: Any, key: str | None = None) -> Any:
        if isinstance(o, dict):
            return {k: walk(v, k) for k, v in o.items()}
        if isinstance(o, list):
            return [walk(v, key) for v in o]
        if isinstance(o, str):
            return masked(key, o)
        return o

    try:
        collect(obj)
        return json.dumps(walk(obj), ensure_ascii=False)
    except RecursionError:  # parsed, but too deep to walk: mask by pattern
        return mask_text(payload)
