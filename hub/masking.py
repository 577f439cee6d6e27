"""Masking of personal data (ID numbers, phones, names, addresses) for logs, errors and
reports. Nothing that leaves the database for a human goes out unmasked.

``mask_text`` scrubs free text (error messages, log lines) by pattern; ``mask_record``
masks a record field by field, using the ``pii`` tags of the data dictionary.
"""

from __future__ import annotations

import logging
import re

from hub.dictionary import Field, kind as dictionary_kind

# 15/18-char ID numbers and mainland mobile numbers inside any text; digit runs are
# bounded so that longer numbers (case numbers, timestamps) are left alone.
_ID18_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_ID15_RE = re.compile(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_id(value: str) -> str:
    v = str(value)
    if len(v) <= 5:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 5) + v[-2:]


def mask_phone(value: str) -> str:
    v = str(value)
    if len(v) < 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


def mask_name(value: str) -> str:
    v = str(value)
    if not v:
        return v
    # 企业/机关 names are not personal data, but a field tagged as a name may hold either;
    # keeping the first character identifies neither.
    return v[0] + "*" * min(len(v) - 1, 3) if len(v) > 1 else "*"


def mask_address(value: str) -> str:
    v = str(value)
    cut = 0
    for marker in ("区", "县", "市"):
        i = v.rfind(marker, 0, 12)
        if i > cut:
            cut = i + 1
    cut = cut or min(len(v), 6)
    return v[:cut] + "****"


def mask_text(text: str) -> str:
    """Scrub ID numbers and mobile numbers from free text."""
    s = str(text)
    s = _ID18_RE.sub(lambda m: mask_id(m.group(0)), s)
    s = _ID15_RE.sub(lambda m: mask_id(m.group(0)), s)
    return _MOBILE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), s)


_MASKERS = {
    "id_no": mask_id,
    "phone": mask_phone,
    "name": mask_name,
    "address": mask_address,
    "free_text": mask_text,
}


def mask_value(f: Field, value):
    if value is None or f.pii is None:
        return value
    return _MASKERS[f.pii](value)


def _mask_fields(fields, record: dict) -> dict:
    out = {}
    for f in fields:
        if f.name not in record:
            continue
        v = record[f.name]
        if f.type == "list" and isinstance(v, list):
            out[f.name] = [_mask_fields(f.fields or (), e) if isinstance(e, dict) else e for e in v]
        else:
            out[f.name] = mask_value(f, v)
    for k, v in record.items():  # fields the dictionary does not know: scrub by pattern
        if k not in out:
            out[k] = mask_text(v) if isinstance(v, str) else v
    return out


def mask_record(kind: str, record: dict) -> dict:
    return _mask_fields(dictionary_kind(kind).fields, record)


class MaskingFilter(logging.Filter):
    """Masks every log record's rendered message (installed on the hub's handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = mask_text(msg)
        if masked != msg:
            record.msg, record.args = masked, None
        return True


def _pii_names(kind: str, mapping_name: str | None) -> dict[str, str]:
    """Field name → pii kind, for canonical names and the mapping's source names."""
    names: dict[str, str] = {}

    def walk(fields):
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
        from hub.mapping import MappingError, get_mapping

        try:
            m = get_mapping(mapping_name.split("@", 1)[0])
        except MappingError:
            return names

        def walk_specs(specs):
            for canon, spec in specs.items():
                if spec.from_ and canon in names:
                    names[spec.from_.rsplit(".", 1)[-1]] = names[canon]
                if spec.fields:
                    walk_specs(spec.fields)
        walk_specs(m.spec.fields)
    return names


def mask_payload(kind: str, payload: str, encoding: str, mapping_name: str | None = None) -> str:
    """An original payload (XML fragment, JSON object, CSV header+row) with its
    personal data masked by field, and by pattern everywhere else."""
    if encoding == "base64":
        return "(binary payload, not shown)"
    names = _pii_names(kind, mapping_name)

    def masked(name: str, value: str) -> str:
        return _MASKERS[names[name]](value) if name in names else mask_text(value)

    if encoding == "csv":
        import csv
        import io

        head, _, row = payload.partition("\n")
        try:
            cols = next(csv.reader([head]))
            vals = next(csv.reader([row]))
        except (StopIteration, csv.Error):
            return mask_text(payload)
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([cols, [masked(c.strip(), v) for c, v in zip(cols, vals)]])
        return out.getvalue().rstrip("\n")
    text = payload.lstrip()
    if text.startswith("<"):
        from lxml import etree

        from hub.xmlsafe import SAFE_PARSER

        try:
            el = etree.fromstring(text.encode("utf-8"), SAFE_PARSER)
        except etree.XMLSyntaxError:
            return mask_text(payload)
        for e in el.iter():
            if isinstance(e.tag, str) and e.text and len(e) == 0:
                e.text = masked(etree.QName(e).localname, e.text)
        return etree.tostring(el, encoding="unicode")
    if text.startswith("{") or text.startswith("["):
        import json

        try:
            obj = json.loads(text)
        except ValueError:
            return mask_text(payload)

        def walk(o, key=None):
            if isinstance(o, dict):
                return {k: walk(v, k) for k, v in o.items()}
            if isinstance(o, list):
                return [walk(v, key) for v in o]
            if isinstance(o, str):
                return masked(key, o) if key else mask_text(o)
            return o
        return json.dumps(walk(obj), ensure_ascii=False)
    return mask_text(payload)
