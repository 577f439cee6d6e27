"""Declarative mappings (``mappings/*.yaml``): an external system's field names, code
tables and formats → the canonical record of one message kind.

A field spec is either a source path (``BJBH``, ``sqr.zjhm``) or a mapping with
``from`` / ``const`` / ``default`` / ``code_table`` / ``transform`` / ``format``; list
fields map a source list with their own ``fields``. With ``canonical: true`` the wire
shape already is the canonical one (validated by the kind's XSD / JSON Schema) and
unlisted fields pass through by name.

Mappings are validated when loaded: unknown canonical fields, code tables or transforms
fail with the file, line and key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from hub.core import catalogfile
from hub.core.config import load_settings
from hub.core.errors import ConfigError, InputError
from hub.model import outmapping
from hub.model.dictionary import Field, Kind, kinds
from hub.model.dictionary import kind as dictionary_kind
from hub.model.outcomes import Reason
from hub.model.outmapping import OutboundMapping, OutboundMappingFile
from hub.model.transforms import TRANSFORMS

Format = Literal["xml", "jsonl", "json", "csv"]


class MappingError(ConfigError):
    """A mapping file is wrong; the message names the file, line and key."""

    reason = "mapping_invalid"


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    from_: str | None = None
    const: Any = None
    default: Any = None
    code_table: str | None = None
    transform: str | None = None
    format: str | None = None
    fields: dict[str, FieldSpec] | None = None

    @field_validator("transform")
    @classmethod
    def _known_transform(cls, v: str | None) -> str | None:
        if v is not None and v not in TRANSFORMS:
            raise ValueError(f"unknown transform {v!r}; known: {', '.join(sorted(TRANSFORMS))}")
        return v


class MappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int
    direction: Literal["inbound"] = "inbound"
    kind: str
    format: Format
    canonical: bool = False
    encoding: str = "utf-8"
    record_element: str | None = None
    fields: dict[str, FieldSpec] = {}
    code_tables: dict[str, dict[str, str]] = {}

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if v not in kinds():
            raise ValueError(f"unknown kind {v!r}; known: {', '.join(sorted(kinds()))}")
        return v


def _normalise_spec(raw: Any) -> Any:
    """Accept the shorthand ``field: SOURCE`` and the ``from`` key (a Python keyword)."""
    if raw is None or isinstance(raw, str):
        return {"from_": raw}
    if isinstance(raw, dict):
        out = {("from_" if k == "from" else k): v for k, v in raw.items()}
        if isinstance(out.get("fields"), dict):
            out["fields"] = {k: _normalise_spec(v) for k, v in out["fields"].items()}
        return out
    return raw


@dataclass(frozen=True)
class Mapping:
    """A loaded, checked mapping, ready to apply."""

    spec: MappingFile
    path: Path | None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        return f"{self.spec.name}@{self.spec.version}"

    @property
    def kind(self) -> Kind:
        return dictionary_kind(self.spec.kind)

    @property
    def record_element(self) -> str:
        return self.spec.record_element or self.kind.record

    def apply(self, source: dict[str, Any]) -> dict[str, Any]:
        """Source record → canonical record (lexical values; types are checked later).

        Raises ``MappingApplyError`` with the canonical field and a reason."""
        return _apply(self.spec, self.spec.fields, self.kind.fields, source, self.spec.canonical)


class MappingApplyError(InputError):
    reason: Reason

    def __init__(self, reason: Reason, field: str, message: str) -> None:
        super().__init__(message, reason=reason)
        self.field = field


_MISSING = object()


def _get(source: dict[str, Any], path: str) -> Any:
    cur: Any = source
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


def _apply(
    mf: MappingFile, specs: dict[str, FieldSpec], fields: tuple[Field, ...], source: dict[str, Any], canonical: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if canonical:
        out.update(source)
    for name, spec in specs.items():
        if spec.const is not None:
            out[name] = spec.const
            continue
        value = _get(source, spec.from_ or name)
        if value is _MISSING or value is None or value == "":
            if spec.default is not None:
                out[name] = spec.default
            else:
                out.pop(name, None)
            continue
        if spec.fields is not None:
            if not isinstance(value, list):
                raise MappingApplyError(
                    Reason.MAPPING_ERROR, name, f"{name}: expected a list in the source field {spec.from_}"
                )
            sub = next(f for f in fields if f.name == name).fields or ()
            value = [_apply(mf, spec.fields, sub, e if isinstance(e, dict) else {}, False) for e in value]
        if spec.code_table is not None:
            table = mf.code_tables[spec.code_table]
            key = str(value).strip()
            if key not in table:
                raise MappingApplyError(
                    Reason.CODE_TABLE_MISS,
                    name,
                    f"{name}: code {key!r} is not in the code table {spec.code_table!r} of mapping {mf.name}; "
                    f"known codes: {', '.join(table)}",
                )
            value = table[key]
        if spec.transform is not None:
            try:
                value = TRANSFORMS[spec.transform](value, spec.format)
            except ValueError as exc:
                raise MappingApplyError(Reason.FIELD_FORMAT, name, f"{name}: {exc}") from None
        out[name] = value
    return out


def _check_against_dictionary(
    mf: MappingFile, specs: dict[str, FieldSpec], fields: tuple[Field, ...], where: list[str]
) -> None:
    by_name = {f.name: f for f in fields}
    for name, spec in specs.items():
        if name not in by_name:
            raise _LoadError(
                [*where, name], f"{name!r} is not a field of {mf.kind} (see schemas/dictionary/{mf.kind}.yaml)"
            )
        if spec.code_table is not None and spec.code_table not in mf.code_tables:
            raise _LoadError(
                [*where, name, "code_table"], f"code table {spec.code_table!r} is not defined under code_tables"
            )
        f = by_name[name]
        if spec.fields is not None:
            if f.type != "list":
                raise _LoadError([*where, name, "fields"], f"{name!r} is not a list field")
            _check_against_dictionary(mf, spec.fields, f.fields or (), [*where, name, "fields"])
        if spec.const is None and spec.from_ is None and not mf.canonical:
            raise _LoadError([*where, name], "needs 'from' or 'const'")


class _LoadError(Exception):
    def __init__(self, keys: list[str], message: str) -> None:
        self.keys, self.message = keys, message


def _prepared(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise catalogfile.Problem([], "a mapping file is a YAML mapping")
    data = dict(raw)
    if isinstance(data.get("fields"), dict):
        data["fields"] = {k: _normalise_spec(v) for k, v in data["fields"].items()}
    return data


def load_mapping(path: Path) -> Mapping | OutboundMapping:
    """Read and check one mapping file, inbound or (``direction: outbound``) outbound: the
    only reader of mapping files (``synth`` too reads them through it)."""
    source = catalogfile.read(path, MappingError, "the mapping", aliases={"from_": "from", "schema_file": "schema"})
    if isinstance(source.data, dict) and source.data.get("direction") == "outbound":
        out = catalogfile.validate(
            source,
            OutboundMappingFile,
            MappingError,
            data=outmapping.prepared(source.data),
            check=lambda mf: outmapping.check(mf, path),
        )
        return OutboundMapping(out, path)
    try:
        data = _prepared(source.data)
    except catalogfile.Problem as p:
        raise source.error(MappingError, p.keys, p.message) from None

    def check(mf: MappingFile) -> None:
        try:
            _check_against_dictionary(mf, mf.fields, dictionary_kind(mf.kind).fields, ["fields"])
        except _LoadError as exc:
            raise catalogfile.Problem(exc.keys, exc.message) from None
        if mf.name != path.stem:
            raise catalogfile.Problem(["name"], f"{mf.name!r} must match the file name")

    return Mapping(catalogfile.validate(source, MappingFile, MappingError, data=data, check=check), path)


def canonical_mapping(kind: str, fmt: str) -> Mapping:
    """Identity mapping for senders that speak the canonical contract directly."""
    k = dictionary_kind(kind)
    mf = MappingFile(name=f"canonical_{kind}_{fmt}", version=k.version, kind=kind, format=fmt, canonical=True)
    return Mapping(mf, None)


def mappings_dir() -> Path:
    """``GOVHUB_MAPPINGS`` names another folder of mapping files (default: ``mappings/``)."""
    return load_settings().mappings_dir


_mappings_at = catalogfile.per_path(lambda folder: {p.stem: load_mapping(p) for p in sorted(folder.glob("*.yaml"))})


def mappings() -> dict[str, Mapping]:
    """The inbound mappings (a system's ``mappings:`` name them)."""
    return {n: m for n, m in _mappings_at(mappings_dir()).items() if isinstance(m, Mapping)}


def outbound_mappings() -> dict[str, OutboundMapping]:
    """The peers' formats (``direction: outbound``; a system's ``formats:`` name them)."""
    return {n: m for n, m in _mappings_at(mappings_dir()).items() if isinstance(m, OutboundMapping)}


def reload_mappings() -> None:
    """Read the mapping files again (after a fix, before reprocessing the quarantine)."""
    _mappings_at.cache_clear()


def get_mapping(name: str) -> Mapping:
    if name.startswith("canonical_"):
        kind, _, fmt = name[len("canonical_") :].rpartition("_")
        return canonical_mapping(kind, fmt)
    if name in outbound_mappings():
        raise MappingError(f"mapping {name!r} is outbound (direction: outbound): name it under a system's formats:")
    try:
        return mappings()[name]
    except KeyError:
        raise MappingError(f"unknown mapping {name!r}; known: {', '.join(sorted(mappings()))}") from None


def get_outbound_mapping(name: str) -> OutboundMapping:
    if name in mappings():
        raise MappingError(
            f"mapping {name!r} reads a sender's format (inbound); formats: names a direction: outbound one"
        )
    try:
        return outbound_mappings()[name]
    except KeyError:
        raise MappingError(
            f"unknown outbound format {name!r}; known: {', '.join(sorted(outbound_mappings())) or 'none'} "
            f"(a mapping file with direction: outbound in {mappings_dir()})"
        ) from None
