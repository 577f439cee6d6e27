"""Who may write the resource libraries' records (人员库, 企业库, 投资项目库): the
``writers`` list of each library kind in ``catalog/precedence.yaml`` (or the file named
by ``GOVHUB_PRECEDENCE``). The same file says which writer wins for which field
(``hub.domains.libraries.precedence``, which reads the merge order); this module reads
only the writers, for the access check (``hub.catalog.access``), which sits below the
domains.

A library kind the file gives no ``writers`` is written by no system: the check fails
closed rather than letting any department overwrite another's people or enterprises.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from hub.core import catalogfile
from hub.core.config import load_settings
from hub.core.errors import ConfigError


class WritersError(ConfigError):
    reason = "precedence_invalid"


class _KindWriters(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)  # default/fields: the merge order's

    writers: tuple[str, ...] = ()

    @field_validator("writers")
    @classmethod
    def _ids(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [s for s in v if not (s and all(c.isalnum() or c in "-_" for c in s))]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a system id (letters, digits, '-' and '_'; no '*')")
        return v


class _WritersFile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    kinds: dict[str, _KindWriters] = {}


def load_writers(path: Path) -> dict[str, frozenset[str]]:
    data = catalogfile.load(path, _WritersFile, WritersError, "the field precedence", style="key")
    return {kind: frozenset(kw.writers) for kind, kw in data.kinds.items()}


_writers_at = catalogfile.per_path(load_writers)


def writers(kind: str) -> frozenset[str]:
    """The systems that may write ``kind`` records (empty: none)."""
    return _writers_at(load_settings().precedence_file).get(kind, frozenset())
