"""The canonical data dictionary (数据字典): one YAML file per message kind in
``schemas/dictionary/``.

It is the single source for the database columns (``hub.db.tables``), the XSD and JSON
Schema each kind is validated with (``hub.model.schemagen``), the Chinese labels reports use
and which fields hold personal data. A bad file fails at load with the file and key.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from hub.core.config import SCHEMAS_DIR
from hub.core.errors import ConfigError

DICTIONARY_DIR = SCHEMAS_DIR / "dictionary"

FieldType = Literal["string", "text", "code", "int", "decimal", "date", "datetime", "enum", "bool", "list"]
PiiKind = Literal["id_no", "name", "phone", "address", "free_text"]


class Field(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str
    type: FieldType
    required: bool = False
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None
    value_labels: dict[str, str] | None = None
    pii: PiiKind | None = None
    record: str | None = None  # element name of one entry, for lists
    fields: tuple[Field, ...] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Field:
        if self.type == "enum" and not self.values:
            raise ValueError(f"enum field {self.name!r} needs 'values'")
        if self.type == "list" and not (self.fields and self.record):
            raise ValueError(f"list field {self.name!r} needs 'record' and 'fields'")
        if self.type != "list" and self.fields:
            raise ValueError(f"only list fields have sub-fields ({self.name!r})")
        return self

    @property
    def scalar(self) -> bool:
        return self.type != "list"


class Owner(BaseModel):
    """Whose a record is, so who may write it (``hub.catalog.access.authorise_record``):
    ``dept`` names the field holding the owning department's 统一社会信用代码 (a
    department system writes only its own), ``region`` the division the record belongs to
    (a system writes only in its regions); ``writers`` says the record is owned by the
    source systems that ``catalog/precedence.yaml`` lists as the kind's ``writers``
    (the resource libraries). A record lacking an owner field is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dept: str | None = None
    region: str | None = None
    writers: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(f for f in (self.dept, self.region) if f)

    @model_validator(mode="after")
    def _someone(self) -> Owner:
        if not (self.fields or self.writers):
            raise ValueError("name the owner: dept and/or region fields, or writers: true")
        return self


class Kind(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    label: str
    version: int
    record: str
    batch: str
    key: tuple[str, ...]
    key_scoped_by_source: bool
    owner: Owner  # every kind names who owns its records
    fields: tuple[Field, ...]

    @model_validator(mode="after")
    def _key_fields_exist(self) -> Kind:
        names = {f.name for f in self.fields}
        missing = [k for k in self.key if k not in names]
        if missing:
            raise ValueError(f"key fields {missing} are not declared")
        unknown = [f for f in self.owner.fields if f not in names or not self.field(f).scalar]
        if unknown:
            raise ValueError(f"owner fields {unknown} are not declared scalar fields")
        for k in self.key:
            if not self.field(k).required:
                raise ValueError(f"key field {k!r} must be required")
        return self

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def scalars(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.scalar)

    @property
    def lists(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.scalar)

    @property
    def namespace(self) -> str:
        return f"urn:govhub:{self.kind}:{self.version}"

    @property
    def schema_version(self) -> str:
        return f"{self.kind}/{self.version}"


class DictionaryError(ConfigError):
    """A dictionary file is malformed; the message names the file and the key."""

    reason = "dictionary_invalid"


def load_kind(path: Path) -> Kind:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Kind.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DictionaryError(f"{path}: {where}: {first['msg']}") from None
    except yaml.YAMLError as exc:
        raise DictionaryError(f"{path}: {exc}") from None


@lru_cache(maxsize=1)
def kinds() -> dict[str, Kind]:
    out = {}
    for path in sorted(DICTIONARY_DIR.glob("*.yaml")):
        k = load_kind(path)
        if k.kind != path.stem:
            raise DictionaryError(f"{path}: kind: {k.kind!r} must match the file name")
        out[k.kind] = k
    return out


def kind(name: str) -> Kind:
    try:
        return kinds()[name]
    except KeyError:
        raise DictionaryError(f"unknown message kind {name!r}; known: {', '.join(sorted(kinds()))}") from None
