"""Records → the pandas DataFrame a suite is validated on.

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


def build(suite: LoadedSuite, records: Sequence[dict], env: CheckEnv):
    import pandas as pd  # deferred: pandas loads only when a batch check runs (GOVHUB_QUALITY_BATCH)

    k = dictionary_kind(suite.kind)
    data: dict[str, Any] = {ROW: range(len(records))}
    for f in k.scalars:
        col = [lexical(r.get(f.name)) for r in records]
        if f.type in ("int", "decimal"):
            # a value that is not a number becomes null here; the ingress contract rejects those
            col = pd.to_numeric(
                pd.Series([float(v) if isinstance(v, Decimal) else v for v in col], dtype=object), errors="coerce"
            )
        data[f.name] = col
    for name, d in suite.derived.items():
        inputs = [[r.get(f) if k.field(f).type == "list" else lexical(r.get(f)) for r in records] for f in d.fields]
        data[name] = compute(d.check, inputs, env)
    return pd.DataFrame(data)
