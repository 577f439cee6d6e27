"""Masking of personal data (ID numbers, phones, names, addresses) for logs, errors and
reports. Nothing that leaves the database for a human goes out unmasked.

``mask_text`` scrubs free text (error messages, log lines) by pattern; ``mask_record``
masks a record field by field, using the ``pii`` tags of the data dictionary.
"""

from __future__ import annotations

import logging
import re

from hub.model.dictionary import kind as dictionary_kind

# 15/18-char ID numbers and mainland mobile numbers inside any text. Digit runs are
# bounded by digits only, so longer numbers (case numbers, timestamps) are left alone
# while an ID glued to letters (parser messages quote names like "n1101…") is caught.
_ID18_RE = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])")
_ID15_RE = re.compile(r"(?<!\d)\d{15}(?!\d)")
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


def mask_value(pii: str | None, value) -> str:
    """One value of a field: by its dictionary ``pii`` tag, else scrubbed by pattern."""
    return _MASKERS[pii](str(value)) if pii else mask_text(str(value))


def mask_record(kind: str, record: dict) -> dict:
    import json

    return json.loads(mask_payload(kind, json.dumps(record, ensure_ascii=False, default=str), "text"))


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
        from hub.model.mapping import MappingError, get_mapping

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


def _mask_csv(payload: str, remember, masked) -> str:
    """A CSV header and row: each value masked by its column."""
    import csv
    import io

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


def _mask_xml(payload: str, text: str, remember, masked) -> str:
    """An XML fragment: each leaf's text masked by its element name."""
    from lxml import etree

    from hub.model.xmlsafe import SAFE_PARSER

    try:
        el = etree.fromstring(text.encode("utf-8"), SAFE_PARSER)
    except etree.XMLSyntaxError:
        return mask_text(payload)
    leaves = [e for e in el.iter() if isinstance(e.tag, str) and e.text and len(e) == 0]
    for e in leaves:
        remember(etree.QName(e).localname, e.text)
    for e in leaves:
        e.text = masked(etree.QName(e).localname, e.text)
    return etree.tostring(el, encoding="unicode")


def _mask_json(payload: str, text: str, remember, masked) -> str:
    """A JSON object or array: each string masked by its key."""
    import json

    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):  # nested thousands deep: quarantined for exactly that
        return mask_text(payload)

    def collect(o, key=None):
        if isinstance(o, dict):
            for k, v in o.items():
                collect(v, k)
        elif isinstance(o, list):
            for v in o:
                collect(v, key)
        elif isinstance(o, str):
            remember(key, o)

    def walk(o, key=None):
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
