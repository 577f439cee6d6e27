"""组织机构代码 (GB 11714-1997): organisation codes, predecessor of the USCC body.

- 8 characters ``0-9A-Z`` (A=10 … Z=35) + check character; written ``XXXXXXXX-C`` or
  as 9 characters. Normalised output: 9 characters, upper case, no hyphen.
- Check: weights 3 7 9 10 5 8 4 2; c = 11 − (Σ mod 11); 10 → ``X``, 11 → ``0``.
  The Σ mod 11 = 0 case (check ``0``) is the one several public implementations miss.
- Positions 9–17 of a USCC are an organisation code, but individual businesses'
  USCCs often have bodies that fail this check: see ``uscc.org_code_consistent``.
- Errors: CodeError ``org_format``, ``org_check_char``.
"""

from __future__ import annotations

from operator import mul

from hub.model.codes.errors import CodeError, mask
from hub.model.outcomes import Reason

__all__ = ["check_char", "validate", "is_valid", "WEIGHTS"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# byte → value (0..35), 255 for anything else: one C call converts and vets a code.
_values = bytearray([255] * 256)
for _i, _c in enumerate(ALPHABET):
    _values[ord(_c)] = _i
_VALUES = bytes(_values)
# Indexed by Σ mod 11: c = 11 - r, so r = 0 → 11 → '0' and r = 1 → 10 → 'X'.
_CHECK = "0X987654321"


def _check(first8: bytes) -> str:
    return _CHECK[sum(map(mul, first8, WEIGHTS)) % 11]


def check_char(first8: str) -> str:
    """The check character for an 8-character body."""
    if not isinstance(first8, str) or len(first8) != 8 or not first8.isascii():
        raise CodeError(Reason.ORG_FORMAT, "an organisation code body must be 8 characters 0-9 A-Z")
    b = first8.upper().encode("ascii").translate(_VALUES)
    if 255 in b:
        raise CodeError(Reason.ORG_FORMAT, "an organisation code body must be 8 characters 0-9 A-Z")
    return _check(b)


def validate(value: str) -> str:
    """Return the normalised 9-character code or raise CodeError."""
    if not isinstance(value, str):
        raise CodeError(Reason.ORG_FORMAT, f"an organisation code must be text, got {mask(value)}")
    v = value.strip().replace(" ", "").upper()
    if len(v) == 10 and v[8] == "-":
        v = v[:8] + v[9]
    if len(v) != 9 or not v.isascii():
        raise CodeError(
            Reason.ORG_FORMAT,
            f"organisation code {mask(v)} must be 8 characters 0-9 A-Z plus a check character, "
            "written XXXXXXXX-C or as 9 characters",
        )
    b = v.encode("ascii").translate(_VALUES)
    if 255 in b or v[8] not in _CHECK:
        raise CodeError(
            Reason.ORG_FORMAT,
            f"organisation code {mask(v)} may only contain 0-9 and A-Z, and must end in 0-9 or X",
        )
    if v[8] != _check(b[:8]):
        raise CodeError(
            Reason.ORG_CHECK_CHAR,
            f"organisation code {mask(v)}: the check character (last character) does not match "
            "the first 8 characters; one of them is probably mistyped",
        )
    return v


def is_valid(value: str) -> bool:
    try:
        validate(value)
    except CodeError:
        return False
    return True
