"""Bundle definitions (套餐定义): ``catalog/bundles.yaml`` (or the file named by
``GOVHUB_BUNDLES``) read and checked — per bundle a code, a name and two or more parts,
each an item of an implementing department dispatched to a connected system of the
catalogue. The datasheet is in ``hub.domains.bundles``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.catalog.systems import System, catalog_path, systems
from hub.core import catalogfile
from hub.core.config import CATALOG_DIR, load_settings
from hub.core.errors import ConfigError
from hub.model.codes import uscc
from hub.model.codes.errors import CodeError

BUNDLES_FILE = CATALOG_DIR / "bundles.yaml"


class BundleError(ConfigError):
    """The bundle definitions file (一件事) is wrong."""

    reason = "bundles_invalid"


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    item_code: str = Field(min_length=12, max_length=40)
    item_name: str = Field(min_length=1, max_length=200)
    dept_name: str = Field(min_length=1, max_length=200)
    dept_code: str
    system: str

    @field_validator("dept_code")
    @classmethod
    def _uscc(cls, v):
        try:
            return uscc.validate(v)
        except CodeError as exc:
            raise ValueError(exc.message) from None


class Bundle(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[0-9A-Z-]{1,40}$")
    name: str = Field(min_length=1, max_length=100)
    parts: tuple[Part, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _distinct_items(self):
        codes = [p.item_code for p in self.parts]
        if len(set(codes)) != len(codes):
            raise ValueError("an item appears twice in the bundle")
        return self


class BundlesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bundles: list[Bundle]


def bundles_path() -> Path:
    return load_settings().bundles_file


def load_bundles(path: Path | None = None, known: dict[str, System] | None = None) -> dict[str, Bundle]:
    """Read and check the definitions; ``known`` systems default to the catalogue."""
    path = path or bundles_path()
    known = systems() if known is None else known
    data = catalogfile.load(
        path,
        BundlesFile,
        BundleError,
        "the bundle definitions",
        style="key",
        unique=[catalogfile.Unique("bundles", key="code", noun="code", at="entry")],
    )
    for b in data.bundles:
        for i, p in enumerate(b.parts):
            where = f"{path}: bundles.{b.code}.parts.{i}.system"
            s = known.get(p.system)
            if s is None:
                raise BundleError(f"{where}: unknown system {p.system!r}; known: {', '.join(sorted(known))}")
            if s.dept_code and s.dept_code != p.dept_code:
                raise BundleError(f"{where}: system {p.system} serves department {s.dept_code}, not {p.dept_code}")
    return {b.code: b for b in data.bundles}


# keyed by the catalogue too: the definitions were checked against it
_bundles_at = catalogfile.per_path(lambda path, catalogue: load_bundles(path))


def bundles() -> dict[str, Bundle]:
    return _bundles_at(bundles_path(), str(catalog_path()))
