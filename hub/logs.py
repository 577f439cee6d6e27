"""Logging for the CLI, the API and the worker: one line per event, personal data masked,
each line carrying the correlation id of the message it is about (``hub.correlation``).

``GOVHUB_LOG_FORMAT=json`` writes one JSON object per line (for a log shipper):
``{"ts", "level", "logger", "correlation_id", "message"}`` plus ``exc`` for errors; the
message is masked before it is formatted, in both formats.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone

from hub.correlation import CorrelationFilter
from hub.masking import MaskingFilter, mask_text

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "correlation_id": getattr(record, "correlation_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def formatter(fmt: str | None = None) -> logging.Formatter:
    fmt = (fmt or os.environ.get("GOVHUB_LOG_FORMAT") or "text").lower()
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def handler(stream=None, fmt: str | None = None) -> logging.Handler:
    """A handler with the masking and correlation filters (the order matters: mask first)."""
    h = logging.StreamHandler(stream or sys.stderr)
    h.setFormatter(formatter(fmt))
    h.addFilter(MaskingFilter())
    h.addFilter(CorrelationFilter())
    return h


def setup(level: str = "INFO", stream=None, fmt: str | None = None) -> None:
    root = logging.getLogger("govhub")
    root.handlers[:] = [handler(stream, fmt)]
    root.setLevel(level)
    root.propagate = False
