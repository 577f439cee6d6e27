"""Records → the columns a suite is evaluated on: plain lists (``columns``, the push-time
check in ``hub.quality.plain``) or the pandas DataFrame Great Expectations validates (``build``).

Records may be typed canonical records (library rows, ``hub.model.canonical`` output: datetime,
date, Decimal…) or lexical ones (the generator's, a sender's strings): both become the
canonical lexical form, so one suite fits both — times ``'YYYY-MM-DD HH:MM:SS'`` and dates
``'YYYY-MM-DD'`` as text (fixed width: they compare like the times they spell, and a
30 February stays visible to the format check), numbers as floats, blanks as nulls.

Columns: ``_row`` (position of the record, to find a failure's examples), every scalar
field of the kind, and the suite's helper columns (``hub.quality.derived``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from hub.model.dictionary import kind as dictionary_kind
from hub.quality.derived import CheckEnv, compute
from hub.quality.suites import LoadedSuite

ROW = "_row"


def lexical(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        s = value.strip()
        return s or None
    return value


def number(value: Any) -> Any:
    """A numeric field's value as a number, ``None`` when it is none (as ``pd.to_numeric``
    with ``errors="coerce"``: the ingress contract rejects those)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return None if value != value else value  # NaN is a null
    if isinstance(value, Decimal):
        return float(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        pass
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def columns(suite: LoadedSuite, records: Sequence[dict], env: CheckEnv) -> dict[str, list]:
    """The suite's columns in plain Python (name → values, ``None`` for a null): what both
    evaluators see — the DataFrame for Great Expectations, and ``hub.quality.plain``."""
    k = dictionary_kind(suite.kind)
    data: dict[str, list] = {ROW: list(range(len(records)))}
    for f in k.scalars:
        col = [lexical(r.get(f.name)) for r in records]
        data[f.name] = [number(v) for v in col] if f.type in ("int", "decimal") else col
    for name, d in suite.derived.items():
        inputs = [[r.get(f) if k.field(f).type == "list" else lexical(r.get(f)) for r in records] for f in d.fields]
        data[name] = compute(d.check, inputs, env)
    return data


def build(suite: LoadedSuite, records: Sequence[dict], env: CheckEnv):
    import pandas as pd  # deferred: pandas loads only for Great Expectations (daily check, Data Docs)

    data: dict[str, Any] = columns(suite, records, env)
    k = dictionary_kind(suite.kind)
    for f in k.scalars:
        if f.type in ("int", "decimal"):
            data[f.name] = pd.to_numeric(pd.Series(data[f.name], dtype=object), errors="coerce")
    return pd.DataFrame(data)
