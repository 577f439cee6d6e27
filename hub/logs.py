"""Logging for the CLI and the worker: one line per event, personal data masked."""

from __future__ import annotations

import logging
import sys

from hub.masking import MaskingFilter


def setup(level: str = "INFO", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger("govhub")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
