"""The suites' expectations evaluated in plain Python (no pandas, no Great Expectations).

The push-time batch check (``GOVHUB_QUALITY_BATCH=on``, ``hub.quality.plain``) runs a kind's
suite after every ingested message. Great Expectations costs seconds to import, ~170 MB
of RSS and ~1 s per 100-record message; these functions evaluate the same expectations
with the same semantics in milliseconds. The suite files stay the single source of truth:
the daily check, ``govhub quality batch`` and the Data Docs still use Great Expectations,
and ``tests/unit/test_quality_plain.py`` checks that both agree on every suite, clean data
and defects alike.

Semantics follow GE 1.x's pandas engine:

- column map expectations leave nulls out (except ``not_be_null``): ``element_count`` is
  every row, ``unexpected_count`` counts the non-null values that fail;
- ``to_be_unique`` marks every row of a repeated value (``duplicated(keep=False)``);
- lengths are of ``str(value)``; a regex is searched (``re.search``), not matched whole;
- a pair expectation drops rows by ``ignore_row_if`` (default ``both_values_are_missing``);
  a remaining row with a missing value fails;
- compound uniqueness drops rows whose values are all missing (the default), then marks
  every row of a repeated combination.

Results have the shape ``hub.quality.checks`` reads from GE's (``SUMMARY`` format):
``element_count``, ``unexpected_count``, ``partial_unexpected_index_list`` (the first 20
rows as ``{"_row": i}``) or ``observed_value`` for table expectations; ``mostly`` as in GE
(the share of the rows considered that must pass). A suite using an expectation or keyword
not listed here is refused when it is loaded, so the two evaluators cannot silently differ.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

PARTIAL = 20  # GE's partial_unexpected_count in hub.quality.checks.RESULT_FORMAT
ROW = "_row"

Columns = dict[str, list]


class Unsupported(ValueError):
    """An expectation (or keyword) the plain evaluator does not implement."""


Rows = tuple[list[int], int, int]  # (unexpected rows, rows considered, every row)


def _map(values: list, ok: Callable[[Any], bool]) -> Rows:
    bad = [i for i, v in enumerate(values) if v is not None and not ok(v)]
    return bad, sum(v is not None for v in values), len(values)


def _between(lo: Any, hi: Any) -> Callable[[Any], bool]:
    if lo is None and hi is None:
        raise ValueError("min_value and max_value cannot both be None")
    return lambda v: (lo is None or v >= lo) and (hi is None or v <= hi)


def _not_null(cols: Columns, kw: dict) -> Rows:
    values = cols[kw["column"]]
    return [i for i, v in enumerate(values) if v is None], len(values), len(values)


def _in_set(cols: Columns, kw: dict) -> Rows:
    if kw["value_set"] is None:
        return _map(cols[kw["column"]], lambda v: True)
    allowed = set(kw["value_set"])
    return _map(cols[kw["column"]], allowed.__contains__)


def _lengths(cols: Columns, kw: dict) -> Rows:
    within = _between(kw.get("min_value"), kw.get("max_value"))
    return _map(cols[kw["column"]], lambda v: within(len(str(v))))


def _values_between(cols: Columns, kw: dict) -> Rows:
    return _map(cols[kw["column"]], _between(kw.get("min_value"), kw.get("max_value")))


def _strftime(cols: Columns, kw: dict) -> Rows:
    fmt = kw["strftime_format"]

    def parses(v: Any) -> bool:
        if not isinstance(v, str):
            raise TypeError("Values passed to expect_column_values_to_match_strftime_format must be of type string.")
        try:
            datetime.strptime(v, fmt)  # a format check: no time zone involved
        except ValueError:
            return False
        return True

    return _map(cols[kw["column"]], parses)


def _regex(cols: Columns, kw: dict) -> Rows:
    search = re.compile(kw["regex"]).search
    return _map(cols[kw["column"]], lambda v: search(str(v)) is not None)


def _unique(cols: Columns, kw: dict) -> Rows:
    values = cols[kw["column"]]
    seen = Counter(v for v in values if v is not None)
    return _map(values, lambda v: seen[v] == 1)


_PAIR_IGNORE = {
    "both_values_are_missing": lambda a, b: a is None and b is None,
    "either_value_is_missing": lambda a, b: a is None or b is None,
    "neither": lambda a, b: False,
}


def _pair_greater(cols: Columns, kw: dict) -> Rows:
    ignore = _PAIR_IGNORE[kw.get("ignore_row_if") or "both_values_are_missing"]
    or_equal = bool(kw.get("or_equal"))
    a_values, b_values = cols[kw["column_A"]], cols[kw["column_B"]]
    bad, considered = [], 0
    for i, (a, b) in enumerate(zip(a_values, b_values)):
        if ignore(a, b):
            continue
        considered += 1
        if a is None or b is None or not (a >= b if or_equal else a > b):
            bad.append(i)
    return bad, considered, len(a_values)


_MULTI_IGNORE = {
    "all_values_are_missing": lambda row: all(v is None for v in row),
    "any_value_is_missing": lambda row: any(v is None for v in row),
    "never": lambda row: False,
}


def _compound_unique(cols: Columns, kw: dict) -> Rows:
    ignore = _MULTI_IGNORE[kw.get("ignore_row_if") or "all_values_are_missing"]
    rows = list(zip(*(cols[c] for c in kw["column_list"])))
    kept = [(i, row) for i, row in enumerate(rows) if not ignore(row)]
    seen = Counter(row for _, row in kept)
    return [i for i, row in kept if seen[row] > 1], len(kept), len(rows)


#: expectation type → (the keywords it understands besides ``mostly``, the function)
SUPPORTED: dict[str, tuple[frozenset[str], Callable[[Columns, dict], Rows]]] = {
    "expect_column_values_to_not_be_null": (frozenset({"column"}), _not_null),
    "expect_column_values_to_be_in_set": (frozenset({"column", "value_set"}), _in_set),
    "expect_column_value_lengths_to_be_between": (frozenset({"column", "min_value", "max_value"}), _lengths),
    "expect_column_values_to_be_between": (frozenset({"column", "min_value", "max_value"}), _values_between),
    "expect_column_values_to_match_strftime_format": (frozenset({"column", "strftime_format"}), _strftime),
    "expect_column_values_to_match_regex": (frozenset({"column", "regex"}), _regex),
    "expect_column_values_to_be_unique": (frozenset({"column"}), _unique),
    "expect_column_pair_values_a_to_be_greater_than_b": (
        frozenset({"column_A", "column_B", "or_equal", "ignore_row_if"}),
        _pair_greater,
    ),
    "expect_compound_columns_to_be_unique": (frozenset({"column_list", "ignore_row_if"}), _compound_unique),
}
TABLE = "expect_table_row_count_to_be_between"


def check(type_: str, kwargs: dict) -> None:
    """Raise ``Unsupported`` unless this expectation can be evaluated here."""
    known = frozenset({"min_value", "max_value"}) if type_ == TABLE else None
    if type_ in SUPPORTED:
        known = SUPPORTED[type_][0] | {"mostly"}
    if known is None:
        raise Unsupported(
            f"{type_} has no plain-Python form for the push-time check; add it to hub/quality/expectations.py "
            f"(supported: {', '.join(sorted([*SUPPORTED, TABLE]))})"
        )
    extra = set(kwargs) - known
    if extra:
        raise Unsupported(
            f"{type_}: keyword(s) {sorted(extra)} have no plain-Python form for the push-time check; "
            "add them to hub/quality/expectations.py"
        )


def evaluate(type_: str, kwargs: dict, columns: Columns) -> tuple[bool, dict]:
    """(success, result) of one expectation on ``columns`` (name → values, ``None`` for null,
    ``_row`` included). Raises what GE would record as the expectation's exception."""
    check(type_, kwargs)
    if type_ == TABLE:
        n = len(columns[ROW])
        return _between(kwargs.get("min_value"), kwargs.get("max_value"))(n), {"observed_value": n}
    mostly = kwargs.get("mostly")
    mostly = 1.0 if mostly is None else mostly
    if not 0 <= mostly <= 1:
        raise ValueError(f"mostly must be between 0 and 1, not {mostly}")
    bad, considered, n = SUPPORTED[type_][1](columns, kwargs)
    success = considered == 0 or (considered - len(bad)) / considered >= mostly
    result = {
        "element_count": n,
        "unexpected_count": len(bad),
        "partial_unexpected_index_list": [{ROW: i} for i in bad[:PARTIAL]],
    }
    return success, result
