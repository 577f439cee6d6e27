"""Declared field precedence of the resource libraries (字段优先级):
``catalog/precedence.yaml``, or the file named by ``GOVHUB_PRECEDENCE``.

Datasheet
---------
Shape
    ``kinds: {<kind>: {default: [source, ...], fields: {<field>: [source, ...]}}}``;
    sources run from the most to the least authoritative, ``*`` stands for every source
    not named. ``default`` (``["*"]`` when absent) covers the fields not listed.
Validation at load
    Unknown keys, unknown kinds, kinds whose key is scoped by source (cases: merging
    across senders makes no sense), unknown fields, key fields and ``source_time`` (not
    merged), empty lists, repeated sources and more than one ``*`` are refused with the
    file and the key.
Ranking
    ``rank(field, source)``: 0 for the first source; an unnamed source ranks where ``*``
    stands, or below every named one without ``*``. ``wins`` decides whether an offered
    value replaces a kept one: a strictly higher rank wins; at equal rank the newer
    ``source_time`` wins (a value without a time is not older than anything).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from hub.core import catalogfile
from hub.core.config import CATALOG_DIR, load_settings
from hub.core.errors import ConfigError
from hub.model.dictionary import kinds

PRECEDENCE_FILE = CATALOG_DIR / "precedence.yaml"
ANY = "*"


class PrecedenceError(ConfigError):
    """The precedence file is malformed; the message names the file and the key."""

    reason = "precedence_invalid"


class KindPrecedence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: tuple[str, ...] = (ANY,)
    fields: dict[str, tuple[str, ...]] = {}
    writers: tuple[str, ...] = ()  # who may push this kind: read by hub.catalog.writers (the access check)

    def order(self, field: str) -> tuple[str, ...]:
        return self.fields.get(field, self.default)

    def rank(self, field: str, source: str) -> int:
        order = self.order(field)
        if source in order:
            return order.index(source)
        return order.index(ANY) if ANY in order else len(order)

    def wins(
        self, field: str, offered: str, offered_time: datetime | None, kept: str, kept_time: datetime | None
    ) -> bool:
        ro, rk = self.rank(field, offered), self.rank(field, kept)
        if ro != rk:
            return ro < rk
        return offered_time is None or kept_time is None or offered_time >= kept_time


class PrecedenceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: dict[str, KindPrecedence]


class Precedence:
    """The validated precedence of every merged kind."""

    def __init__(self, by_kind: dict[str, KindPrecedence], path: Path):
        self.by_kind, self.path = by_kind, path

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.by_kind)

    def of(self, kind: str) -> KindPrecedence:
        try:
            return self.by_kind[kind]
        except KeyError:
            raise PrecedenceError(f"{self.path}: kinds: no precedence declared for {kind!r}") from None


def precedence_path() -> Path:
    return load_settings().precedence_file


def _check_sources(where: str, sources: tuple[str, ...]) -> None:
    if not sources:
        raise PrecedenceError(f"{where}: name at least one source (or '*')")
    repeated = sorted({s for s in sources if sources.count(s) > 1})
    if repeated:
        raise PrecedenceError(f"{where}: {', '.join(repeated)} listed more than once")
    bad = [s for s in sources if s != ANY and not (s and all(c.isalnum() or c in "-_" for c in s))]
    if bad:
        raise PrecedenceError(f"{where}: {bad[0]!r} is not a system id (letters, digits, '-' and '_') or '*'")


def load_precedence(path: Path | None = None) -> Precedence:
    path = path or precedence_path()
    data = catalogfile.load(path, PrecedenceFile, PrecedenceError, "the field precedence", style="key")
    known = kinds()
    for name, kp in data.kinds.items():
        where = f"{path}: kinds.{name}"
        k = known.get(name)
        if k is None:
            raise PrecedenceError(f"{where}: unknown kind; known: {', '.join(sorted(known))}")
        if k.key_scoped_by_source:
            raise PrecedenceError(
                f"{where}: {name} records belong to their sender (key scoped by source); they are not merged"
            )
        _check_sources(f"{where}.default", kp.default)
        names = {f.name for f in k.fields}
        for field, sources in kp.fields.items():
            if field not in names:
                raise PrecedenceError(f"{where}.fields.{field}: unknown field of {name}")
            if field in k.key or field == "source_time":
                raise PrecedenceError(f"{where}.fields.{field}: key fields and source_time are not merged")
            _check_sources(f"{where}.fields.{field}", sources)
    return Precedence(dict(data.kinds), path)


_precedence_at = catalogfile.per_path(load_precedence)


def precedence() -> Precedence:
    """The precedence in force (cached per file path)."""
    return _precedence_at(precedence_path())
