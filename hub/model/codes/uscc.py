"""统一社会信用代码 (GB 32100-2015): unified social credit codes.

- 18 characters from ``0-9A-Z`` without I, O, Z, S, V (31 symbols, values 0–30).
- pos 1 registration department (``1``–``9``, ``A``, ``N``, ``Y``; see
  :data:`REGISTRATION_DEPARTMENTS`), pos 2 organisation category, pos 3–8 division
  code of the registering authority (``100000`` = national), pos 9–17 organisation
  code, pos 18 check: weights 3^(i-1) mod 31, check = (31 − Σ mod 31) mod 31.
- Normalised output: upper case, spaces and hyphens removed.
- Every registration department is accepted. (python-stdnum's ``cn.uscc.validate``
  rejects letters in positions 1–8, i.e. every ``A``/``N``/``Y`` code.)
- ``allow``: pilot-era codes (some early Fujian ones) that do not follow the check;
  they skip only the check character. Entries must be normalised.
- ``divisions``: a DivisionTable; pos 3–8 must have existed at some time (or be
  ``100000``). Without one, pos 3–8 need only be digits.
- The organisation-code body is NOT checked against GB 11714: individual businesses'
  (92…) bodies often fail it. :func:`org_code_consistent` reports it separately.
- Errors: CodeError ``uscc_length``, ``uscc_format``, ``uscc_registration_dept``,
  ``uscc_division``, ``uscc_check_char``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.model.codes import orgcode
from hub.model.codes.errors import CodeError, mask
from hub.model.outcomes import Reason

if TYPE_CHECKING:
    from hub.model.codes.divisions import DivisionTable

__all__ = [
    "ALPHABET",
    "REGISTRATION_DEPARTMENTS",
    "check_char",
    "validate",
    "is_valid",
    "organisation_code",
    "registration_department",
    "org_code_consistent",
]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28

REGISTRATION_DEPARTMENTS = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商",
    "A": "军队编制",
    "N": "农业",
    "Y": "其他",
}
NATIONAL = "100000"

# The check sums vᵢ·3^(i-1) mod 31. Reversed, that is the code read as a base-34 number
# (34 ≡ 3 mod 31), which int() computes in C. int() needs contiguous digit symbols, so
# the USCC symbols (which skip I O S V Z) are first mapped onto 0-9A-U; every other byte
# maps to '!', which int() rejects and which also flags bad characters.
_to_base34 = bytearray(b"!" * 256)
for _sym, _digit in zip(ALPHABET, "0123456789ABCDEFGHIJKLMNOPQRSTU"):
    _to_base34[ord(_sym)] = ord(_digit)
_TO_BASE34 = bytes(_to_base34)
_DEPTS = frozenset(REGISTRATION_DEPARTMENTS)
_EMPTY: frozenset[str] = frozenset()


def _check(mapped: bytes) -> str:
    return ALPHABET[-int(mapped[16::-1], 34) % 31]


def check_char(first17: str) -> str:
    """The check character for the first 17 characters."""
    if not isinstance(first17, str) or len(first17) != 17 or not first17.isascii():
        raise CodeError(
            Reason.USCC_FORMAT, "a credit code's first 17 characters must come from 0-9 A-Z without I O Z S V"
        )
    m = first17.upper().encode("ascii").translate(_TO_BASE34)
    if b"!" in m:
        raise CodeError(
            Reason.USCC_FORMAT, "a credit code's first 17 characters must come from 0-9 A-Z without I O Z S V"
        )
    return _check(m)


def _normalise(value: str) -> tuple[str, bytes]:
    """Normalise and check length and symbols; returns the code and its base-34 bytes."""
    if type(value) is str and len(value) == 18 and value.isascii():
        m = value.encode("ascii").translate(_TO_BASE34)
        if b"!" not in m:  # already clean: the common case
            return value, m
    if not isinstance(value, str):
        raise CodeError(Reason.USCC_FORMAT, f"a credit code must be text, got {mask(value)}")
    v = value.strip().replace(" ", "").replace("-", "").upper()
    if len(v) != 18:
        raise CodeError(Reason.USCC_LENGTH, f"credit code {mask(v)} has {len(v)} characters; it must have 18")
    m = v.encode("ascii", "replace").translate(_TO_BASE34)
    if b"!" in m:
        hint = ""
        if any(c in "IOZSV" for c in v):
            hint = " (I, O, Z, S and V are never used: O is usually 0, I is 1)"
        raise CodeError(
            Reason.USCC_FORMAT,
            f"credit code {mask(v)} may only contain 0-9 and A-Z without I O Z S V{hint}",
        )
    return v, m


def _dept(v: str) -> None:
    if v[0] not in _DEPTS:
        raise CodeError(
            Reason.USCC_REGISTRATION_DEPT,
            f"credit code {mask(v)}: first character is not a registration department "
            f"(one of {' '.join(REGISTRATION_DEPARTMENTS)})",
        )


def validate(value: str, allow: frozenset[str] = _EMPTY, divisions: DivisionTable | None = None) -> str:
    """Return the normalised 18-character code or raise CodeError."""
    v, m = _normalise(value)
    _dept(v)
    div = v[2:8]
    if not div.isdigit():
        raise CodeError(
            Reason.USCC_DIVISION,
            f"credit code {mask(v)}: characters 3-8 must be a 6-digit division code",
        )
    if divisions is not None and div not in divisions.ever_codes and div != NATIONAL:
        raise CodeError(
            Reason.USCC_DIVISION,
            f"credit code {mask(v)}: characters 3-8 are not a division code that ever existed in "
            f"division table {divisions.version}; check the code, or add a real local code to "
            "catalog/divisions/supplement.csv",
        )
    # The allow-list is consulted only on failure: it is usually empty and the check is cheaper.
    if v[17] != _check(m) and v not in allow:
        raise CodeError(
            Reason.USCC_CHECK_CHAR,
            f"credit code {mask(v)}: the check character (last character) does not match the first "
            "17 characters; one of them is probably mistyped (allow-list a pilot-era code if it is real)",
        )
    return v


def is_valid(value: str, **kw: Any) -> bool:
    """True if :func:`validate` accepts ``value`` (same keyword arguments)."""
    try:
        validate(value, **kw)
    except CodeError:
        return False
    return True


def organisation_code(value: str) -> str:
    """Positions 9–17, the organisation code (GB 11714 body + check).

    Checks length, symbols and registration department, not the check character, so
    it also works on allow-listed and quarantined codes.
    """
    v, _ = _normalise(value)
    _dept(v)
    return v[8:17]


def registration_department(value: str) -> str:
    """Chinese label of position 1, e.g. ``'工商'`` for ``9``; the check is not verified."""
    v, _ = _normalise(value)
    _dept(v)
    return REGISTRATION_DEPARTMENTS[v[0]]


def org_code_consistent(value: str) -> bool:
    """True if positions 9–17 pass GB 11714 (informational; never a rejection reason)."""
    try:
        v, _ = _normalise(value)
    except CodeError:
        return False
    return orgcode.is_valid(v[8:17])
