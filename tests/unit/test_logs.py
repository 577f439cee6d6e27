"""Every log line of the process is masked — the hub's own, other libraries' with their
own handlers, tracebacks, warnings and uncaught exceptions."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys

import pytest

from hub.core.config import ROOT
from hub.model.codes import idcard
from hub.ops import logs
from hub.ops.pii_scan import leaks

ID = "32058119900101123" + idcard.check_char("32058119900101123")


@pytest.fixture
def captured():
    """A handler of another library's kind: it formats what it gets, no filter of ours."""
    logs.install_masking()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    loggers = [logging.getLogger("uvicorn.error")]
    for lg in loggers:
        lg.addHandler(handler)
    yield out
    for lg in loggers:
        lg.removeHandler(handler)


def test_other_libraries_records_are_masked(captured):
    log = logging.getLogger("uvicorn.error")
    log.warning("request for applicant %s, phone %s", ID, "13812345678")
    log.error(f"inline {ID}")
    try:
        raise ValueError(f"cannot parse {ID}")
    except ValueError:
        log.exception("failed on %s", "a record")
    text = captured.getvalue()
    assert "cannot parse" in text and "Traceback" in text  # the lines are there ...
    assert leaks(text) == [], text  # ... masked


def test_warnings_and_uncaught_exceptions_are_masked_in_a_process():
    # a process of its own: pytest installs its own warning and exception hooks
    code = (
        "import warnings; from hub.ops import logs; logs.setup('WARNING'); "
        f"warnings.warn('odd value {ID}'); raise KeyError('{ID}')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert "odd value" in proc.stderr and "KeyError" in proc.stderr, proc.stderr
    assert not leaks(proc.stderr), proc.stderr


def test_uncaught_exception_is_masked(capsys):
    try:
        raise KeyError(ID)
    except KeyError as exc:
        logs._masked_excepthook(type(exc), exc, exc.__traceback__)
    err = capsys.readouterr().err
    assert "KeyError" in err and not leaks(err)


def test_setup_masks_the_hubs_own_lines():
    out = io.StringIO()
    logs.setup("DEBUG", stream=out)
    try:
        logging.getLogger("govhub.test").info("stored %s", ID)
    finally:
        logs.setup("WARNING")
    assert "stored" in out.getvalue() and not leaks(out.getvalue())
