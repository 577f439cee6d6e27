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
import os
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.catalog.access import sha256_hex
from hub.model.codes.divisions import default_table
from hub.core.config import CATALOG_DIR
from hub.core.errors import ConfigError

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
    return Path(os.environ.get("GOVHUB_HALLS") or HALLS_FILE)


def load_halls(path: Path) -> dict[str, Hall]:
    try:
        data = HallsFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise HallsError(f"{path}: {exc}") from None
    except ValidationError as exc:
        err = exc.errors(include_input=False)[0]
        raise HallsError(f"{path}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
    out: dict[str, Hall] = {}
    for h in data.halls:
        if h.id in out:
            raise HallsError(f"{path}: halls: duplicate id {h.id!r}")
        out[h.id] = h
    return out


@lru_cache(maxsize=4)
def _halls_at(path: str) -> dict[str, Hall]:
    return load_halls(Path(path))


def halls() -> dict[str, Hall]:
    return _halls_at(str(halls_path()))


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
