"""Settings read from secret files (``GOVHUB_*_FILE``), and the log formats: JSON lines
with the correlation id, personal data masked in both formats."""

from __future__ import annotations

import io
import json
import logging

import pytest

from hub.core import correlation
from hub.core.config import load_settings
from hub.ops import logs

ID_NUMBER = "320581199001011234"


def test_urls_come_from_secret_files(tmp_path):
    (tmp_path / "db").write_text("postgresql+psycopg://hub:s3cret@db:5432/govhub\n", encoding="utf-8")
    (tmp_path / "mq").write_text("amqp://hub:s3cret@mq:5672/govhub", encoding="utf-8")
    s = load_settings(
        {
            "GOVHUB_HOME": str(tmp_path),
            "GOVHUB_DB_URL_FILE": str(tmp_path / "db"),
            "GOVHUB_BROKER_URL_FILE": str(tmp_path / "mq"),
        }
    )
    assert s.db_url == "postgresql+psycopg://hub:s3cret@db:5432/govhub"  # the trailing newline dropped
    assert s.broker_url == "amqp://hub:s3cret@mq:5672/govhub" and not s.embedded_broker
    # the variable itself wins over the file
    s = load_settings(
        {"GOVHUB_HOME": str(tmp_path), "GOVHUB_DB_URL": "sqlite:///x.db", "GOVHUB_DB_URL_FILE": str(tmp_path / "db")}
    )
    assert s.db_url == "sqlite:///x.db"


def test_a_missing_secret_file_says_what_to_do(tmp_path):
    with pytest.raises(RuntimeError, match="GOVHUB_DB_URL_FILE=.*cannot be read.*mount the secret"):
        load_settings({"GOVHUB_HOME": str(tmp_path), "GOVHUB_DB_URL_FILE": str(tmp_path / "absent")})


@pytest.fixture
def capture():
    logger = logging.getLogger("govhub")
    saved = logger.handlers[:], logger.level, logger.propagate
    stream = io.StringIO()
    yield stream
    logger.handlers[:], logger.level, logger.propagate = saved


def test_json_lines_carry_the_correlation_id_and_mask_personal_data(capture):
    logs.setup("INFO", stream=capture, fmt="json")
    log = logging.getLogger("govhub.test")
    with correlation.bound("abc-123"):
        log.info("record of %s refused", ID_NUMBER)
        try:
            raise ValueError(f"bad id {ID_NUMBER}")
        except ValueError:
            log.exception("failed")
    log.warning("outside any ingress")
    lines = [json.loads(x) for x in capture.getvalue().splitlines()]
    assert [ln["correlation_id"] for ln in lines] == ["abc-123", "abc-123", "-"]
    assert lines[0]["logger"] == "govhub.test" and lines[0]["level"] == "INFO"
    assert ID_NUMBER not in capture.getvalue()
    assert "refused" in lines[0]["message"] and "ValueError" in lines[1]["exc"]


def test_text_lines_show_the_correlation_id(capture):
    logs.setup("INFO", stream=capture, fmt="text")
    with correlation.bound("abc-123"):
        logging.getLogger("govhub.test").info("phone 13912345678")
    line = capture.getvalue()
    assert "[abc-123]" in line and "13912345678" not in line


@pytest.mark.parametrize(
    "asked,kept", [("dept-42.batch:7", True), ("a b", False), ("x" * 65, False), ("<script>", False), (None, False)]
)
def test_a_callers_id_is_kept_only_when_it_is_a_plain_token(asked, kept):
    got = correlation.accept(asked)
    assert (got == asked) is kept and len(got) <= 64
