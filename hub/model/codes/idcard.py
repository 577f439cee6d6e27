"""公民身份号码 (GB 11643-1999): resident identity numbers.

- 18 characters: address code (6, GB/T 2260) + birth date YYYYMMDD (8) + sequence (3,
  odd = male) + check character (ISO 7064 MOD 11-2, ``0-9`` or ``X``).
- Legacy 15-digit numbers (YYMMDD, no check) are upgraded: insert ``19``, add the check.
- Normalised output: spaces removed, ``x`` → ``X``, always 18 characters.
- The address code must be plausible *historically*: people keep the code of a county
  that has since been merged or renamed (320502 沧浪区, abolished 2012). With a
  :class:`~hub.model.codes.divisions.DivisionTable` the code must have existed at some time;
  without one only the province prefix is checked. (python-stdnum's ``cn.ric`` instead
  requires the code to be valid in the birth year, which rejects e.g. everyone in
  常熟 320581 born before 1989.)
- Birth date: a real date, not in the future, not before 1880.
- Errors: :class:`~hub.model.codes.errors.CodeError` with reasons ``id_length``,
  ``id_format``, ``id_birth_date``, ``id_address``, ``id_check_char``. Messages never
  contain the number.
- Hot path: string slices, set lookups and one ``int()`` for the checksum; no
  ``datetime`` objects, no regex. About 1.5 µs per call on a slow 2-core VM.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import time as dtime
from functools import lru_cache
from time import time as _time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.model.codes.divisions import DivisionTable

from hub.core import clock
from hub.model.codes.errors import CodeError, mask
from hub.model.outcomes import Reason

__all__ = ["check_char", "upgrade15", "validate", "is_valid", "birth_date", "gender", "PROVINCE_PREFIXES"]

# Indexed by (Σ dᵢ·Wᵢ) mod 11, with Wᵢ = 2^(18-i) mod 11 = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2.
_CHECK = "10X98765432"

# Provinces per GB/T 2260 (71 台湾, 81 香港, 82 澳门 included). Used only without a
# division table. 83 (Taiwan residents' residence permits) is deliberately absent.
PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
MIN_BIRTH_YEAR = 1880


def check_char(first17: str) -> str:
    """The check character for the first 17 digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise CodeError(Reason.ID_FORMAT, "an ID number's first 17 characters must be digits")
    return _check(first17)


def _check(first17: str) -> str:
    # 13 ≡ 2 (mod 11), so reading the digits in base 13 gives Σ dᵢ·2^(17-i) (mod 11) in
    # one C call; doubling gives the standard's weights 2^(18-i). Same trick as
    # python-stdnum's cn.ric, verified against the weight table in the tests.
    return _CHECK[(2 * int(first17, 13)) % 11]


def upgrade15(number15: str) -> str:
    """Upgrade a legacy 15-digit number: YYMMDD → 19YYMMDD and append the check character."""
    if len(number15) != 15 or not (number15.isascii() and number15.isdigit()):
        raise CodeError(Reason.ID_FORMAT, "a legacy 15-digit ID number must be 15 digits")
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + _check(first17)


def _normalise(value: str) -> str:
    """Strip spaces, upper-case the check, upgrade 15 → 18; check length and characters."""
    if not isinstance(value, str):
        raise CodeError(Reason.ID_FORMAT, f"an ID number must be text, got {mask(value)}; read the field as a string")
    v = value.strip()
    if " " in v:
        v = v.replace(" ", "")
    n = len(v)
    if n == 18:
        head = v[:17]
        last = v[17]
        if last == "x":
            last = "X"
            v = head + "X"
        if not (head.isascii() and head.isdigit()) or last not in "0123456789X":
            raise CodeError(
                Reason.ID_FORMAT,
                f"ID number {mask(v)} must be 17 digits followed by a digit or X",
            )
        return v
    if n == 15:
        if not (v.isascii() and v.isdigit()):
            raise CodeError(Reason.ID_FORMAT, f"legacy ID number {mask(v)} must be 15 digits")
        return upgrade15(v)
    raise CodeError(
        Reason.ID_LENGTH,
        f"ID number {mask(v)} has {n} characters; it must have 18 (or 15 for a legacy number)",
    )


def _birth(v: str) -> date:
    try:
        return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        raise CodeError(
            Reason.ID_BIRTH_DATE,
            f"ID number {mask(v)}: characters 7-14 are not a real date (YYYYMMDD); check for a typo",
        ) from None


# Every MMDD of a leap year: checking the date is a set lookup plus, for 0229 only, a
# leap-year test. Building a datetime.date per record costs more than the rest of
# validate() together.
_MMDD = frozenset(
    f"{m:02d}{d:02d}"
    for m, days in enumerate((31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), 1)
    for d in range(1, days + 1)
)
_MIN_YMD = f"{MIN_BIRTH_YEAR}0101"
_LAST = frozenset("0123456789X")

# Today's date as YYYYMMDD and the epoch second it stops being today (local time, as
# date.today()). Refreshed lazily: date.today() per record is too slow. Another clock
# installed (hub.core.clock: tests, GOVHUB_CLOCK) gives its own CST date instead.
_today_cache: tuple[str, float] = ("", 0.0)


def _today_ymd() -> str:
    global _today_cache
    if not clock.is_system():
        return _ymd_of(clock.now().date())
    ymd, expires = _today_cache
    now = _time()
    if now < expires:
        return ymd
    d = date.fromtimestamp(now)
    midnight = datetime.combine(d + timedelta(days=1), dtime()).timestamp()
    _today_cache = (d.strftime("%Y%m%d"), midnight)
    return _today_cache[0]


@lru_cache(maxsize=64)
def _ymd_of(d: date) -> str:
    # Batch jobs pass the same ``today`` for every record: format it once.
    return d.strftime("%Y%m%d")


def _date_error(v: str, today_ymd: str) -> CodeError:
    """The specific reason a birth date failed the fast check (error path only)."""
    born = _birth(v)  # raises if not a real date
    if v[6:14] < _MIN_YMD:
        return CodeError(
            Reason.ID_BIRTH_DATE, f"ID number {mask(v)}: birth year {born.year} is before {MIN_BIRTH_YEAR}"
        )
    return CodeError(
        Reason.ID_BIRTH_DATE,
        f"ID number {mask(v)}: birth date is in the future (after {today_ymd}); check for a typo",
    )


def validate(value: str, divisions: DivisionTable | None = None, today: date | None = None) -> str:
    """Return the normalised 18-character number or raise CodeError.

    ``divisions``: a DivisionTable; the address code must have existed at some time.
    ``today``: the reference date for "not in the future" (default: the local date).
    """
    v = value
    # Fast path for the common case, an already-clean 18-character number.
    if not (type(v) is str and len(v) == 18 and v.isascii() and v[:17].isdigit() and v[17] in _LAST):
        v = _normalise(value)
    ymd = v[6:14]
    today_ymd = _today_ymd() if today is None else _ymd_of(today)
    # Fixed-width digit strings compare like the dates they spell.
    if v[10:14] not in _MMDD or not (_MIN_YMD <= ymd <= today_ymd):
        raise _date_error(v, today_ymd)
    if ymd[4:] == "0229":
        y = int(ymd[:4])
        if y % 4 or (y % 100 == 0 and y % 400):
            raise _date_error(v, today_ymd)
    if divisions is None:
        if v[:2] not in PROVINCE_PREFIXES:
            raise CodeError(
                Reason.ID_ADDRESS,
                f"ID number {mask(v)}: the first two digits are not a province code (GB/T 2260)",
            )
    elif v[:6] not in divisions.ever_codes:
        raise CodeError(
            Reason.ID_ADDRESS,
            f"ID number {mask(v)}: the address code (first 6 digits) never existed in division "
            f"table {divisions.version}; check for a typo",
        )
    if v[17] != _CHECK[(2 * int(v[:17], 13)) % 11]:  # _check(), inlined: hot path
        raise CodeError(
            Reason.ID_CHECK_CHAR,
            f"ID number {mask(v)}: the check character (last character) does not match the "
            "first 17 digits; one of them is probably mistyped",
        )
    return v


def is_valid(value: str, **kw: Any) -> bool:
    """True if :func:`validate` accepts ``value`` (same keyword arguments)."""
    try:
        validate(value, **kw)
    except CodeError:
        return False
    return True


def birth_date(value: str) -> date:
    """The birth date in an 18- or 15-digit number.

    Checks length, characters and that the date is real, but not the check character,
    so it also works on records quarantined for a bad check.
    """
    return _birth(_normalise(value))


def gender(value: str) -> str:
    """``'M'`` or ``'F'`` from the sequence digit (odd = male). Like :func:`birth_date`,
    the check character is not verified."""
    v = _normalise(value)
    return "M" if int(v[16]) % 2 else "F"
