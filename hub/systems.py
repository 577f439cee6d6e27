"""The registry of connected systems (``catalog/systems.yaml``), validated on load.

Each entry says who the system is (id, name, level, region) and which mapping reads each
kind and format it sends (``case/csv: dept_b_case_csv``); kinds without an entry are
read with the canonical contract. A bad entry fails with the file and key.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from hub.config import CATALOG_DIR
from hub.dictionary import kinds
from hub.mapping import Mapping, canonical_mapping, get_mapping

SYSTEMS_FILE = CATALOG_DIR / "systems.yaml"


class CatalogError(ValueError):
    pass


class System(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    level: Literal["province", "city", "county", "department"]
    region_code: str
    mappings: dict[str, str] = {}
    uscc_allow: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, v):
        if not v or not all(c.isalnum() or c in "-_" for c in v):
            raise ValueError("system ids use letters, digits, '-' and '_'")
        return v

    @field_validator("mappings")
    @classmethod
    def _mappings(cls, v):
        for key, name in v.items():
            kind, _, fmt = key.partition("/")
            if kind not in kinds() or fmt not in ("xml", "jsonl", "json", "csv"):
                raise ValueError(f"mapping key {key!r} must be <kind>/<format>")
            m = get_mapping(name)
            if m.spec.kind != kind or m.spec.format != fmt:
                raise ValueError(f"mapping {name!r} reads {m.spec.kind}/{m.spec.format}, not {key}")
        return v

    def mapping_for(self, kind: str | None, fmt: str) -> Mapping:
        if kind is None:
            candidates = [k for k in self.mappings if k.endswith("/" + fmt)]
            if len(candidates) != 1:
                raise CatalogError(f"system {self.id} sends {fmt}: say which kind it is with --kind")
            kind = candidates[0].split("/")[0]
        name = self.mappings.get(f"{kind}/{fmt}")
        return get_mapping(name) if name else canonical_mapping(kind, fmt)


class SystemsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    systems: list[System]


def load_systems(path: Path = SYSTEMS_FILE) -> dict[str, System]:
    try:
        data = SystemsFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CatalogError(f"{path}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
    out = {}
    for s in data.systems:
        if s.id in out:
            raise CatalogError(f"{path}: systems: duplicate id {s.id!r}")
        out[s.id] = s
    return out


@lru_cache(maxsize=1)
def systems() -> dict[str, System]:
    return load_systems()


def get_system(system_id: str) -> System:
    try:
        return systems()[system_id]
    except KeyError:
        raise CatalogError(f"unknown system {system_id!r}; known: {', '.join(sorted(systems()))} (see catalog/systems.yaml)") from None
