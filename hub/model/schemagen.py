"""Writes the published contracts of each message kind from the data dictionary:
``schemas/xsd/<kind>.xsd`` (XSD 1.0, for XML and the SOAP WSDL) and
``schemas/json/<kind>.schema.json`` (JSON Schema 2020-12, for JSON bodies).

The files are generated, committed, and checked for drift by the tests, so senders read
the same contract the hub validates with. Run ``govhub schemas build`` after editing
``schemas/dictionary/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lxml import etree

from hub.core.config import SCHEMAS_DIR
from hub.model.dictionary import Field, Kind, kinds

XS = "http://www.w3.org/2001/XMLSchema"
TEXT_MAX = 20000  # bounds free text: a huge field is refused at the contract, not in the database

DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
DATETIME_PATTERN = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+\-]\d{2}:\d{2})?"
# Batch-level attributes every sender may set; the message id makes redelivery idempotent.
BATCH_ATTRIBUTES = ("message_id", "batch_no", "source_system", "sync_time")


def xsd_path(kind: str) -> Path:
    return SCHEMAS_DIR / "xsd" / f"{kind}.xsd"


def json_schema_path(kind: str) -> Path:
    return SCHEMAS_DIR / "json" / f"{kind}.schema.json"


def _x(parent: Any, tag: str, **attrs: object) -> Any:
    el = etree.SubElement(parent, f"{{{XS}}}{tag}")
    for k, v in attrs.items():
        el.set(k, str(v))
    return el


def _annotate(el: Any, f: Field) -> None:
    doc = _x(_x(el, "annotation"), "documentation")
    doc.text = f.label


def _simple_type(parent: Any, f: Field) -> None:
    st = _x(parent, "simpleType")
    if f.type == "enum":
        r = _x(st, "restriction", base="xs:string")
        for v in f.values or ():
            _x(r, "enumeration", value=v)
        return
    if f.type in ("string", "text"):
        r = _x(st, "restriction", base="xs:string")
        if f.required:
            _x(r, "minLength", value=1)
        _x(r, "maxLength", value=int(f.max or TEXT_MAX))
        return
    if f.type == "code":
        r = _x(st, "restriction", base="xs:string")
        _x(r, "pattern", value=f"[0-9A-Za-z]{{{int(f.min or 1)},{int(f.max or 64)}}}")
        return
    if f.type in ("int", "decimal"):
        r = _x(st, "restriction", base="xs:integer" if f.type == "int" else "xs:decimal")
        if f.min is not None:
            _x(r, "minInclusive", value=int(f.min) if f.type == "int" else f.min)
        if f.max is not None:
            _x(r, "maxInclusive", value=int(f.max) if f.type == "int" else f.max)
        return
    if f.type in ("date", "datetime"):
        r = _x(st, "restriction", base="xs:string")
        _x(r, "pattern", value=DATE_PATTERN if f.type == "date" else DATETIME_PATTERN)
        return
    if f.type == "bool":
        _x(st, "restriction", base="xs:boolean")
        return
    raise ValueError(f.type)


def _complex_type(schema: Any, name: str, fields: tuple[Field, ...]) -> None:
    ct = _x(schema, "complexType", name=name)
    group = _x(ct, "all")  # any order: older systems do not keep element order
    for f in fields:
        el = _x(group, "element", name=f.name, minOccurs=1 if f.required else 0)
        _annotate(el, f)
        if f.scalar:
            _simple_type(el, f)
        else:
            record = f.record
            assert record is not None  # a list field names its entry element (Field._consistent)
            wrapper = _x(el, "complexType")
            seq = _x(wrapper, "sequence")
            _x(seq, "element", name=record, type=_type_name(record), minOccurs=0, maxOccurs="unbounded")
            _complex_type(schema, _type_name(record), f.fields or ())


def _type_name(record: str) -> str:
    return "".join(p.capitalize() for p in record.split("_")) + "Type"


def build_xsd(k: Kind) -> bytes:
    nsmap = {"xs": XS, None: k.namespace}
    schema = etree.Element(f"{{{XS}}}schema", nsmap=nsmap)
    schema.set("targetNamespace", k.namespace)
    schema.set("elementFormDefault", "qualified")
    schema.set("version", str(k.version))
    doc = _x(_x(schema, "annotation"), "documentation")
    doc.text = f"{k.label} ({k.kind}) v{k.version} — generated from schemas/dictionary/{k.kind}.yaml; do not edit."
    batch = _x(schema, "element", name=k.batch)
    bct = _x(batch, "complexType")
    seq = _x(bct, "sequence")
    _x(seq, "element", ref=k.record, minOccurs=0, maxOccurs="unbounded")
    for a in BATCH_ATTRIBUTES:
        _x(bct, "attribute", name=a, type="xs:string")
    _x(schema, "element", name=k.record, type=_type_name(k.record))
    _complex_type(schema, _type_name(k.record), k.fields)
    xsd: bytes = etree.tostring(schema, pretty_print=True, xml_declaration=True, encoding="UTF-8")
    return xsd


def _json_field(f: Field) -> dict[str, Any]:
    if f.type == "enum":
        return {"enum": list(f.values or ()), "description": f.label}
    if f.type in ("string", "text", "code"):
        s: dict[str, Any] = {"type": "string", "description": f.label, "maxLength": int(f.max or TEXT_MAX)}
        if f.type == "code":
            s["pattern"] = f"^[0-9A-Za-z]{{{int(f.min or 1)},{int(f.max or 64)}}}$"
        elif f.required:
            s["minLength"] = 1
        return s
    if f.type in ("int", "decimal"):
        s = {"type": "integer" if f.type == "int" else ["number", "string"], "description": f.label}
        if f.type == "decimal":
            # decimals may travel as strings to keep precision (e.g. "120.50")
            non_negative = f.min is not None and f.min >= 0
            number = {"type": "number", **({"minimum": f.min} if f.min is not None else {})}
            string = {"type": "string", "pattern": r"^\d+(\.\d+)?$" if non_negative else r"^-?\d+(\.\d+)?$"}
            s = {"anyOf": [number, string], "description": f.label}
        if f.min is not None and f.type == "int":
            s["minimum"] = int(f.min)
        if f.max is not None and f.type == "int":
            s["maximum"] = int(f.max)
        return s
    if f.type in ("date", "datetime"):
        return {
            "type": "string",
            "pattern": "^" + (DATE_PATTERN if f.type == "date" else DATETIME_PATTERN) + "$",
            "description": f.label,
        }
    if f.type == "bool":
        return {"type": "boolean", "description": f.label}
    if f.type == "list":
        return {"type": "array", "description": f.label, "items": _json_object(f.fields or ())}
    raise ValueError(f.type)


def _json_object(fields: tuple[Field, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {f.name: _json_field(f) for f in fields},
        "required": [f.name for f in fields if f.required],
    }


def build_json_schema(k: Kind) -> bytes:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": k.namespace,
        "title": f"{k.label} ({k.kind}) v{k.version}",
        "description": f"Generated from schemas/dictionary/{k.kind}.yaml; do not edit.",
        **_json_object(k.fields),
    }
    return (json.dumps(schema, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def generated() -> dict[Path, bytes]:
    out = {}
    for k in kinds().values():
        out[xsd_path(k.kind)] = build_xsd(k)
        out[json_schema_path(k.kind)] = build_json_schema(k)
    return out


def write_all() -> list[Path]:
    written = []
    for path, content in generated().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
            written.append(path)
    return written
