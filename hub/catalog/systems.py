"""The registry of connected systems (``catalog/systems.yaml``, or the file named by
``GOVHUB_CATALOG``), validated on load; a bad entry fails with the file and key.

Each entry says who the system is (id, name, level, region, its department's credit
code), how the hub reaches it (``endpoint``: an adapter URL), how it proves who it is
(``credentials``: hashes the hub verifies, or references to secrets in the environment
or a file — never a secret itself), what it may do (``may_push`` kinds, for
``push_regions``; ``may_pull`` kinds for its own region), and which mapping reads each
kind and format it sends (``case/csv: dept_b_case_csv``; canonical when absent).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from adapters.registry import ADAPTER_ALIASES
from hub.core import catalogfile
from hub.core.catalogfile import Unique
from hub.core.config import CATALOG_DIR, load_settings
from hub.core.errors import ConfigError
from hub.model.dictionary import kinds
from hub.model.mapping import Mapping, canonical_mapping, get_mapping, get_outbound_mapping

log = logging.getLogger("govhub.catalog")

SYSTEMS_FILE = CATALOG_DIR / "systems.yaml"


class CatalogError(ConfigError):
    reason = "catalog_invalid"


class SecretRef(BaseModel):
    """Where a plaintext secret lives: an environment variable or a file (never inline)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    env: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one(self):
        if bool(self.env) == bool(self.file):
            raise ValueError("a secret reference names exactly one of env or file")
        return self

    def read(self) -> str | None:
        if self.env:
            return os.environ.get(self.env)
        assert self.file is not None  # exactly one of env and file (the validator above)
        try:
            return Path(self.file).read_text(encoding="utf-8").strip()
        except OSError:
            return None


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key_sha256: str | None = None  # REST API key, verified by its SHA-256
    username: str | None = None  # WS-Security UsernameToken user
    password_pbkdf2: str | None = None  # "pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>"
    secret: SecretRef | None = None  # HMAC key / PasswordDigest / outbound auth: needs the plaintext

    @field_validator("api_key_sha256")
    @classmethod
    def _sha(cls, v):
        if v is not None and (len(v) != 64 or any(c not in "0123456789abcdef" for c in v)):
            raise ValueError("api_key_sha256 is the 64-character lower-case hex SHA-256 of the key")
        return v

    @field_validator("password_pbkdf2")
    @classmethod
    def _pbkdf2(cls, v):
        if v is not None:
            parts = v.split("$")
            if len(parts) != 4 or parts[0] != "pbkdf2_sha256" or not parts[1].isdigit():
                raise ValueError(
                    "password_pbkdf2 is 'pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>' (govhub hash-password)"
                )
        return v


class System(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    level: Literal["province", "city", "county", "department"]
    region_code: str
    # the department's 统一社会信用代码: the records it owns (hub.catalog.access); a department
    # without one owns none, a platform (province, city) has none and is trusted for its regions
    dept_code: str | None = None
    endpoint: str | None = None  # adapter URL where the hub reaches this system
    credentials: Credentials = Credentials()
    may_push: tuple[str, ...] = ()
    push_regions: tuple[str, ...] = ()  # division-code prefixes; default: the system's own region
    may_pull: tuple[str, ...] = ()
    report_to: tuple[str, ...] = ()  # peers that receive every record this system's pushes store
    publishes: tuple[str, ...] = ()  # kinds the hub pulls from this system on schedule (item catalogue, libraries)
    receives: tuple[str, ...] = ()  # kinds the hub reports to this system on schedule (融通上报)
    mappings: dict[str, str] = {}
    formats: dict[str, str] = {}  # kind → outbound mapping: the peer's own format (else the canonical contract)
    uscc_allow: tuple[str, ...] = ()

    @field_validator("may_push", "may_pull", "publishes", "receives")
    @classmethod
    def _kinds(cls, v):
        unknown = [k for k in v if k not in kinds()]
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; known: {', '.join(sorted(kinds()))}")
        return v

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v):
        if v is not None:
            scheme = v.split("://", 1)[0].removeprefix("fault+")
            if "://" not in v or scheme not in ADAPTER_ALIASES:
                raise ValueError(f"endpoint must be an adapter URL ({', '.join(sorted(ADAPTER_ALIASES))}://...)")
        return v

    @property
    def region_prefix(self) -> str:
        """A province 320000 covers 32xxxx, a city 320500 covers 3205xx."""
        code = self.region_code
        return code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code

    def covers_region(self, code: str | None) -> bool:
        prefixes = self.push_regions or (self.region_prefix,)
        return bool(code) and any(str(code).startswith(p) for p in prefixes)

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

    @field_validator("formats")
    @classmethod
    def _formats(cls, v):
        for kind, name in v.items():
            if kind not in kinds():
                raise ValueError(f"formats key {kind!r} is not a kind; known: {', '.join(sorted(kinds()))}")
            m = get_outbound_mapping(name)
            if m.spec.kind != kind:
                raise ValueError(f"format {name!r} writes {m.spec.kind}, not {kind}")
        return v

    def mapping_for(self, kind: str | None, fmt: str) -> Mapping:
        if kind is None:
            candidates = [k for k in self.mappings if k.endswith("/" + fmt)]
            if len(candidates) != 1:
                raise CatalogError(f"system {self.id} sends {fmt}: say which kind it is with --kind")
            kind = candidates[0].split("/")[0]
        name = self.mappings.get(f"{kind}/{fmt}")
        return get_mapping(name) if name else canonical_mapping(kind, fmt)


class Administrator(BaseModel):
    """A person who works the quarantine over the REST API (管理员). The hub keeps the
    SHA-256 of their API key only; what they do is traced under their id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    api_key_sha256: str

    # the other models' validators, reused: a classmethod's function (mypy sees the bound method)
    _sha = field_validator("api_key_sha256")(Credentials._sha.__func__)  # type: ignore[attr-defined]
    _id = field_validator("id")(System._id.__func__)  # type: ignore[attr-defined]


class SystemsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    systems: list[System]
    administrators: list[Administrator] = []


def catalog_path() -> Path:
    return load_settings().catalog_file


def _read(path: Path) -> SystemsFile:
    return catalogfile.load(
        path,
        SystemsFile,
        CatalogError,
        "the systems catalogue",
        style="key",
        unique=[Unique("systems"), Unique("administrators")],
    )


def load_systems(path: Path | None = None) -> dict[str, System]:
    path = path or catalog_path()
    out = {s.id: s for s in _read(path).systems}
    known = kinds()
    for s in out.values():
        missing = [p for p in s.report_to if p not in out]
        if missing:
            raise CatalogError(f"{path}: systems.{s.id}.report_to: unknown systems {missing}")
        dept_owned = sorted(k for k in s.may_push if k in known and known[k].owner.dept)
        if s.level == "department" and not s.dept_code and dept_owned:
            # loads (a third party's catalogue keeps working) but fails closed: say so once
            log.warning(
                "%s: systems.%s is a department without dept_code: every %s record it pushes is "
                "quarantined as owner_missing/forbidden_department; add its 统一社会信用代码 as dept_code",
                path,
                s.id,
                "/".join(dept_owned),
            )
    return out


_systems_at = catalogfile.per_path(load_systems)


def systems() -> dict[str, System]:
    return _systems_at(catalog_path())


def administrators() -> dict[str, Administrator]:
    """Read on every call (administrators' requests are few), so a revoked key stops
    working without a restart."""
    return {a.id: a for a in _read(catalog_path()).administrators}


def get_system(system_id: str) -> System:
    try:
        return systems()[system_id]
    except KeyError:
        raise CatalogError(
            f"unknown system {system_id!r}; known: {', '.join(sorted(systems()))} (see {catalog_path()})"
        ) from None
