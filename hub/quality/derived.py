"""Helper columns (派生检查列) for the checks Great Expectations has no expectation for.

A suite declares them in ``meta.derived`` (name → ``{check, fields, label_zh}``) and
expects each to hold ``"ok"`` (``expect_column_values_to_be_in_set`` with ``["ok"]``).
A helper column holds, per record:

- ``"ok"``  — the check passed;
- a reason code (``id_check_char``, ``uscc_check_char``, ``time_order``, ``holder_unknown``…)
  — it failed, and why (the same codes the ingress rules quarantine with);
- ``None`` — the check does not apply (no value, or an identity type it does not cover).
  Great Expectations leaves nulls out of ``in_set`` checks, so "not applicable" never fails.

Checks (the vocabulary a suite file may use; arity is checked at load):

| check | fields | what it does |
|---|---|---|
| ``identity`` | id type, id number | 111 → resident ID (GB 11643), 001 → credit code (GB 32100) |
| ``idcard`` | id number | resident ID number: check character, birth date, address code |
| ``uscc`` | credit code | 统一社会信用代码 check character and division |
| ``licence_id`` | licence identifier | 电子证照标识 (GB/T 36902) check character |
| ``not_future`` | time or date | not later than now + one day of clock skew (CST) |
| ``list_time_order`` | list field | every entry's ``end_time`` ≥ its ``start_time`` |
| ``division`` | division code | a GB/T 2260 code that ever existed (versioned table in catalog/divisions) |
| ``in_catalogue`` | item code | the item is in the item library ``lib_item`` (事项目录) |
| ``holder_in_library`` | id type, id number | the holder is in ``lib_person`` (111) or ``lib_enterprise`` (001) |

Why helper columns and not ``{"$PARAMETER": ...}`` value sets for the division table and
the catalogue: GE copies an expectation's kwargs (pydantic ``.dict()``) for every metric it
plans, so a 3,000-code value set made a 20-expectation suite take 6 s instead of 0.5 s on
2,000 records. A set lookup per record costs microseconds.

Checks are computed a column at a time (``fn(columns, env) -> values``) so a reference
check asks the database once per batch, not once per record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from hub.model.codes import idcard, licence_id, uscc
from hub.model.codes.errors import CodeError

OK = "ok"
CLOCK_SKEW = timedelta(days=1)  # as the ingress rules: a sender a day ahead is not "in the future"


class References(Protocol):
    """What reference checks look up (the resource libraries, see ``hub.quality.references``)."""

    def item_codes(self) -> list[str]: ...

    def known_people(self, id_nos: Sequence[str]) -> set[str]: ...

    def known_enterprises(self, usccs: Sequence[str]) -> set[str]: ...


@dataclass
class CheckEnv:
    """What checks compare against: the division table, "now" (CST) and the libraries."""

    divisions: Any
    now: datetime
    refs: References | None = None
    _cache: dict = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.now.date()


def _code(fn: Callable, value: Any, *args, **kw) -> str | None:
    if value is None:
        return None
    try:
        fn(str(value), *args, **kw)
        return OK
    except CodeError as exc:
        return exc.reason


def _identity(cols, env: CheckEnv):
    types, nos = cols
    out: list[str | None] = []
    for t, no in zip(types, nos):
        if no is None:
            out.append(None)
        elif t == "111":
            out.append(_code(idcard.validate, no, divisions=env.divisions, today=env.today))
        elif t == "001":
            out.append(_code(uscc.validate, no))
        else:
            out.append(None)  # passports and other documents have no check character
    return out


def _idcard(cols, env: CheckEnv):
    return [_code(idcard.validate, v, divisions=env.divisions, today=env.today) for v in cols[0]]


def _uscc(cols, env: CheckEnv):
    return [_code(uscc.validate, v) for v in cols[0]]


def _licence_id(cols, env: CheckEnv):
    return [_code(licence_id.validate, v) for v in cols[0]]


def _not_future(cols, env: CheckEnv):
    latest = env.now + CLOCK_SKEW
    latest_dt, latest_d = latest.strftime("%Y-%m-%d %H:%M:%S"), latest.date().isoformat()
    out: list[str | None] = []
    for v in cols[0]:
        if v is None:
            out.append(None)
        else:
            s = str(v)
            # canonical lexical times compare like the times they spell
            out.append(OK if s <= (latest_dt if len(s) > 10 else latest_d) else "time_future")
    return out


def _list_time_order(cols, env: CheckEnv):
    out: list[str | None] = []
    for entries in cols[0]:
        if not entries:
            out.append(None)
            continue
        bad = any(
            e.get("end_time") and e.get("start_time") and str(e["end_time"]) < str(e["start_time"])
            for e in entries
            if isinstance(e, dict)
        )
        out.append("time_order" if bad else OK)
    return out


def _division(cols, env: CheckEnv):
    codes = env.divisions.ever_codes
    return [None if v is None else (OK if str(v) in codes else "division_unknown") for v in cols[0]]


def _in_catalogue(cols, env: CheckEnv):
    if env.refs is None:
        raise ValueError("in_catalogue needs the item library (run the check with a database)")
    codes = set(env.refs.item_codes())
    return [None if v is None else (OK if str(v) in codes else "item_not_in_catalogue") for v in cols[0]]


def _holder_in_library(cols, env: CheckEnv):
    types, nos = cols
    if env.refs is None:
        raise ValueError("holder_in_library needs the resource libraries (run the check with a database)")
    people = env.refs.known_people([n for t, n in zip(types, nos) if t == "111" and n is not None])
    firms = env.refs.known_enterprises([n for t, n in zip(types, nos) if t == "001" and n is not None])
    out: list[str | None] = []
    for t, no in zip(types, nos):
        if no is None or t not in ("111", "001"):
            out.append(None)
        else:
            out.append(OK if no in (people if t == "111" else firms) else "holder_unknown")
    return out


#: check name → (number of fields, function)
CHECKS: dict[str, tuple[int, Callable[[list[list], CheckEnv], list]]] = {
    "identity": (2, _identity),
    "idcard": (1, _idcard),
    "uscc": (1, _uscc),
    "licence_id": (1, _licence_id),
    "not_future": (1, _not_future),
    "list_time_order": (1, _list_time_order),
    "division": (1, _division),
    "in_catalogue": (1, _in_catalogue),
    "holder_in_library": (2, _holder_in_library),
}


def compute(check: str, columns: list[list], env: CheckEnv) -> list:
    return CHECKS[check][1](columns, env)
