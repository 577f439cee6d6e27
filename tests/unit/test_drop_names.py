"""Which file names a drop poller takes, and which it refuses without touching the file."""

from __future__ import annotations

import pytest

from adapters.errors import RejectedError
from adapters.file import FileAdapter, safe_name, unsafe_name


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.xml",
        "/etc/passwd.xml",
        "sub/x.xml",
        "..\\..\\x.xml",
        "a\x00.xml",
        "a\nb.xml",
        "\x1b[2Jx.xml",
        "办件\u202egnp.exe.xml",
        "zero\u200bwidth.xml",
        "..／..／etc／passwd.xml",
        "a\u2215b.xml",
        "x" * 252 + ".xml",
        ".",
        "..",
        "",
    ],
)
def test_unsafe_names_have_a_reason(name):
    assert unsafe_name(name)
    with pytest.raises(RejectedError):
        safe_name(name)


@pytest.mark.parametrize(
    "name", ["cs-2026-0001.xml", "常熟审批局-办件-20261122.xml", "zjg 2026 (1).csv", "a-b_c.d.jsonl"]
)
def test_plain_names_pass(name):
    assert unsafe_name(name) is None and safe_name(name) == name


def test_folder_drop_yields_unsafe_names_unread(tmp_path):
    (tmp_path / "good.xml").write_bytes(b"<x/>")
    (tmp_path / "bad\nname.xml").write_bytes(b"<secret/>")
    envelopes = list(FileAdapter(f"file://{tmp_path}").read())
    by_name = {e.filename or e.headers["listed_name"]: e for e in envelopes}
    assert by_name["good.xml"].body == b"<x/>" and "refused" not in by_name["good.xml"].headers
    bad = by_name["bad\nname.xml"]
    assert bad.body == b"" and bad.headers["refused"] and bad.message_id.startswith("unsafe-name:")
