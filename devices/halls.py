"""The halls (政务服务大厅) whose devices may send events: ``catalog/halls.yaml``, or the
file named by ``GOVHUB_HALLS``; validated on load, a bad entry fails with file and key.

Each hall has an id (letters, digits, ``-``, ``_``; at most 32), a name, its region
(行政区划代码, 6 digits) and ``api_key_sha256``: the SHA-256 of the key its devices send
in ``X-Api-Key`` (or in the ``HELLO`` line of the line protocol). The key itself never
lives here: ``printf %s "$KEY" | govhub hash-secret --api-key``. A hall without a hash
cannot send yet.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.catalog.authn import sha256_hex
from hub.core import catalogfile
from hub.core.config import CATALOG_DIR, load_settings
from hub.core.errors import ConfigError
from hub.model.codes.divisions import default_table

HALLS_FILE = CATALOG_DIR / "halls.yaml"


class HallsError(ConfigError):
    reason = "halls_invalid"


class Hall(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$")
    name: str
    region_code: str = Field(pattern=r"^\d{6}$")
    api_key_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @field_validator("region_code")
    @classmethod
    def _current_division(cls, v):
        if not default_table().is_current(v):
            raise ValueError(f"{v} is not a current division code (GB/T 2260, catalog/divisions)")
        return v


class HallsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    halls: list[Hall]


def halls_path() -> Path:
    return load_settings().halls_file


def load_halls(path: Path) -> dict[str, Hall]:
    data = catalogfile.load(path, HallsFile, HallsError, "the halls", style="key", unique=[catalogfile.Unique("halls")])
    return {h.id: h for h in data.halls}


_halls_at = catalogfile.per_path(load_halls)


def halls() -> dict[str, Hall]:
    return _halls_at(halls_path())


def hall_by_key(key: str | None) -> Hall | None:
    """The hall whose key this is (compared by SHA-256 in constant time), or None."""
    if not key:
        return None
    digest = sha256_hex(key)
    found = None
    for h in halls().values():
        if h.api_key_sha256 and hmac.compare_digest(h.api_key_sha256, digest):
            found = h
    return found
