"""The performance figures of a period, read from ``perf_day`` (never from the libraries).

``figures(engine, start, end, every="month", by=("dept",), ...)`` → a dict (the JSON of
``govhub report performance`` and ``GET /api/v1/stats/performance``):

| key | what |
|---|---|
| ``period`` | ``{"from", "to", "every"}`` (both days included) |
| ``by`` | the breakdown: ``region``, ``dept``, ``item``, ``window``, ``handler`` (staff number) |
| ``indicators`` | ``[{"name", "label", "unit"}]``: the set in force (``catalog/performance_indicators.yaml``) |
| ``rows`` | one per period and group: the dimension codes (``dept_code`` …), every measure, every indicator |
| ``totals`` | the whole period and scope, one row |
| ``trend`` | one row per period (all groups together) |

Scope: ``region_prefix`` (the caller's region, e.g. ``3205``) and ``dept_codes`` (a
department sees its own) restrict what is read; ``regions``/``depts`` are filters asked for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Literal

from sqlalchemy import Engine, and_, func, or_, select

from hub.core.errors import InputError
from hub.domains.performance import indicators as ind
from hub.domains.performance.tables import MEASURES, perf_case, perf_day

Every = Literal["day", "month", "quarter", "year"]
DIMENSION_COLUMNS = {
    "region": "region_code",
    "dept": "dept_code",
    "item": "item_code",
    "window": "window_no",
    "handler": "handler_id",
}
ALIASES = {"department": "dept", "post": "handler", "staff": "handler"}


class QueryError(InputError):
    reason = "performance_query_invalid"


def dimensions(by: Iterable[str]) -> tuple[str, ...]:
    out = []
    for b in by:
        name = ALIASES.get(b, b)
        if name not in DIMENSION_COLUMNS:
            raise QueryError(f"unknown breakdown {b!r}; use one of {', '.join([*DIMENSION_COLUMNS, *ALIASES])}")
        out.append(name)
    return tuple(dict.fromkeys(out))


def period_key(d: date, every: str) -> str:
    if every == "day":
        return d.isoformat()
    if every == "month":
        return f"{d.year}-{d.month:02d}"
    if every == "quarter":
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    if every == "year":
        return str(d.year)
    raise QueryError(f"unknown period {every!r}; use day, month, quarter or year")


def _as_date(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


def _scope(table: Any, region_prefix: str | None, dept_codes: Sequence[str] | None, regions, depts) -> list:
    c = table.c
    where = []
    if region_prefix:
        where.append(c.region_code.startswith(region_prefix))
    if dept_codes is not None:
        where.append(c.dept_code.in_(list(dept_codes)))
    if regions:
        where.append(or_(*(c.region_code.startswith(r) for r in regions)))
    if depts:
        where.append(c.dept_code.in_(list(depts)))
    return where


def _quantile(values: list[int], q: float) -> float | None:
    """Nearest-rank quantile of ``values`` (sorted)."""
    if not values:
        return None
    rank = max(1, -(-int(q * 100) * len(values) // 100))
    return float(values[min(rank, len(values)) - 1])


def _row(key: dict[str, Any], sums: dict[str, float], durations: list[int], compiled) -> dict[str, Any]:
    durations.sort()
    quantiles = {0.5: _quantile(durations, 0.5), 0.9: _quantile(durations, 0.9)}
    out: dict[str, Any] = dict(key)
    out.update({m: int(sums.get(m, 0)) for m in MEASURES})
    for c in compiled:
        v = c.value(sums, quantiles)
        out[c.name] = None if v is None else int(v) if c.indicator.unit == "count" and v == int(v) else round(v, 4)
    return out


def figures(
    engine: Engine,
    start: date,
    end: date,
    every: Every = "month",
    by: Iterable[str] = ("dept",),
    *,
    region_prefix: str | None = None,
    dept_codes: Sequence[str] | None = None,
    regions: Sequence[str] = (),
    depts: Sequence[str] = (),
) -> dict[str, Any]:
    if end < start:
        raise QueryError(f"the period ends ({end}) before it starts ({start}): swap --from and --to")
    period_key(start, every)  # validates ``every``
    dims = dimensions(by)
    cols = [DIMENSION_COLUMNS[d] for d in dims]
    compiled = ind.in_force()
    scope = (region_prefix, dept_codes, regions, depts)
    sums: dict[tuple, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    durations: dict[tuple, list[int]] = defaultdict(list)
    with engine.connect() as conn:
        q = (
            select(
                perf_day.c.day, *(perf_day.c[c] for c in cols), *(func.sum(perf_day.c[m]).label(m) for m in MEASURES)
            )
            .where(perf_day.c.day.between(start, end), *_scope(perf_day, *scope))
            .group_by(perf_day.c.day, *(perf_day.c[c] for c in cols))
        )
        for r in conn.execute(q):
            m = r._mapping
            p = period_key(_as_date(m["day"]), every)
            for key in ((p, *(m[c] for c in cols)), ("*",), (p, "*")):
                for name in MEASURES:
                    sums[key][name] += float(m[name] or 0)
        pc = perf_case.c
        case_cols = [pc[c] if c in pc else None for c in cols]
        q2 = select(pc.finish_day, pc.working_days, *(c for c in case_cols if c is not None)).where(
            and_(pc.finish_day.between(start, end), pc.finished == 1, pc.working_days.is_not(None)),
            *_scope(perf_case, *scope),
        )
        for r in conn.execute(q2):
            m = r._mapping
            p = period_key(_as_date(m["finish_day"]), every)
            group = (p, *(m[c] if c in m else "" for c in cols))
            for key in (group, ("*",), (p, "*")):
                durations[key].append(m["working_days"])
    rows = [
        _row({"period": k[0], **dict(zip(cols, k[1:], strict=True))}, v, durations[k], compiled)
        for k, v in sorted(sums.items())
        if k[0] != "*" and k[-1:] != ("*",)
    ]
    trend = [_row({"period": k[0]}, v, durations[k], compiled) for k, v in sorted(sums.items()) if k[1:] == ("*",)]
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat(), "every": every},
        "by": list(dims),
        "indicators": [{"name": c.name, "label": c.indicator.label, "unit": c.indicator.unit} for c in compiled],
        "rows": rows,
        "totals": _row({}, sums.get(("*",), {}), durations[("*",)], compiled),
        "trend": trend,
    }
