"""Inputs too large to commit, made at test time: a manifest entry names one with
``generate: {name: ..., args: {...}}``. Each returns the bytes of one message."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
MB = 1024 * 1024


def deep_json(levels: int, wrap: str = "line") -> bytes:
    """Arrays nested ``levels`` deep: as one JSON line, a REST batch, a device body."""
    deep = "[" * levels + "]" * levels
    if wrap == "line":
        return f'{{"bjxx": {{"bjbh": {deep}}}}}\n'.encode()
    if wrap == "batch":
        return f'{{"message_id": "deep", "records": {deep}}}'.encode()
    return deep.encode()


def deep_xml(levels: int) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<cases xmlns="urn:govhub:case:1"><case>'
        + b"<d>" * levels
        + b"x"
        + b"</d>" * levels
        + b"</case></cases>\n"
    )


def huge_xml_text(mb: int, base: str = "xml/sql_injection.xml") -> bytes:
    """A valid case document whose ``conclusion`` holds ``mb`` MiB of text."""
    doc = (HERE / base).read_bytes()
    start = doc.index(b"<conclusion>") + len(b"<conclusion>")
    end = doc.index(b"</conclusion>")
    return doc[:start] + "许可".encode() * (mb * MB // 6) + doc[end:]


def huge_jsonl_field(mb: int, base: str = "json/sql_injection.jsonl") -> bytes:
    obj = json.loads((HERE / base).read_text(encoding="utf-8"))
    obj["bjxx"]["yj"] = "x" * (mb * MB)
    return json.dumps(obj).encode() + b"\n"


def array_field(n: int, base: str, field: str) -> bytes:
    """A REST batch whose first record has ``field`` = a list of ``n`` numbers."""
    batch = json.loads((HERE / base).read_text(encoding="utf-8"))
    batch["records"][0][field] = [0] * n
    return json.dumps(batch, separators=(",", ":")).encode()


def oversized_body(mb: int, base: str) -> bytes:
    """``base`` padded past the ingress body limit with trailing whitespace."""
    return (HERE / base).read_bytes() + b" " * (mb * MB)


def soap_huge_header(mb: int, base: str = "soap/sql_and_script_injection.xml") -> bytes:
    """An envelope whose Header carries an extra block of ``mb`` MiB (not mustUnderstand)."""
    env = (HERE / base).read_bytes()
    block = b'<pad:Padding xmlns:pad="urn:example:padding">' + b"A" * (mb * MB) + b"</pad:Padding>"
    return env.replace(b"</soap:Header>", block + b"</soap:Header>", 1)


GENERATORS = {
    f.__name__: f
    for f in (deep_json, deep_xml, huge_xml_text, huge_jsonl_field, array_field, oversized_body, soap_huge_header)
}
