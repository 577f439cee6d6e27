"""Named value formats that outbound mappings refer to (``transform: datetime``): a
canonical value (as the library holds it: ``datetime``, ``date``, ``Decimal``, ``bool``,
``int`` or text) → the text a peer's format wants.

Each takes the value and the field spec's ``format`` option and returns text, or raises
``ValueError`` with what is wrong (the record becomes a delivery defect with that reason).
Adding one is adding a function and a line in ``OUT_TRANSFORMS``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a time") from None


def out_datetime(value: Any, fmt: str | None = None) -> str:
    """A time in the peer's pattern (strftime; default ``%Y-%m-%d %H:%M:%S``, CST as held)."""
    return _as_datetime(value).strftime(fmt or "%Y-%m-%d %H:%M:%S")


def out_date(value: Any, fmt: str | None = None) -> str:
    return _as_datetime(value).strftime(fmt or "%Y-%m-%d")


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None


def yuan_to_fen(value: Any, fmt: str | None = None) -> str:
    """Yuan (元) → whole fen (分); an amount with fractions of a fen cannot be expressed."""
    fen = _decimal(value) * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{value} 元 is not a whole number of 分")
    return str(int(fen))


def amount(value: Any, fmt: str | None = None) -> str:
    """An amount with the number of decimals of ``format`` (``0.00`` → two)."""
    places = len((fmt or "0.00").partition(".")[2])
    return str(_decimal(value).quantize(Decimal(1).scaleb(-places)))


def flag(value: Any, fmt: str | None = None) -> str:
    """A yes/no as the peer writes it: ``format: "1/0"`` (default), ``"Y/N"``, ``"是/否"``."""
    yes, _, no = (fmt or "1/0").partition("/")
    if isinstance(value, bool):
        return yes if value else no
    s = str(value).strip().lower()
    if s in ("true", "1", "是", "y", "yes"):
        return yes
    if s in ("false", "0", "否", "n", "no"):
        return no
    raise ValueError(f"{value!r} is not yes or no")


def text(value: Any, fmt: str | None = None) -> str:
    return str(value).strip()


def upper(value: Any, fmt: str | None = None) -> str:
    return str(value).strip().upper()


# an outbound transform: (canonical value, the field's format option) -> the peer's text
OutTransform = Callable[[Any, str | None], str]

OUT_TRANSFORMS: dict[str, OutTransform] = {
    "datetime": out_datetime,
    "date": out_date,
    "yuan_to_fen": yuan_to_fen,
    "amount": amount,
    "flag": flag,
    "text": text,
    "upper": upper,
}
