"""Chinese labels for quarantine reason codes (隔离原因), read from
``catalog/quality_reasons.yaml`` (or the file named by ``GOVHUB_QUALITY_REASONS``).

The codes belong to the pipeline; this file only says how the report names them. A bad
entry fails at load with the file and line; a code the file does not know is shown as
it is, so a new check never breaks the report."""

from __future__ import annotations

import re
from pathlib import Path

from hub.core import catalogfile
from hub.core.config import load_settings
from hub.core.errors import ConfigError

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class ReasonsError(ConfigError):
    reason = "reasons_invalid"


def reasons_path() -> Path:
    return load_settings().quality_reasons_file


def load_labels(path: Path | None = None) -> dict[str, str]:
    path = path or reasons_path()
    source = catalogfile.read(path, ReasonsError, "reason labels")
    doc = source.data

    def bad(keys: list[str], problem: str) -> Exception:
        return source.error(ReasonsError, keys, problem, line=source.line(keys) or 1)

    if not isinstance(doc, dict) or set(doc) != {"version", "reasons"}:
        raise ReasonsError(f"{path}: expected exactly the keys 'version' and 'reasons'")
    if doc["version"] != 1:
        raise bad(["version"], f"expected 1, not {doc['version']!r}")
    if not isinstance(doc["reasons"], dict) or not doc["reasons"]:
        raise bad(["reasons"], "expected a mapping of reason code to Chinese label")
    for code, label in doc["reasons"].items():
        if not isinstance(code, str) or not _CODE.match(code):
            raise bad(["reasons", str(code)], "a reason code is snake_case ascii (e.g. id_check_char)")
        if not isinstance(label, str) or not label.strip():
            raise bad(["reasons", code], "the label must be a non-empty string")
    return {code: label.strip() for code, label in doc["reasons"].items()}


_labels_at = catalogfile.per_path(load_labels)


def label(code: str) -> str:
    return _labels_at(reasons_path()).get(code, code)
