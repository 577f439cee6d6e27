"""Logging for the CLI, the worker, the API and DAG tasks: one line per event, personal
data masked, each line carrying the correlation id of the message it is about
(``hub.core.correlation``). Control characters in a message (CR/LF in a sender's message id
or file name) are escaped (``hub.model.masking.log_line``), so a line cannot be forged.

``install_masking`` masks at the source — every log record any library creates in this
process has its message and traceback scrubbed (``hub.model.masking.mask_text``) when it is
created, so handlers configured by others (uvicorn, Airflow's task log, pytest) never
see an ID number or a mobile number. Python warnings are routed into logging, and an
uncaught exception's traceback is masked before it is printed.

``GOVHUB_LOG_FORMAT=json`` writes one JSON object per line (for a log shipper):
``{"ts", "level", "logger", "correlation_id", "message"}`` plus ``exc`` for errors; the
message is masked before it is formatted, in both formats.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime

from hub.core.config import load_settings
from hub.core.correlation import CorrelationFilter
from hub.model.masking import MaskingFilter, log_line, mask_text

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "correlation_id": getattr(record, "correlation_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


_installed = False


def _masked_record_factory(base):
    def factory(*args, **kwargs):
        record = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 — a broken format string: let the handler report it as usual
            return record
        masked = log_line(message)  # one line: a CR/LF in a sender's message id cannot forge another
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return record

    factory.govhub_masking = True
    return factory


def _masked_excepthook(exc_type, exc, tb) -> None:
    sys.stderr.write(mask_text("".join(traceback.format_exception(exc_type, exc, tb))))


def install_masking() -> None:
    """Mask every log record of this process from now on (idempotent)."""
    global _installed
    if _installed:
        return
    base = logging.getLogRecordFactory()
    if not getattr(base, "govhub_masking", False):
        logging.setLogRecordFactory(_masked_record_factory(base))
    logging.captureWarnings(True)
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _masked_excepthook
    _installed = True


def formatter(fmt: str | None = None) -> logging.Formatter:
    fmt = (fmt or load_settings().log_format).lower()
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def handler(stream=None, fmt: str | None = None) -> logging.Handler:
    """A handler with the masking and correlation filters (the order matters: mask first)."""
    h = logging.StreamHandler(stream or sys.stderr)
    h.setFormatter(formatter(fmt))
    h.addFilter(MaskingFilter())
    h.addFilter(CorrelationFilter())
    return h


def setup(level: str = "INFO", stream=None, fmt: str | None = None) -> None:
    install_masking()
    h = handler(stream, fmt)  # its MaskingFilter is a second line: records made before install_masking
    root = logging.getLogger("govhub")
    root.handlers[:] = [h]
    root.setLevel(level)
    root.propagate = False
    # other libraries' warnings (kombu, paramiko, zeep, uvicorn...) get the same handler
    # instead of Python's bare last-resort one
    top = logging.getLogger()
    if not top.handlers:
        other = handler(stream, fmt)
        other.setLevel(logging.WARNING)
        top.addHandler(other)
