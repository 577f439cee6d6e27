"""行政区划代码 (GB/T 2260): a versioned table of administrative division codes.

- 6 digits = province (2) + prefecture (2) + county (2); see docs/standards.md.
- Loaded from data, never compiled in: ``catalog/divisions/gb2260.csv`` (generated from
  python-stdnum's loc.dat by ``catalog/divisions/build_from_stdnum.py``) merged with
  ``catalog/divisions/supplement.csv`` (codes the source lacks; a row with the same
  code and start year replaces the generated one).
- History is kept: a code may have several periods (renames, reuse). ID numbers and
  credit codes carry the code that was valid when they were issued, so validators ask
  "did this code ever exist" (``exists(code)``), not "does it exist now".
- Years are inclusive; ``valid_from`` None = before records begin, ``valid_to`` None =
  still valid.
- ``table.version`` (``gb2260-<latest year>-<hash>``) identifies the data a record was
  checked against, for lineage.
- Lookups on the hot path are set membership: ``code in table.ever_codes``.

Use::

    from hub.model.codes.divisions import default_table, validate
    t = default_table()
    t.full_name("320581")          # '江苏省苏州市常熟市'
    t.exists("320502")             # True  (沧浪区, abolished 2012)
    t.exists("320502", year=2015)  # False
    validate("320509")             # '320509', or CodeError('division_unknown', ...)
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hub.model.codes.errors import CodeError, mask
from hub.model.outcomes import Reason

__all__ = ["Division", "DivisionTable", "default_table", "validate", "DEFAULT_DIR"]

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DIR = REPO_ROOT / "catalog" / "divisions"
MAIN_FILE = "gb2260.csv"
SUPPLEMENT_FILE = "supplement.csv"
LEVELS = ("province", "prefecture", "county")
_COLUMNS = ("code", "name", "level", "parent", "valid_from", "valid_to")

# Prefecture-level placeholders that group counties but are not part of a place's name:
# 110101 is 北京市东城区, not 北京市市辖区东城区.
_PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政单位", "省直辖行政单位", "自治区直辖县级行政单位"})


def _level_of(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def _is_code(code: object) -> bool:
    return isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()


@dataclass(frozen=True, slots=True)
class Division:
    """One period of one code: the name it had from ``valid_from`` to ``valid_to``."""

    code: str
    name: str
    level: str
    parent: str | None
    valid_from: int | None
    valid_to: int | None

    def valid_in(self, year: int) -> bool:
        return (self.valid_from is None or self.valid_from <= year) and (self.valid_to is None or year <= self.valid_to)

    @property
    def is_current(self) -> bool:
        return self.valid_to is None


class DivisionTable:
    """All periods of all division codes, indexed for per-record lookups."""

    def __init__(self, divisions: Iterable[Division], version: str = "unversioned", source: str = "") -> None:
        periods: dict[str, list[Division]] = {}
        for d in divisions:
            periods.setdefault(d.code, []).append(d)
        # Oldest first; the last period is the current (or latest) one.
        self._periods: dict[str, tuple[Division, ...]] = {
            code: tuple(sorted(ps, key=lambda d: (d.valid_to is None, d.valid_to or 0, d.valid_from or 0)))
            for code, ps in periods.items()
        }
        self.ever_codes: frozenset[str] = frozenset(self._periods)
        self.current_codes: frozenset[str] = frozenset(
            code for code, ps in self._periods.items() if ps[-1].valid_to is None
        )
        self.version = version
        self.source = source

    # -- loading -----------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> DivisionTable:
        """Load a directory (``gb2260.csv`` + optional ``supplement.csv``) or one CSV file.

        A malformed row fails here with file and line, not on the first record.
        """
        path = Path(path) if path is not None else DEFAULT_DIR
        files = [path / MAIN_FILE, path / SUPPLEMENT_FILE] if path.is_dir() else [path]
        files = [f for f in files if f.name != SUPPLEMENT_FILE or f.exists()]

        merged: dict[tuple[str, int | None], Division] = {}
        digest = hashlib.sha256()
        for f in files:
            raw = f.read_bytes()
            digest.update(raw)
            for d in _parse(f, raw.decode("utf-8-sig")):
                merged[(d.code, d.valid_from)] = d
        years = [y for d in merged.values() for y in (d.valid_from, d.valid_to) if y is not None]
        version = f"gb2260-{max(years, default=0)}-{digest.hexdigest()[:8]}"
        return cls(merged.values(), version=version, source=", ".join(str(f) for f in files))

    # -- lookups -----------------------------------------------------------------------

    def __contains__(self, code: object) -> bool:
        return code in self.ever_codes

    def __len__(self) -> int:
        return len(self._periods)

    def __repr__(self) -> str:
        return f"<DivisionTable {self.version}: {len(self.ever_codes)} codes, {len(self.current_codes)} current>"

    def get(self, code: str, year: int | None = None) -> Division | None:
        """The period valid in ``year``; without a year the current or last one."""
        periods = self._periods.get(code)
        if not periods:
            return None
        if year is None:
            return periods[-1]
        for d in reversed(periods):
            if d.valid_in(year):
                return d
        return None

    def history(self, code: str) -> tuple[Division, ...]:
        """Every period of ``code``, oldest first (empty if unknown)."""
        return self._periods.get(code, ())

    def exists(self, code: str, year: int | None = None) -> bool:
        """Without ``year``: the code exists now or existed at any time. With it: valid that year."""
        if year is None:
            return code in self.ever_codes
        return any(d.valid_in(year) for d in self._periods.get(code, ()))

    def is_current(self, code: str) -> bool:
        return code in self.current_codes

    def province_of(self, code: str) -> str:
        """``'320581'`` → ``'320000'`` (by structure; the code need not exist)."""
        _require_code(code)
        return code[:2] + "0000"

    def prefecture_of(self, code: str) -> str | None:
        """``'320581'`` → ``'320500'``; None for a province-level code.

        By structure, so counties directly under a province get the placeholder
        (e.g. ``'429004'`` → ``'429000'`` 省直辖县级行政单位).
        """
        _require_code(code)
        if code.endswith("0000"):
            return None
        return code[:4] + "00"

    def name(self, code: str, year: int | None = None) -> str | None:
        d = self.get(code, year)
        return d.name if d else None

    def full_name(self, code: str, year: int | None = None) -> str | None:
        """``'320581'`` → ``'江苏省苏州市常熟市'``.

        Ancestors are named as they were when ``code`` was last valid (or in ``year``),
        so an abolished county does not get its prefecture's later name.
        """
        d = self.get(code, year)
        if d is None:
            return None
        when = year if year is not None else d.valid_to
        parts = [d.name]
        for anc in (self.prefecture_of(code), self.province_of(code)):
            if anc is None or anc == code:
                continue
            a = (self.get(anc, when) if when is not None else None) or self.get(anc)
            if a is not None and a.name not in _PLACEHOLDER_NAMES:
                parts.append(a.name)
        # The prefecture of a direct-administered municipality (110100 市辖区) or a
        # placeholder itself may repeat or be empty; keep order, drop duplicates.
        out: list[str] = []
        for p in reversed(parts):
            if not out or out[-1] != p:
                out.append(p)
        return "".join(out)

    def codes(self, province: str | None = None, current_only: bool = True, level: str | None = None) -> list[str]:
        """Sorted codes, optionally of one province (``'32'`` or ``'320000'``) and one level."""
        if level is not None and level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        pool = self.current_codes if current_only else self.ever_codes
        prefix = province[:2] if province else None
        return sorted(
            c for c in pool if (prefix is None or c.startswith(prefix)) and (level is None or _level_of(c) == level)
        )


@lru_cache(maxsize=1)
def default_table() -> DivisionTable:
    """The table from ``catalog/divisions``, loaded once per process."""
    return DivisionTable.load()


def validate(code: str, table: DivisionTable | None = None, year: int | None = None) -> str:
    """Return the 6-digit code or raise CodeError (``division_format`` / ``division_unknown``).

    Historic codes pass unless ``year`` is given, then the code must be valid that year.
    """
    if isinstance(code, str):
        code = code.strip()
    if not _is_code(code):
        raise CodeError(
            Reason.DIVISION_FORMAT,
            f"division code {mask(code)} must be exactly 6 digits (GB/T 2260); fix the source field",
        )
    table = table if table is not None else default_table()
    if not table.exists(code, year):
        when = f" in {year}" if year is not None else ""
        raise CodeError(
            Reason.DIVISION_UNKNOWN,
            f"division code {mask(code)} is not in division table {table.version}{when}; "
            "check the code, or add it to catalog/divisions/supplement.csv if it is real",
        )
    return code


def _require_code(code: str) -> None:
    if not _is_code(code):
        raise CodeError(Reason.DIVISION_FORMAT, f"division code {mask(code)} must be exactly 6 digits (GB/T 2260)")


def _year(value: str, where: str) -> int | None:
    if not value:
        return None
    if not (len(value) == 4 and value.isdigit()):
        raise ValueError(f"{where}: year must be 4 digits or empty, not {value!r}")
    return int(value)


def _parse(path: Path, text: str) -> Iterable[Division]:
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ValueError(f"{path}:1: missing columns {', '.join(missing)} (need {','.join(_COLUMNS)})")
    for row in reader:
        where = f"{path}:{reader.line_num}"
        code = row["code"].strip()
        if not _is_code(code):
            raise ValueError(f"{where}: code must be 6 digits, not {code!r}")
        level = row["level"].strip()
        if level != _level_of(code):
            raise ValueError(f"{where}: code {code} is a {_level_of(code)} code, not {level!r}")
        parent = row["parent"].strip() or None
        if parent is not None and not _is_code(parent):
            raise ValueError(f"{where}: parent must be 6 digits or empty, not {parent!r}")
        start, end = _year(row["valid_from"].strip(), where), _year(row["valid_to"].strip(), where)
        if start is not None and end is not None and start > end:
            raise ValueError(f"{where}: valid_from {start} is after valid_to {end}")
        name = row["name"].strip()
        if not name:
            raise ValueError(f"{where}: name is empty")
        yield Division(code, name, level, parent, start, end)
