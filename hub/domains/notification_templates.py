"""Notification templates (短信模板): the SMS text of each milestone, loaded from
``catalog/notification_templates.yaml`` (or ``GOVHUB_NOTIFICATION_TEMPLATES``) and checked
(``load_templates``), and filled in with a case's or a supervision record's fields (``render``).
The notifications themselves are ``hub.domains.notifications``."""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from hub.core import catalogfile
from hub.core.config import CATALOG_DIR, load_settings
from hub.core.errors import ConfigError

__all__ = ["MILESTONES", "PLACEHOLDERS", "TEMPLATES_FILE", "TemplateError", "load_templates", "render"]

TEMPLATES_FILE = CATALOG_DIR / "notification_templates.yaml"
MILESTONES = ("accepted", "correction", "concluded", "pickup", "supervision_alert")
PLACEHOLDERS = frozenset(
    {
        "case_no",
        "case_name",
        "item_name",
        "dept_name",
        "accept_time",
        "finish_time",
        "promise_days",
        "level",
        "description",
    }
)


class TemplateError(ConfigError):
    reason = "templates_invalid"


def load_templates(path: str | Path | None = None) -> dict[str, str]:
    path = Path(path or load_settings().notification_templates_file)
    doc = catalogfile.read(path, TemplateError, "notification templates").data
    if not isinstance(doc, dict) or not isinstance(doc.get("templates"), dict):
        raise TemplateError(f"{path}: needs a mapping 'templates: {{milestone: text}}'")
    templates = doc["templates"]
    out: dict[str, str] = {}
    for key, text in templates.items():
        where = f"{path}: templates.{key}"
        if key not in MILESTONES:
            raise TemplateError(f"{where}: unknown milestone (known: {', '.join(MILESTONES)})")
        if not isinstance(text, str) or not text.strip():
            raise TemplateError(f"{where}: the template must be non-empty text")
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
        except ValueError as e:
            raise TemplateError(f"{where}: malformed placeholder: {e}") from None
        for f in fields:
            if f not in PLACEHOLDERS:
                raise TemplateError(f"{where}: unknown placeholder {{{f}}} (known: {', '.join(sorted(PLACEHOLDERS))})")
        out[key] = text
    missing = [m for m in MILESTONES if m not in out]
    if missing:
        raise TemplateError(f"{path}: no template for {', '.join(missing)}")
    return out


def _cn_time(v: object) -> str:
    if isinstance(v, str):
        try:
            return _cn_time(datetime.fromisoformat(v))
        except ValueError:
            return v
    if isinstance(v, (datetime, date)):
        return f"{v.year}年{v.month}月{v.day}日"
    return ""


class _Values(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, values: Mapping[str, Any]) -> str:
    v = _Values({k: ("" if val is None else val) for k, val in values.items()})
    for k in ("accept_time", "finish_time"):
        if k in v:
            v[k] = _cn_time(v[k])
    return template.format_map(v)
