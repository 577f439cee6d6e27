"""电子证照标识 (GB/T 36902 family): electronic licence identifiers.

Layout (inferred from public implementations, see docs/standards.md)::

    1.2.156.3005.2.<type>.<issuer>.<serial>.<version>.<check>
    type     licence type code: defining authority's USCC (18) + 3 digits = 21 chars
    issuer   issuing authority's code, usually an 18-character USCC (any 0-9A-Z accepted)
    serial   issuer's serial number, 0-9A-Z
    version  3 digits, e.g. 001
    check    ISO 7064 MOD 37,36 over type+issuer+serial+version (dots removed)

- Normalised output: surrounding spaces removed, upper case.
- Only formats are checked inside the fields; the USCCs embedded in type and issuer
  are not check-verified here (the identifier's own check covers tampering).
- Errors: CodeError ``licence_id_format``, ``licence_id_check_char``. Messages mask
  the identifier: serials can embed personal numbers.
"""

from __future__ import annotations

from stdnum.iso7064 import mod_37_36

from hub.model.codes.errors import CodeError, mask
from hub.model.outcomes import Reason

__all__ = ["ROOT", "make", "validate", "is_valid", "check_char"]

ROOT = "1.2.156.3005.2"
_PREFIX = ROOT + "."
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_USCC_SYMBOLS = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")


def check_char(type_code: str, issuer_code: str, serial: str, version: str) -> str:
    """MOD 37,36 check character over the four fields (already normalised)."""
    return mod_37_36.calc_check_digit(type_code + issuer_code + serial + version)


def _fields(type_code: str, issuer_code: str, serial: str, version: str, shown: str) -> None:
    """Raise licence_id_format naming the first bad field; ``shown`` is the masked input."""
    problem = None
    if not (
        len(type_code) == 21
        and _USCC_SYMBOLS.issuperset(type_code[:18])
        and type_code[18:].isascii()
        and type_code[18:].isdigit()
    ):
        problem = "the licence type code must be 21 characters: a credit code (18) + 3 digits"
    elif not (issuer_code and _ALNUM.issuperset(issuer_code)):
        problem = "the issuer code must be non-empty 0-9 A-Z (usually an 18-character credit code)"
    elif not (serial and _ALNUM.issuperset(serial)):
        problem = "the serial must be non-empty 0-9 A-Z"
    elif not (len(version) == 3 and version.isascii() and version.isdigit()):
        problem = "the version must be 3 digits, e.g. 001"
    if problem:
        raise CodeError(Reason.LICENCE_ID_FORMAT, f"licence identifier {shown}: {problem}")


def make(type_code: str, issuer_code: str, serial: str, version: str | int = "001") -> str:
    """Build an identifier; fields are upper-cased and stripped, ``version`` may be an int."""
    if isinstance(version, int):
        version = f"{version:03d}"
    t, i, s, ver = (str(x).strip().upper() for x in (type_code, issuer_code, serial, version))
    _fields(t, i, s, ver, "being built")
    return f"{_PREFIX}{t}.{i}.{s}.{ver}.{check_char(t, i, s, ver)}"


def validate(value: str) -> str:
    """Return the normalised identifier or raise CodeError."""
    if not isinstance(value, str):
        raise CodeError(Reason.LICENCE_ID_FORMAT, f"a licence identifier must be text, got {mask(value)}")
    v = value.strip().upper()
    if not v.startswith(_PREFIX):
        raise CodeError(
            Reason.LICENCE_ID_FORMAT,
            f"licence identifier {mask(v)} must start with {_PREFIX} (电子证照 root)",
        )
    parts = v[len(_PREFIX) :].split(".")
    if len(parts) != 5:
        raise CodeError(
            Reason.LICENCE_ID_FORMAT,
            f"licence identifier {mask(v)} must have 5 dot-separated fields after the root "
            f"(type.issuer.serial.version.check), found {len(parts)}",
        )
    t, i, s, ver, check = parts
    _fields(t, i, s, ver, mask(v))
    if len(check) != 1 or check not in _ALNUM:
        raise CodeError(
            Reason.LICENCE_ID_FORMAT, f"licence identifier {mask(v)}: the check must be one character 0-9 A-Z"
        )
    if check != check_char(t, i, s, ver):
        raise CodeError(
            Reason.LICENCE_ID_CHECK_CHAR,
            f"licence identifier {mask(v)}: the check character (last field) does not match the "
            "other fields; the identifier was mistyped or altered",
        )
    return v


def is_valid(value: str) -> bool:
    try:
        validate(value)
    except CodeError:
        return False
    return True
