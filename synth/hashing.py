"""Deterministic arithmetic of the generator: a 64-bit mixer for identities, seed-independent
hashes for reference data, credit codes from bodies, and cumulative weights."""

from __future__ import annotations

from collections.abc import Sequence
from math import gcd

from hub.model.codes import orgcode, uscc

_M64 = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64 finaliser: a well-spread 64-bit hash of an integer (identity derivation)."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _stable_hash(text: str) -> int:
    """Seed-independent hash of a string (for reference data such as department codes)."""
    h = 0
    for ch in text.encode("utf-8"):
        h = _mix(h ^ ch)
    return h


_USCC_ALPHA = uscc.ALPHABET  # 31 symbols (no I O Z S V)


def _base31(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, d = divmod(n, 31)
        out.append(_USCC_ALPHA[d])
    return "".join(reversed(out))


def _make_uscc(first8: str, body8: str) -> str:
    """USCC from registration dept + category + division (8) and an org-code body (8)."""
    org = body8 + orgcode.check_char(body8)
    first17 = first8 + org
    return first17 + uscc.check_char(first17)


def _coprime_multiplier(modulus: int, start: int) -> int:
    a = start | 1
    while gcd(a, modulus) != 1:
        a += 2
    return a


def _cumulative(weights: Sequence[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out
