"""Expectation suites as data (数据质量规则): one Great Expectations 1.x suite per message
kind in ``schemas/expectations/<kind>.json``, validated when loaded.

File shape (GE 1.x ``ExpectationSuite`` JSON; ``meta`` carries what govhub adds)::

    {"name": "case",
     "meta": {"kind": "case", "version": 1, "label_zh": "办件数据质量规则",
              "derived": {"_chk_dept_code": {"check": "uscc", "fields": ["dept_code"], "label_zh": "..."}},
              "feed_health": {"silent_min_daily": 100, ...}},
     "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "case_no"},
         "meta": {"rule": "required", "label_zh": "办件编号必填"}}, ...]}

Checked at load, with the file and the expectation's position in the message: the JSON
parses; the suite is named after its file and a known kind; every expectation is a GE
expectation GE accepts with these kwargs (GE itself would only log and drop a bad one);
every column is a dictionary field or a declared helper column (``hub.quality.derived``);
no ``{"$PARAMETER": ...}`` (run-time value sets come from helper columns, see
``hub.quality.derived`` for why); every expectation has a rule id and a Chinese label.

``version`` in ``meta`` is the suite's own version (raise it when the rules change
meaning); ``LoadedSuite.version`` adds a digest of the file, so a ``quality_run`` row says
exactly which rules it was checked with.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.core.config import SCHEMAS_DIR
from hub.core.errors import ConfigError
from hub.model.dictionary import DictionaryError
from hub.model.dictionary import kind as dictionary_kind
from hub.quality import expectations as plain_expectations
from hub.quality.derived import CHECKS

SUITES_DIR = SCHEMAS_DIR / "expectations"

#: Values the checks supply at run time (``{"$PARAMETER": name}`` in a suite's kwargs).
PARAMETERS = {
    "gb2260_codes": "every GB/T 2260 division code that ever existed (catalog/divisions, versioned)",
    "catalogue_item_codes": "the item codes in the item library lib_item (事项目录), read per run",
}
RULE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_COLUMN_KWARGS = ("column", "column_A", "column_B")


class SuiteError(ConfigError):
    """A suite file is malformed; the message names the file and where."""

    reason = "suite_invalid"


class Derived(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str
    fields: tuple[str, ...]
    label_zh: str


class FeedHealth(BaseModel):
    """Thresholds of the day-level feed-health checks (``hub.quality.daily``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    baseline_days: int = Field(30, ge=7, description="trailing days the day is compared with")
    min_baseline_days: int = Field(5, ge=1, description="days of the same type (working / rest) needed for a baseline")
    silent_min_daily: int = Field(
        100, ge=1, description="a source whose median day reaches this and sends nothing is silent"
    )
    volume_drop_ratio: float = Field(0.2, gt=0, lt=1, description="a day below this share of the median is a drop")
    volume_jump_ratio: float = Field(5.0, gt=1, description="a day above this multiple of the median is a jump")
    volume_min_daily: int = Field(20, ge=1, description="median below this: volume is too small to judge")
    null_rate_jump: float = Field(0.2, gt=0, le=1, description="a column's null share rising by this much is a jump")
    quarantine_rate_jump: float = Field(
        0.1, gt=0, le=1, description="the quarantined share rising by this much is a jump"
    )
    min_rows: int = Field(20, ge=1, description="rates are judged on days with at least this many records")


class SuiteMeta(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str
    version: int = Field(ge=1)
    label_zh: str
    derived: dict[str, Derived] = {}
    feed_health: FeedHealth = FeedHealth()


class ExpectationMeta(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    rule: str
    label_zh: str
    field: str | None = None  # where a failure's examples come from (helper columns)


class ExpectationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    kwargs: dict[str, Any]
    meta: ExpectationMeta
    description: str | None = None
    notes: str | list[str] | None = None


class SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    meta: SuiteMeta
    expectations: list[ExpectationSpec] = Field(min_length=1)
    notes: str | list[str] | None = None
    suite_parameters: dict[str, Any] = {}
    id: str | None = None


@dataclass(frozen=True)
class LoadedSuite:
    path: Path
    spec: SuiteFile
    digest: str

    @property
    def kind(self) -> str:
        return self.spec.meta.kind

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return f"{self.spec.meta.version}.{self.digest[:8]}"

    @property
    def derived(self) -> dict[str, Derived]:
        return self.spec.meta.derived

    @property
    def feed_health(self) -> FeedHealth:
        return self.spec.meta.feed_health

    def gx_suite(self):
        """A fresh ``great_expectations.ExpectationSuite`` (not bound to any context)."""
        import great_expectations as gx  # deferred: GE takes seconds and ~150 MB to import

        return gx.ExpectationSuite(
            name=self.name,
            expectations=[_gx_expectation(e) for e in self.spec.expectations],
            meta={"kind": self.kind, "version": self.version, "label_zh": self.spec.meta.label_zh},
            notes=self.spec.notes or self.spec.meta.label_zh,
        )


def _parameters(kwargs: dict) -> list[str]:
    return [v["$PARAMETER"] for v in kwargs.values() if isinstance(v, dict) and "$PARAMETER" in v]


def _gx_expectation(e: ExpectationSpec):
    # deferred: GE takes seconds and ~150 MB to import
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    return ExpectationConfiguration(
        type=e.type,
        kwargs=dict(e.kwargs),
        meta=e.meta.model_dump(exclude_none=True),
        description=e.description or f"{e.meta.label_zh}〔{e.meta.rule}〕",
        notes=e.notes,
    ).to_domain_obj()


def _columns(kwargs: dict) -> list[str]:
    cols = [kwargs[k] for k in _COLUMN_KWARGS if isinstance(kwargs.get(k), str)]
    cols += list(kwargs.get("column_list") or [])
    return cols


def load_suite(path: Path, with_gx: bool = True) -> LoadedSuite:
    """Load and check one suite file. ``with_gx=False`` skips asking Great Expectations
    whether it accepts each expectation (importing GE takes seconds and ~170 MB: the
    push-time check in ``hub.quality.plain`` never needs it); every expectation must have a
    plain-Python form (``hub.quality.expectations``) either way."""
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f"line {exc.lineno}: " if isinstance(exc, json.JSONDecodeError) else ""
        raise SuiteError(f"{path}: {where}not valid UTF-8 JSON ({exc})") from None
    try:
        spec = SuiteFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SuiteError(f"{path}: {where}: {first['msg']}") from None
    if spec.name != path.stem or spec.meta.kind != path.stem:
        raise SuiteError(f"{path}: name and meta.kind must both be {path.stem!r} (the file name)")
    try:
        k = dictionary_kind(spec.meta.kind)
    except DictionaryError as exc:
        raise SuiteError(f"{path}: meta.kind: {exc}") from None
    scalars = {f.name for f in k.scalars}
    lists = {f.name for f in k.lists}
    for name, d in spec.meta.derived.items():
        where = f"{path}: meta.derived.{name}"
        if not name.startswith("_"):
            raise SuiteError(f"{where}: helper column names start with '_' (they are not dictionary fields)")
        if d.check not in CHECKS:
            raise SuiteError(f"{where}: unknown check {d.check!r}; known: {', '.join(sorted(CHECKS))}")
        if len(d.fields) != CHECKS[d.check][0]:
            raise SuiteError(f"{where}: check {d.check} takes {CHECKS[d.check][0]} field(s), got {len(d.fields)}")
        allowed = lists if d.check == "list_time_order" else scalars
        bad = [f for f in d.fields if f not in allowed]
        if bad:
            raise SuiteError(
                f"{where}: {bad} are not {'list' if d.check == 'list_time_order' else 'scalar'} fields of {k.kind}"
            )
    columns = scalars | set(spec.meta.derived)
    for i, e in enumerate(spec.expectations):
        where = f"{path}: expectations[{i}] ({e.type}, rule {e.meta.rule})"
        if not RULE_RE.match(e.meta.rule):
            raise SuiteError(f"{where}: meta.rule must be a short snake_case id")
        unknown = [c for c in _columns(e.kwargs) if c not in columns]
        if unknown:
            raise SuiteError(
                f"{where}: no column {unknown}; columns are the dictionary's scalar fields of {k.kind} "
                "and the helper columns in meta.derived"
            )
        if e.meta.field is not None and e.meta.field not in scalars | lists:
            raise SuiteError(f"{where}: meta.field {e.meta.field!r} is not a field of {k.kind}")
        if _parameters(e.kwargs):
            raise SuiteError(
                f"{where}: $PARAMETER is not supplied; compare with a helper column in meta.derived "
                f"(checks: {', '.join(sorted(CHECKS))})"
            )
        try:
            plain_expectations.check(e.type, e.kwargs)
        except plain_expectations.Unsupported as exc:
            raise SuiteError(f"{where}: {exc}") from None
        if not with_gx:
            continue
        try:
            _gx_expectation(e)
        except Exception as exc:  # noqa: BLE001 — GE raises several types for a bad configuration
            raise SuiteError(f"{where}: Great Expectations rejects it: {exc}") from None
    return LoadedSuite(path, spec, hashlib.sha256(raw).hexdigest())


@lru_cache(maxsize=8)
def _load_dir(directory: str, with_gx: bool = True) -> dict[str, LoadedSuite]:
    paths = sorted(Path(directory).glob("*.json"))
    if not paths:
        raise SuiteError(f"{directory}: no expectation suites (*.json)")
    return {p.stem: load_suite(p, with_gx) for p in paths}


def suites(directory: Path | None = None, with_gx: bool = True) -> dict[str, LoadedSuite]:
    """Every suite, by kind (loaded and checked once per process; ``with_gx``: see ``load_suite``)."""
    return _load_dir(str(directory or SUITES_DIR), with_gx)


def suite(kind: str, directory: Path | None = None, with_gx: bool = True) -> LoadedSuite:
    all_suites = suites(directory, with_gx)
    if kind not in all_suites:
        raise SuiteError(f"no expectation suite for {kind!r}; suites: {', '.join(sorted(all_suites))}")
    return all_suites[kind]
