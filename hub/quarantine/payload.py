"""A quarantined record's payload in its own form — one XML element, one JSON object, or
a CSV header and row — as the administrator corrects it and as the ingress reads it again.

- ``edit`` applies ``--set NAME=VALUE`` corrections. ``NAME`` is the field as the
  record itself names it (a CSV column ``SQRZJHM``, a JSON path ``sqr.zjhm``, an XML
  element ``applicant_id_no``; ``steps.0.end_time`` reaches into lists), or a canonical
  field name, which the mapping translates to the source field it reads (``--set
  applicant_id_no=...`` on a CSV record sets ``SQRZJHM``). Corrections are made on the
  source's own form because the record goes through its mapping again.
- ``as_message`` wraps a payload into a one-record message for the same reader
  (``hub.ingest.decode``) that read it at ingress, in the mapping's encoding.
- ``view`` gives a plain nested dict of a payload, to show what a correction changed
  (masked by the caller).
"""

from __future__ import annotations

import base64
import csv
import io
import json

from lxml import etree

from hub.core.errors import InputError
from hub.model.mapping import Mapping
from hub.model.xmlsafe import SAFE_PARSER


class PayloadError(InputError):
    """A correction cannot be applied; the message says what to give instead."""

    reason = "bad_correction"


def _parts(path: str) -> list[str]:
    parts = [p for p in path.split(".")]
    if not path or any(not p for p in parts):
        raise PayloadError(
            f"{path!r} is not a field path (use NAME or a dotted path like sqr.zjhm or steps.0.end_time)"
        )
    return parts


def _translate(name: str, mapping: Mapping, present) -> str:
    """The source path for a name the administrator gave (source name wins)."""
    if present(name):
        return name
    spec = mapping.spec.fields.get(name)
    if spec is not None and spec.const is None and spec.from_ and spec.from_ != name:
        return spec.from_
    if mapping.spec.canonical and any(f.name == name for f in mapping.kind.fields):
        return name  # a canonical field the record lacks: it is added
    if any(s.from_ == name for s in mapping.spec.fields.values()):
        return name  # a source field the mapping reads, which this record lacks: it is added
    if spec is not None and spec.const is not None:
        raise PayloadError(f"{name} is a constant of mapping {mapping.label}; it cannot be corrected per record")
    raise PayloadError(f"{name!r} is neither a field of this record nor a field mapping {mapping.label} reads")


# ---------------------------------------------------------------- JSON


def _json_get(obj, parts: list[str]):
    cur = obj
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            return _MISSING
    return cur


_MISSING = object()


def _json_value(text: str, old, typed: bool):
    """A corrected JSON value keeps the old value's JSON type (``legal_days=20`` stays a
    number); a value the record lacked is typed by the dictionary when it is canonical."""
    if isinstance(old, str) or (old is _MISSING and not typed):
        return text
    try:
        v = json.loads(text)
    except ValueError:
        return text
    return v if isinstance(v, (int, float, bool)) or v is None else text


def _edit_json(payload: str, mapping: Mapping, changes: dict[str, str]) -> str:
    try:
        obj = json.loads(payload)
    except ValueError:
        raise PayloadError(
            "the kept payload is not a JSON object; give the whole corrected record with --payload FILE"
        ) from None
    if not isinstance(obj, dict):
        raise PayloadError("the kept payload is not a JSON object; give the whole corrected record with --payload FILE")
    typed_fields = (
        {f.name for f in mapping.kind.fields if f.type in ("int", "decimal", "bool")}
        if mapping.spec.canonical
        else set()
    )
    for name, value in changes.items():
        path = _translate(name, mapping, lambda n: _json_get(obj, _parts(n)) is not _MISSING)
        parts = _parts(path)
        cur = obj
        for p in parts[:-1]:
            if isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
                cur = cur[int(p)]
            elif isinstance(cur, dict):
                cur = cur.setdefault(p, {})
            else:
                raise PayloadError(f"{path}: {p!r} does not lead into the record")
        leaf = parts[-1]
        if isinstance(cur, list):
            if not (leaf.isdigit() and int(leaf) < len(cur)):
                raise PayloadError(f"{path}: no element {leaf} in that list")
            cur[int(leaf)] = _json_value(value, cur[int(leaf)], False)
        elif isinstance(cur, dict):
            cur[leaf] = _json_value(value, cur.get(leaf, _MISSING), path in typed_fields)
        else:
            raise PayloadError(f"{path}: {parts[-2]!r} holds a value, not fields")
    return json.dumps(obj, ensure_ascii=False)


# ---------------------------------------------------------------- CSV


def _csv_rows(payload: str) -> tuple[list[str], list[str]]:
    head, _, row = payload.partition("\n")
    try:
        cols = [c.strip() for c in next(csv.reader([head]))]
        vals = next(csv.reader(io.StringIO(row)))
    except (StopIteration, csv.Error):
        raise PayloadError(
            "the kept payload is not a CSV header and row; give the whole corrected record with --payload FILE"
        ) from None
    if len(cols) != len(vals):
        raise PayloadError(
            f"the kept row has {len(vals)} columns and the header {len(cols)}; "
            "give the whole corrected record with --payload FILE"
        )
    return cols, vals


def _edit_csv(payload: str, mapping: Mapping, changes: dict[str, str]) -> str:
    cols, vals = _csv_rows(payload)
    for name, value in changes.items():
        col = _translate(name, mapping, lambda n: n in cols)
        if col not in cols:
            raise PayloadError(f"{col!r} is not a column of this file (columns: {', '.join(cols)})")
        vals[cols.index(col)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([cols, vals])
    return out.getvalue().rstrip("\n")


# ---------------------------------------------------------------- XML


def _xml_root(payload: str):
    try:
        return etree.fromstring(payload.encode("utf-8"), SAFE_PARSER)
    except etree.XMLSyntaxError:
        raise PayloadError(
            "the kept payload is not one XML record; give the whole corrected record with --payload FILE"
        ) from None


def _children(el) -> list:
    return [c for c in el if isinstance(c.tag, str)]


def _xml_find(el, parts: list[str]):
    cur = el
    for p in parts:
        kids = _children(cur)
        if p.isdigit():
            cur = kids[int(p)] if int(p) < len(kids) else None
        else:
            cur = next((c for c in kids if etree.QName(c).localname == p), None)
        if cur is None:
            return None
    return cur


def _xml_add(root, name: str, mapping: Mapping):
    """Add a top-level element the record lacks, in the order the XSD requires."""
    order = [f.name for f in mapping.kind.fields]
    ns = etree.QName(root).namespace
    new = etree.Element(f"{{{ns}}}{name}" if ns else name)
    later = [
        c
        for c in _children(root)
        if etree.QName(c).localname in order and order.index(etree.QName(c).localname) > order.index(name)
    ]
    if later:
        later[0].addprevious(new)
    else:
        root.append(new)
    return new


def _edit_xml(payload: str, mapping: Mapping, changes: dict[str, str]) -> str:
    root = _xml_root(payload)
    for name, value in changes.items():
        path = _translate(name, mapping, lambda n: _xml_find(root, _parts(n)) is not None)
        el = _xml_find(root, _parts(path))
        if (
            el is None
            and "." not in path
            and mapping.spec.canonical
            and any(f.name == path for f in mapping.kind.fields)
        ):
            el = _xml_add(root, path, mapping)
        if el is None:
            raise PayloadError(
                f"{path}: no such element in this record; give the whole corrected record with --payload FILE"
            )
        if _children(el):
            raise PayloadError(f"{path} holds elements, not a value; name one of them ({path}.0.…)")
        el.text = value
    return etree.tostring(root, encoding="unicode")


_EDITORS = {"xml": _edit_xml, "json": _edit_json, "jsonl": _edit_json, "csv": _edit_csv}


def edit(payload: str, encoding: str, fmt: str, mapping: Mapping, changes: dict[str, str]) -> str:
    """The payload with ``changes`` (name → new value) applied."""
    if encoding == "base64":
        raise PayloadError(
            "the original bytes could not be decoded, so fields cannot be set one by one; "
            "give the whole corrected record with --payload FILE"
        )
    return _EDITORS[fmt](payload, mapping, changes)


# ---------------------------------------------------------------- back to a message


def as_message(payload: str, encoding: str, fmt: str, mapping: Mapping) -> bytes:
    """A one-record message the ingress reader takes as it took the original."""
    if encoding == "base64":
        return base64.b64decode(payload)
    if fmt == "xml":
        k = mapping.kind
        body = payload.split("?>", 1)[1] if payload.lstrip().startswith("<?xml") else payload
        root = f'<{k.batch} xmlns="{k.namespace}">' if mapping.spec.canonical else "<records>"
        end = f"</{k.batch}>" if mapping.spec.canonical else "</records>"
        return ('<?xml version="1.0" encoding="UTF-8"?>' + root + body + end).encode("utf-8")
    enc = mapping.spec.encoding
    try:
        data = payload.encode(enc)
    except UnicodeEncodeError as exc:
        raise PayloadError(
            f"{payload[exc.start : exc.end]!r} cannot be written in {enc.upper()}, the encoding mapping "
            f"{mapping.label} reads; use another character"
        ) from None
    return b"[" + data + b"]" if fmt == "json" else data + b"\n"


# ---------------------------------------------------------------- a plain view


def _xml_view(el, lists: frozenset):
    kids = _children(el)
    if etree.QName(el).localname in lists:
        return [_xml_view(c, lists) for c in kids]
    if not kids:
        return el.text or ""
    return {etree.QName(c).localname: _xml_view(c, lists) for c in kids}


def view(payload: str, encoding: str, fmt: str, mapping: Mapping) -> dict | None:
    """The record as nested dicts and lists of its source names, or None if unreadable."""
    if encoding == "base64":
        return None
    try:
        if fmt == "csv":
            cols, vals = _csv_rows(payload)
            return dict(zip(cols, vals))
        if fmt == "xml":
            v = _xml_view(_xml_root(payload), frozenset(f.name for f in mapping.kind.lists))
            return v if isinstance(v, dict) else None
        obj = json.loads(payload)
        return obj if isinstance(obj, dict) else None
    except (PayloadError, ValueError):
        return None


def flatten(obj, prefix: str = "") -> dict[str, object]:
    """``{"sqr": {"zjhm": ...}}`` → ``{"sqr.zjhm": ...}``; list items by position."""
    out: dict[str, object] = {}
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else None
    if items is None:
        return {prefix: obj}
    for k, v in items:
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out
