"""The performance indicators (绩效/效能考核指标) as data: ``catalog/performance_indicators.yaml``.

| | |
|---|---|
| file | ``catalog/performance_indicators.yaml`` or ``$GOVHUB_PERFORMANCE_INDICATORS`` |
| measures | the day-level sums kept in ``perf_day`` (``hub.domains.performance.tables``); the file lists them with a note each, and a measure it names must be one the hub keeps |
| formula | arithmetic over measure names (``+ - * /``, numbers, parentheses), parsed once with ``ast`` and never ``eval``-ed; or ``p50(working_days)`` / ``p90(working_days)``, read from the per-case facts |
| value | computed from the measures summed over a period and group; a division by zero gives ``None`` |

A wrong file raises ``IndicatorsError`` naming the file, the line and the indicator.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.core import catalogfile
from hub.core.config import CATALOG_DIR
from hub.core.errors import ConfigError

DEFAULT_FILE = CATALOG_DIR / "performance_indicators.yaml"
FILE_ENV = "GOVHUB_PERFORMANCE_INDICATORS"
Unit = Literal["count", "rate", "working_days", "seconds"]
Dimension = Literal["region", "dept", "item", "window", "handler"]
_DISTRIBUTION = re.compile(r"p(50|90)\(working_days\)")


class IndicatorsError(ConfigError):
    """The indicator file is unreadable or wrong; the message names the file and line."""

    reason = "performance_indicators_invalid"


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    formula: str = Field(min_length=1)
    unit: Unit
    dimensions: tuple[Dimension, ...] = ()


class IndicatorsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    measures: dict[str, str]
    indicators: list[Indicator] = Field(min_length=1)


@dataclass(frozen=True)
class Compiled:
    indicator: Indicator
    tree: ast.expr | None  # None for a distribution (p50/p90)
    quantile: float | None

    @property
    def name(self) -> str:
        return self.indicator.name

    def value(self, sums: Mapping[str, float], quantiles: Mapping[float, float | None] | None = None) -> float | None:
        """The indicator over ``sums`` (measures summed over a period and group)."""
        if self.quantile is not None:
            return (quantiles or {}).get(self.quantile)
        assert self.tree is not None
        return _evaluate(self.tree, sums)


_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}


def _evaluate(node: ast.expr, sums: Mapping[str, float]) -> float | None:
    if isinstance(node, ast.Constant):
        return float(node.value)  # type: ignore[arg-type]  # _check_tree admitted numbers only
    if isinstance(node, ast.Name):
        return float(sums.get(node.id) or 0)
    if isinstance(node, ast.UnaryOp):
        v = _evaluate(node.operand, sums)
        return None if v is None else -v
    assert isinstance(node, ast.BinOp)
    a, b = _evaluate(node.left, sums), _evaluate(node.right, sums)
    if a is None or b is None:
        return None
    if isinstance(node.op, ast.Div):
        return None if b == 0 else a / b
    return float(_OPS[type(node.op)](a, b))


def _check_tree(node: ast.AST, measures: set[str]) -> None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return
    if isinstance(node, ast.Name):
        if node.id not in measures:
            raise ValueError(f"unknown measure {node.id!r}; known: {', '.join(sorted(measures))}")
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _check_tree(node.operand, measures)
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
        _check_tree(node.left, measures)
        _check_tree(node.right, measures)
        return
    raise ValueError(f"only + - * / over measure names and numbers are allowed, not {ast.unparse(node)!r}")


def compile_indicator(ind: Indicator, measures: set[str]) -> Compiled:
    """The indicator's formula checked against ``measures``; ``ValueError`` says what is wrong."""
    m = _DISTRIBUTION.fullmatch(ind.formula.replace(" ", ""))
    if m:
        return Compiled(ind, None, int(m.group(1)) / 100)
    try:
        tree = ast.parse(ind.formula, mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"formula {ind.formula!r} does not parse: {exc.msg}") from None
    _check_tree(tree, measures)
    return Compiled(ind, tree, None)


def _check(f: IndicatorsFile, known: set[str]) -> None:
    unknown = set(f.measures) - known
    if unknown:
        raise catalogfile.Problem(
            ["measures"], f"the hub keeps no measure {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    for i, ind in enumerate(f.indicators):
        try:
            compile_indicator(ind, set(f.measures))
        except ValueError as exc:
            raise catalogfile.Problem(["indicators", i, "formula"], f"{ind.name}: {exc}") from None


def indicators_path() -> Path:
    return Path(os.environ.get(FILE_ENV) or DEFAULT_FILE)


def load(path: str | Path | None = None) -> list[Compiled]:
    """The indicators of ``path`` (default: the file in force), validated and compiled."""
    from hub.domains.performance.tables import MEASURES  # the table module owns the measure list

    known = set(MEASURES)
    data = catalogfile.load(
        path or indicators_path(),
        IndicatorsFile,
        IndicatorsError,
        "the performance indicators",
        unique=[catalogfile.Unique("indicators", key="name", noun="indicator")],
        check=lambda f: _check(f, known),
    )
    return [compile_indicator(i, set(data.measures)) for i in data.indicators]


@cache
def _cached(path: str) -> tuple[Compiled, ...]:
    return tuple(load(path))


def in_force() -> tuple[Compiled, ...]:
    return _cached(str(indicators_path()))
