"""The leak scanner finds what masking should have hidden — so the demo test that relies
on it can fail — and does not cry wolf at case numbers, timestamps or digests."""

from __future__ import annotations

import random

from hub.model.codes import idcard
from hub.model.masking import mask_text
from hub.ops.pii_scan import leaks, scan_tree

ID = "32058119900101123" + idcard.check_char("32058119900101123")
WRONG_CHECK = ID[:17] + ("0" if ID[17] != "0" else "1")


def test_finds_unmasked_ids_and_phones():
    text = (
        f"2026-11-22 INFO govhub.pipeline record with applicant {ID}\n"
        f"error: ID number {WRONG_CHECK} has a wrong check character\n"
        f"Entity 'n{ID}' not defined\n"
        "call 13812345678 back\n"
    )
    found = leaks(text, "app.log")
    assert [(x.where, x.kind) for x in found] == [
        ("app.log:1", "id_no"),
        ("app.log:2", "id_no"),
        ("app.log:3", "id_no"),
        ("app.log:4", "phone"),
    ]
    assert ID not in " ".join(map(str, found))  # the report of a leak does not leak


def test_masked_text_is_clean():
    assert leaks(mask_text(f"applicant {ID}, phone 13812345678, id {WRONG_CHECK}")) == []


def test_no_false_alarms_on_other_numbers():
    text = (
        "case 11320581MBL65F0H1L401001000100020260703000005 at 20260917101844\n"
        "message file:zjg-0001.csv:83682:0d314aca662f038ba2c5e4d5 sha256:9f13812345678ab\n"
        "uscc 91320507MAPHCLBY93 licence DLYS32059400000135 count 1,043\n"
    )
    assert leaks(text) == []
    rnd = random.Random(7)  # random 18-digit runs: a real birth date and province rule nearly all out
    runs = ["".join(rnd.choice("0123456789") for _ in range(18)) for _ in range(2000)]
    assert len(leaks("\n".join(runs))) < 5


def test_scan_tree_reads_every_file_but_the_skipped(tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "quality.html").write_text(f"<td>{ID}</td>", encoding="utf-8")
    (tmp_path / "reports" / "gbk.csv").write_bytes(f"姓名,{ID}".encode("gbk"))
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "people.jsonl").write_text(ID)
    (tmp_path / "govhub.db").write_bytes(ID.encode())
    read, found = scan_tree(tmp_path, skip_dirs=["inbox"], skip_suffixes=(".db",))
    assert sorted(p.name for p in read) == ["gbk.csv", "quality.html"]
    assert sorted(x.where for x in found) == ["reports/gbk.csv:1", "reports/quality.html:1"]
