"""Outbound mappings (``direction: outbound`` in ``mappings/*.yaml``): a canonical record →
the rows of a peer's published format (docs/outbound-formats.md).

The file is read by the one mapping loader (``hub.model.mapping.load_mapping``), which
hands a file with ``direction: outbound`` to ``OutboundMappingFile`` and ``check`` here.
A row spec names the peer's row (element, JSON key or CSV line), optionally ``each`` (one
row per element of a canonical list field: nesting becomes child rows) and ``when`` (only
if that canonical field has a value). A field spec maps one peer field from a canonical
field (``from``; in an ``each`` row the element's fields, and ``record.<field>`` for the
record's), a constant, or a row value the hub supplies:

``$batch_no`` the batch number, ``$sync_type`` new / update / delete, ``$sync_time`` when
the batch is written, ``$data_source`` ``GOVHUB_DATA_SOURCE_CODE``, ``$row_id`` the row's id
(the peer's receipts name it), ``$seq`` the row's number among the record's rows of its kind.

then a code table (canonical → the peer's code) and a value format (``hub.model.outtransforms``).
A value the peer's format cannot express (no code, a required field empty, too long, a
format that does not fit) raises ``OutboundDefect``: the record is a delivery defect with
that reason, never dropped.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from hub.core import catalogfile
from hub.core.config import SCHEMAS_DIR
from hub.model.dictionary import Field, Kind, kinds
from hub.model.dictionary import kind as dictionary_kind
from hub.model.outtransforms import OUT_TRANSFORMS

META = ("$batch_no", "$sync_type", "$sync_time", "$data_source", "$row_id", "$seq")
SyncType = Literal["new", "update", "delete"]


class OutFieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    from_: str | None = None
    const: str | None = None
    default: str | None = None
    code_table: str | None = None
    transform: str | None = None
    format: str | None = None
    required: bool = False
    max_length: int | None = None

    @field_validator("transform")
    @classmethod
    def _known_transform(cls, v: str | None) -> str | None:
        if v is not None and v not in OUT_TRANSFORMS:
            raise ValueError(f"unknown outbound transform {v!r}; known: {', '.join(sorted(OUT_TRANSFORMS))}")
        return v


class RowSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str | None = None
    each: str | None = None
    when: str | None = None
    fields: dict[str, OutFieldSpec]


class DocumentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str = "rows"
    namespace: str | None = None
    header: dict[str, OutFieldSpec] = {}  # attributes of the root (XML) / top-level keys (JSON): $ values, const


class ReceiptSpec(BaseModel):
    """Where the peer's answer says what became of each row."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    row: str = "receipt"
    row_id: str = "row_id"
    status: str = "status"
    accepted: tuple[str, ...] = ("accepted",)
    code: str = "code"
    message: str = "message"


class OutboundMappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int
    direction: Literal["outbound"]
    kind: str
    format: Literal["xml", "json", "csv"]
    encoding: str = "utf-8"
    schema_file: str | None = None
    operation: str | None = None
    document: DocumentSpec = DocumentSpec()
    rows: list[RowSpec]
    delete_when: dict[str, list[str]] = {}
    code_tables: dict[str, dict[str, str]] = {}
    receipts: ReceiptSpec | None = None

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if v not in kinds():
            raise ValueError(f"unknown kind {v!r}; known: {', '.join(sorted(kinds()))}")
        return v

    @field_validator("encoding")
    @classmethod
    def _codec(cls, v: str) -> str:
        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown encoding {v!r} (e.g. utf-8, gbk, gb18030)") from None
        return v


def normalise_spec(raw: Any) -> Any:
    if raw is None or isinstance(raw, str):
        return {"from_": raw}
    if isinstance(raw, dict):
        return {("from_" if k == "from" else k): v for k, v in raw.items()}
    return raw


def prepared(data: dict[str, Any]) -> dict[str, Any]:
    """The shorthand ``PEER: canonical_field`` and the keys ``from``/``schema`` (taken names in Python)."""
    data = dict(data)
    if "schema" in data:
        data["schema_file"] = data.pop("schema")
    for row in data.get("rows") or []:
        if isinstance(row, dict) and isinstance(row.get("fields"), dict):
            row["fields"] = {k: normalise_spec(v) for k, v in row["fields"].items()}
    doc = data.get("document")
    if isinstance(doc, dict) and isinstance(doc.get("header"), dict):
        doc["header"] = {k: normalise_spec(v) for k, v in doc["header"].items()}
    return data


def _field(k: Kind, name: str) -> Field | None:
    return next((f for f in k.fields if f.name == name), None)


def _check_source(mf: OutboundMappingFile, k: Kind, row: RowSpec, spec: OutFieldSpec, where: list[Any]) -> None:
    src = spec.from_
    if src is None:
        if spec.const is None:
            raise catalogfile.Problem(where, "needs 'from' or 'const'")
        return
    if src.startswith("$"):
        if src not in META:
            raise catalogfile.Problem(where, f"{src!r} is not a row value; known: {', '.join(META)}")
        return
    names = {f.name for f in k.fields}
    if row.each:
        sub = _field(k, row.each)
        names |= {f.name for f in ((sub.fields or ()) if sub is not None else ())}
    name = src.removeprefix("record.")
    if name not in names:
        raise catalogfile.Problem(where, f"{src!r} is not a field of {mf.kind} (see schemas/dictionary/{mf.kind}.yaml)")


def check(mf: OutboundMappingFile, path: Path) -> None:
    """The file's own checks, beyond its shape (raises ``catalogfile.Problem``)."""
    if mf.name != path.stem:
        raise catalogfile.Problem(["name"], f"{mf.name!r} must match the file name")
    k = dictionary_kind(mf.kind)
    if not mf.rows:
        raise catalogfile.Problem(["rows"], "an outbound mapping writes at least one kind of row")
    if mf.format == "csv" and len(mf.rows) != 1:
        raise catalogfile.Problem(["rows"], "a CSV format has one kind of row (one file per row kind)")
    seen: set[str] = set()
    for i, row in enumerate(mf.rows):
        if row.name in seen:
            raise catalogfile.Problem(["rows", i, "name"], f"row {row.name!r} is declared twice")
        seen.add(row.name)
        if row.each is not None:
            f = _field(k, row.each)
            if f is None or f.type != "list":
                raise catalogfile.Problem(["rows", i, "each"], f"{row.each!r} is not a list field of {mf.kind}")
        if row.when is not None and _field(k, row.when) is None:
            raise catalogfile.Problem(["rows", i, "when"], f"{row.when!r} is not a field of {mf.kind}")
        for name, spec in row.fields.items():
            where: list[Any] = ["rows", i, "fields", name]
            _check_source(mf, k, row, spec, where)
            if spec.code_table is not None and spec.code_table not in mf.code_tables:
                raise catalogfile.Problem(
                    [*where, "code_table"], f"code table {spec.code_table!r} is not defined under code_tables"
                )
    for name, spec in mf.document.header.items():
        if spec.const is None and (spec.from_ or "") not in META:
            raise catalogfile.Problem(["document", "header", name], f"a header value is a $ value or a const: {META}")
    for name in mf.delete_when:
        if _field(k, name) is None:
            raise catalogfile.Problem(["delete_when", name], f"{name!r} is not a field of {mf.kind}")
    if mf.schema_file is not None and schema_path(mf.schema_file, path) is None:
        raise catalogfile.Problem(
            ["schema"], f"schema {mf.schema_file!r} is found neither next to the mapping nor under {SCHEMAS_DIR}"
        )


def schema_path(name: str, mapping_path: Path | None) -> Path | None:
    """The peer's schema: next to the mapping file first, then under ``schemas/``."""
    for base in ([mapping_path.parent] if mapping_path else []) + [SCHEMAS_DIR]:
        p = (base / name).resolve()
        if p.is_file():
            return p
    return None


class OutboundDefect(Exception):
    """A record the peer's format cannot express: the canonical or peer field and why."""

    def __init__(self, reason: str, field: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.field, self.message = reason, field, message


@dataclass(frozen=True)
class Row:
    name: str  # the row spec's name: element, JSON key
    row_id: str
    values: dict[str, str]


@dataclass(frozen=True)
class OutboundMapping:
    """A loaded, checked outbound mapping, ready to write."""

    spec: OutboundMappingFile
    path: Path | None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        return f"{self.spec.name}@{self.spec.version}"

    @property
    def schema(self) -> Path | None:
        return schema_path(self.spec.schema_file, self.path) if self.spec.schema_file else None

    def is_delete(self, record: dict[str, Any]) -> bool:
        """Whether the record goes out as a deletion (e.g. a case 作废)."""
        return any(str(record.get(f)) in values for f, values in self.spec.delete_when.items())

    def header(self, meta: dict[str, Any]) -> dict[str, str]:
        return {n: _value(self.spec, n, s, {}, meta) for n, s in self.spec.document.header.items()}

    def rows(self, record: dict[str, Any], meta: dict[str, Any], row_key: str) -> list[Row]:
        """The peer's rows for one record; ``meta`` holds the ``$`` values but ``$row_id``/``$seq``.

        Raises ``OutboundDefect`` when the record cannot be expressed."""
        out: list[Row] = []
        for rs in self.spec.rows:
            if rs.when is not None and record.get(rs.when) in (None, "", []):
                continue
            elements: list[Any] = (record.get(rs.each) or []) if rs.each else [None]
            for seq, element in enumerate(elements, start=1):
                ctx = {**record, **(element or {}), "record": record} if rs.each else record
                row_id = f"{row_key}.{len(out) + 1}"
                m = {**meta, "$row_id": row_id, "$seq": seq}
                out.append(Row(rs.name, row_id, {n: _value(self.spec, n, s, ctx, m) for n, s in rs.fields.items()}))
        return out


_MISSING = object()


def _get(ctx: dict[str, Any], path: str) -> Any:
    cur: Any = ctx
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


def _value(mf: OutboundMappingFile, name: str, spec: OutFieldSpec, ctx: dict[str, Any], meta: dict[str, Any]) -> str:
    if spec.const is not None:
        return spec.const
    src = spec.from_ or name
    value = meta.get(src, _MISSING) if src.startswith("$") else _get(ctx, src)
    if value is _MISSING or value is None or value == "":
        if spec.default is not None:
            return spec.default
        if spec.required:
            raise OutboundDefect("field_required", name, f"{name} ({src}) is required by {mf.name} but empty")
        return ""
    if spec.code_table is not None:
        table = mf.code_tables[spec.code_table]
        key = str(value).strip()
        if key not in table:
            raise OutboundDefect(
                "code_table_miss",
                name,
                f"{name} ({src}): {key!r} has no code in {mf.name}'s table {spec.code_table!r} "
                f"(it has {', '.join(table)}); add it to the mapping or correct the record",
            )
        value = table[key]
    if spec.transform is not None:
        try:
            value = OUT_TRANSFORMS[spec.transform](value, spec.format)
        except ValueError as exc:
            raise OutboundDefect("field_format", name, f"{name} ({src}): {exc}") from None
    text = str(value) if not isinstance(value, bool) else ("1" if value else "0")
    if spec.max_length is not None and len(text) > spec.max_length:
        raise OutboundDefect(
            "field_too_long", name, f"{name} ({src}): {len(text)} characters, {mf.name} allows {spec.max_length}"
        )
    return text
