"""Masking of personal data by pattern and by field tag: the foundation under
``hub.model.masking`` (which re-exports all of it), importable by modules that
``masking`` itself builds on (``hub.model.xmlsafe`` masks its parser errors with
``mask_text``) without a cycle.
"""

from __future__ import annotations

import re

# 15/18-char ID numbers and mainland mobile numbers inside any text. Digit runs are
# bounded by digits only, so longer numbers (case numbers, timestamps) are left alone
# while an ID glued to letters on either side ("n1101…" in a parser message, "…1234abc"
# in a sender's value) is caught. ``hub.ops.pii_scan`` looks for leaks with this one.
ID18_RE = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_ID15_RE = re.compile(r"(?<!\d)\d{15}(?!\d)")
_MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_id(value: str) -> str:
    v = str(value)
    if len(v) <= 5:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 5) + v[-2:]


def mask_phone(value: str) -> str:
    v = str(value)
    if len(v) < 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


def mask_name(value: str) -> str:
    v = str(value)
    if not v:
        return v
    # 企业/机关 names are not personal data, but a field tagged as a name may hold either;
    # keeping the first character identifies neither.
    return v[0] + "*" * min(len(v) - 1, 3) if len(v) > 1 else "*"


def mask_address(value: str) -> str:
    v = str(value)
    cut = 0
    for marker in ("区", "县", "市"):
        i = v.rfind(marker, 0, 12)
        if i > cut:
            cut = i + 1
    cut = cut or min(len(v), 6)
    return v[:cut] + "****"


def mask_text(text: str) -> str:
    """Scrub ID numbers and mobile numbers from free text."""
    s = str(text)
    s = ID18_RE.sub(lambda m: mask_id(m.group(0)), s)
    s = _ID15_RE.sub(lambda m: mask_id(m.group(0)), s)
    return _MOBILE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), s)


# C0/C1 control characters and the Unicode line/paragraph separators: a sender's value
# that carries them could forge or split log lines.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def log_safe(value: object) -> str:
    """A sender-supplied value (message id, file name, system id) fit for one log line:
    control characters written as escapes (CR LF → ``\\r\\n``), so it cannot forge lines."""
    return _CONTROL_RE.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), str(value))


MASKERS = {
    "id_no": mask_id,
    "phone": mask_phone,
    "name": mask_name,
    "address": mask_address,
    "free_text": mask_text,
}
