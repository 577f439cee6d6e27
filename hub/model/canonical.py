"""Canonical values: turn a mapped record (lexical values) into typed values the
libraries store, enforcing the dictionary's required fields, lengths, enumerations and
ranges. Every path into the hub passes here, so CSV and JSON senders get the same
checks the XSD gives XML senders.

Scalars become Python types (str, int, Decimal, date, datetime, bool); entries of list
fields stay JSON-ready (dates as ISO strings) because they are stored as JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from hub.core.errors import InputError
from hub.model.dictionary import Field, Kind
from hub.model.dictionary import kind as dictionary_kind
from hub.model.outcomes import Reason

CST = timezone(timedelta(hours=8))
_TRUE = {"true", "1", "是", "y", "yes"}
# C0 controls other than tab and line breaks: never part of a name, an opinion or a code,
# and PostgreSQL refuses NUL in text outright (a CSV cell with NUL used to fail the batch).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FALSE = {"false", "0", "否", "n", "no"}

Converter = Callable[[Any], Any]  # checks one value of a field and converts it


class FieldDefect(InputError):
    """One field is wrong; ``reason`` is the quarantine reason code."""

    reason: Reason

    def __init__(self, reason: Reason, field: str, message: str) -> None:
        super().__init__(message, reason=reason)
        self.field = field


def parse_datetime(s: Any) -> datetime:
    if isinstance(s, datetime):
        dt = s
    else:
        dt = datetime.fromisoformat(str(s).strip())
    if dt.tzinfo is not None:
        dt = dt.astimezone(CST).replace(tzinfo=None)
    return dt.replace(microsecond=0)


def _text_converter(f: Field, as_json: bool) -> Converter:
    """string, text, code: plain text within the length limits (``code``: at least ``min``)."""
    name = f.name
    t = f.type
    mx = int(f.max) if f.max is not None else None
    limit = mx if t != "text" else 20000
    mn = int(f.min) if (t == "code" and f.min is not None) else 0

    def conv(v: Any) -> Any:
        if isinstance(v, (dict, list)):  # str() would store "{'x': 1}" as the text
            raise FieldDefect(
                Reason.FIELD_TYPE,
                name,
                f"{name} must be text, not a JSON {'object' if isinstance(v, dict) else 'array'}",
            )
        s = v.strip() if isinstance(v, str) else str(v)
        if _CONTROL_RE.search(s):
            raise FieldDefect(
                Reason.FIELD_FORMAT, name, f"{name} contains a control character (NUL, ESC...); send plain text"
            )
        n = len(s)
        # every string/code field of schemas/dictionary has a max; one without would fail here (TypeError), as before
        if n > limit:  # type: ignore[operator]
            raise FieldDefect(Reason.FIELD_TOO_LONG, name, f"{name} is {n} characters; at most {limit} allowed")
        if n < mn:
            raise FieldDefect(Reason.FIELD_FORMAT, name, f"{name} has {n} characters; at least {mn} expected")
        return s

    return conv


def _enum_converter(f: Field, as_json: bool) -> Converter:
    """enum: one of the declared values."""
    name = f.name
    allowed = frozenset(f.values or ())

    def conv(v: Any) -> Any:
        s = v.strip() if isinstance(v, str) else "" if isinstance(v, (dict, list)) else str(v)
        if s not in allowed:
            raise FieldDefect(Reason.FIELD_ENUM, name, f"{name}: value is not one of {', '.join(f.values or ())}")
        return s

    return conv


def _int_converter(f: Field, as_json: bool) -> Converter:
    """int: an integer within ``min``..``max``."""
    name = f.name
    lo, hi = f.min, f.max

    def conv(v: Any) -> Any:
        if isinstance(v, bool):
            raise FieldDefect(Reason.FIELD_TYPE, name, f"{name} must be an integer")
        try:
            n = int(v) if isinstance(v, int) else int(str(v).strip())
        except ValueError:
            raise FieldDefect(Reason.FIELD_TYPE, name, f"{name} must be an integer") from None
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            raise FieldDefect(Reason.FIELD_RANGE, name, f"{name} must be between {lo:g} and {hi:g}")
        return n

    return conv


def _decimal_converter(f: Field, as_json: bool) -> Converter:
    """decimal: a finite number, at least ``min``, to two places (text in JSON)."""
    name = f.name
    lo = f.min

    def conv(v: Any) -> Any:
        try:
            d = Decimal(str(v).strip())
        except InvalidOperation:
            raise FieldDefect(Reason.FIELD_TYPE, name, f"{name} must be a decimal number") from None
        if not d.is_finite() or abs(d) >= Decimal("1e16"):
            raise FieldDefect(Reason.FIELD_RANGE, name, f"{name} is out of range")
        if lo is not None and d < Decimal(str(lo)):
            raise FieldDefect(Reason.FIELD_RANGE, name, f"{name} must be at least {lo:g}")
        d = d.quantize(Decimal("0.01"))
        return str(d) if as_json else d

    return conv


def _date_converter(f: Field, as_json: bool) -> Converter:
    """date: a real yyyy-MM-dd date."""
    name = f.name

    def conv(v: Any) -> Any:
        try:
            d = v if isinstance(v, date) and not isinstance(v, datetime) else date.fromisoformat(str(v).strip()[:10])
        except ValueError:
            raise FieldDefect(Reason.FIELD_FORMAT, name, f"{name} is not a real date in the form yyyy-MM-dd") from None
        return d.isoformat() if as_json else d

    return conv


def _datetime_converter(f: Field, as_json: bool) -> Converter:
    """datetime: a real time, in China Standard Time, to the second."""
    name = f.name

    def conv(v: Any) -> Any:
        if v.__class__ is str and len(v) == 19:  # the canonical form: no zone, no fraction
            try:
                dt = _fromisoformat(v)
                if dt.tzinfo is None and not dt.microsecond:
                    return dt.strftime("%Y-%m-%d %H:%M:%S") if as_json else dt
            except ValueError:
                pass
        try:
            dt = parse_datetime(v)
        except ValueError:
            raise FieldDefect(
                Reason.FIELD_FORMAT, name, f"{name} is not a real time in the form yyyy-MM-dd HH:mm:ss"
            ) from None
        return dt.strftime("%Y-%m-%d %H:%M:%S") if as_json else dt

    return conv


def _bool_converter(f: Field, as_json: bool) -> Converter:
    """bool: true or false, in the spellings accepted."""
    name = f.name

    def conv(v: Any) -> Any:
        if isinstance(v, bool):
            return v
        s = str(v).strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise FieldDefect(Reason.FIELD_TYPE, name, f"{name} must be true or false")

    return conv


def _list_converter(f: Field, as_json: bool) -> Converter:
    """list: a list of objects, each checked by the item fields."""
    name = f.name
    sub = _compile(f.fields or (), as_json=True)

    def conv(v: Any) -> Any:
        if not isinstance(v, list):
            raise FieldDefect(Reason.FIELD_TYPE, name, f"{name} must be a list")
        out: list[dict[str, Any]] = []
        for i, e in enumerate(v):
            if not isinstance(e, dict):
                raise FieldDefect(Reason.FIELD_TYPE, name, f"{name}[{i + 1}] must be an object")
            try:
                out.append(_run(sub, e))
            except FieldDefect as d:
                raise FieldDefect(d.reason, f"{name}[{i + 1}].{d.field}", f"{name}[{i + 1}].{d.message}") from None
        return out

    return conv


_CONVERTERS: dict[str, Callable[[Field, bool], Converter]] = {
    "string": _text_converter,
    "text": _text_converter,
    "code": _text_converter,
    "enum": _enum_converter,
    "int": _int_converter,
    "decimal": _decimal_converter,
    "date": _date_converter,
    "datetime": _datetime_converter,
    "bool": _bool_converter,
    "list": _list_converter,
}


def _converter(f: Field, as_json: bool) -> Converter:
    """The function that checks one value of the field and converts it (to its JSON form
    when ``as_json``), chosen by the field's type."""
    build = _CONVERTERS.get(f.type)
    if build is None:
        raise ValueError(f.type)
    return build(f, as_json)


_fromisoformat = datetime.fromisoformat


# A text or enum field checked inline by the fast path: (max length, min length, allowed values or None).
_Inline = tuple[Any, int, frozenset[str] | None]


class _Compiled(
    tuple[
        tuple[tuple[str, Converter, bool], ...],
        frozenset[str],
        dict[str, Converter],
        frozenset[str],
        dict[str, _Inline],
    ]
):
    """(converters in dictionary order, known names, converter by name, required names,
    the text and enum fields the fast path checks inline)."""


def _inline(f: Field) -> _Inline | None:
    """What ``_text_converter`` / ``_enum_converter`` check, for a str value: the same limits."""
    if f.type == "enum":
        return (None, 0, frozenset(f.values or ()))
    if f.type in ("string", "text", "code"):
        mx = int(f.max) if f.max is not None else None
        return (mx if f.type != "text" else 20000, int(f.min) if (f.type == "code" and f.min is not None) else 0, None)
    return None


def _compile(fields: Iterable[Field], as_json: bool) -> _Compiled:
    fields = tuple(fields)
    convs = tuple((f.name, _converter(f, as_json), f.required) for f in fields)
    inline = {f.name: spec for f in fields if (spec := _inline(f)) is not None}
    return _Compiled(
        (
            convs,
            frozenset(f.name for f in fields),
            {n: c for n, c, _ in convs},
            frozenset(f.name for f in fields if f.required),
            inline,
        )
    )


def _run(compiled: _Compiled, record: dict[str, Any]) -> dict[str, Any]:
    """Fast path: convert the fields the record has, in its own order; a text or enum
    value (most of a record) is checked inline, without a converter call. Anything
    unusual (a defect, an unknown or null field) is handed to the ordered pass, so the
    defect reported is always the first in dictionary order."""
    by_name, required, inline = compiled[2], compiled[3], compiled[4]
    out: dict[str, Any] = {}
    try:
        for name, v in record.items():
            if v.__class__ is str:
                s = v.strip()
                if not s:
                    if name in required:
                        return _run_ordered(compiled, record)
                    continue
                spec = inline.get(name)
                if spec is None:
                    out[name] = by_name[name](v)
                    continue
                limit, least, allowed = spec
                if allowed is not None:
                    if s not in allowed:
                        return _run_ordered(compiled, record)
                elif len(s) > limit or len(s) < least or (not s.isprintable() and _CONTROL_RE.search(s)):
                    return _run_ordered(compiled, record)
                out[name] = s
            elif v is None or isinstance(v, str):  # a str subclass: the ordered pass, as it was
                if v is not None or name in required:
                    return _run_ordered(compiled, record)
            else:
                out[name] = by_name[name](v)
    except (KeyError, FieldDefect, AttributeError, TypeError):
        return _run_ordered(compiled, record)
    if not required <= out.keys():
        return _run_ordered(compiled, record)
    return out


def _run_ordered(compiled: _Compiled, record: dict[str, Any]) -> dict[str, Any]:
    convs, known = compiled[0], compiled[1]
    out: dict[str, Any] = {}
    for name, conv, required in convs:
        v = record.get(name)
        if v is None or (isinstance(v, str) and not v.strip()):
            if required:
                raise FieldDefect(Reason.FIELD_REQUIRED, name, f"{name} is required")
            continue
        out[name] = conv(v)
    for extra in record.keys() - known:
        raise FieldDefect(Reason.FIELD_UNKNOWN, extra, f"{extra} is not a field of this message kind")
    return out


@cache
def _compiled_for(kind: str) -> _Compiled:
    return _compile(dictionary_kind(kind).fields, as_json=False)


def canonicalise(k: Kind, record: dict[str, Any]) -> dict[str, Any]:
    """Mapped record → typed canonical record, or ``FieldDefect``."""
    return _run(_compiled_for(k.kind), record)


def json_ready(value: Any) -> Any:
    """A canonical value as it goes into JSON (history, outbox, quarantine views)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
