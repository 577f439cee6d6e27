"""Logging for the CLI, the worker, the API and DAG tasks: one line per event, personal
data masked.

``install_masking`` masks at the source — every log record any library creates in this
process has its message and traceback scrubbed (``hub.masking.mask_text``) when it is
created, so handlers configured by others (uvicorn, Airflow's task log, pytest) never
see an ID number or a mobile number. Python warnings are routed into logging, and an
uncaught exception's traceback is masked before it is printed.
"""

from __future__ import annotations

import logging
import sys
import traceback

from hub.masking import MaskingFilter, mask_text

_installed = False


def _masked_record_factory(base):
    def factory(*args, **kwargs):
        record = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 — a broken format string: let the handler report it as usual
            return record
        masked = mask_text(message)
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


def setup(level: str = "INFO", stream=None) -> None:
    install_masking()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(MaskingFilter())  # second line: records made before install_masking
    root = logging.getLogger("govhub")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # other libraries' warnings (kombu, paramiko, zeep, uvicorn...) get the same handler
    # instead of Python's bare last-resort one
    top = logging.getLogger()
    if not top.handlers:
        other = logging.StreamHandler(stream or sys.stderr)
        other.setFormatter(handler.formatter)
        other.addFilter(MaskingFilter())
        other.setLevel(logging.WARNING)
        top.addHandler(other)
