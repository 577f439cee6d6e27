"""Finding personal data that escaped masking: 18-character ID numbers (公民身份号码) and
mainland mobile numbers in logs, reports and any other text a run leaves behind.

A digit run is an ID number when GB 11643 accepts it (``hub.model.codes.idcard``: province,
real birth date, check character) — or when only its check character is wrong, because
the records quarantined for exactly that (``id_check_char``) are personal data too. A
random 18-digit run passes neither: a province code and a birth date between 1880 and
today leave about one in five thousand. A mobile number is ``1[3-9]`` and nine more digits, not glued to
other letters or digits (so hex digests do not count).

Files are read as bytes decoded as Latin-1: every ASCII digit survives in UTF-8, GBK
and GB18030 alike, so one pass finds numbers in text of any of those encodings.
Compressed files are not looked into.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hub.model.codes import idcard
from hub.model.codes.errors import CodeError
from hub.model.masking import mask_id, mask_phone
from hub.model.outcomes import Reason
from hub.model.scrub import ID18_RE

# ID18_RE is the masking's own pattern (an ID glued to letters on either side counts), so
# what the scan calls a leak is exactly what masking should have caught
MOBILE_RE = re.compile(r"(?<![\dA-Za-z])1[3-9]\d{9}(?![\dA-Za-z])")


@dataclass(frozen=True)
class Leak:
    where: str  # file (or label) and line
    kind: str  # id_no | phone
    masked: str  # the finding, masked: the report of a leak must not leak

    def __str__(self) -> str:
        return f"{self.where}: unmasked {self.kind} {self.masked}"


def _id_shaped(s: str) -> bool:
    try:
        idcard.validate(s)
    except CodeError as exc:
        return exc.reason == Reason.ID_CHECK_CHAR  # all else right: a real number, mistyped
    return True


def leaks(text: str, where: str = "text") -> list[Leak]:
    """Unmasked ID numbers and mobile numbers in ``text``, line by line."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        if not any(c.isdigit() for c in line):
            continue
        found += [
            Leak(f"{where}:{n}", "id_no", mask_id(m.group(0))) for m in ID18_RE.finditer(line) if _id_shaped(m.group(0))
        ]
        found += [Leak(f"{where}:{n}", "phone", mask_phone(m.group(0))) for m in MOBILE_RE.finditer(line)]
    return found


def scan_tree(
    root: Path, skip_dirs: Iterable[str] = (), skip_suffixes: Iterable[str] = ()
) -> tuple[list[Path], list[Leak]]:
    """Every file under ``root`` except those under ``skip_dirs`` (names relative to
    root) or ending in ``skip_suffixes``; returns the files read and the leaks found."""
    root = Path(root)
    skip_paths = tuple(Path(d) for d in skip_dirs)
    skip_suffixes = tuple(skip_suffixes)
    read, found = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if any(rel.parts[: len(d.parts)] == d.parts for d in skip_paths) or path.name.endswith(skip_suffixes):
            continue
        read.append(path)
        found += leaks(path.read_bytes().decode("latin-1"), str(rel))
    return read, found
