"""``govhub quarantine`` as an administrator runs it: a real process, a real database.
Everything it prints is checked for unmasked personal data. (SQLite only: the same
workflow runs on PostgreSQL in tests/integration/test_quarantine_workflow.py, and each
process here costs seconds.)"""

from __future__ import annotations

import csv
import io
import json

import pytest

from hub.core.config import ROOT
from hub.model.codes import idcard
from hub.ops.pii_scan import leaks
from synth.generator import Generator, write_dept_b_csv
from tests.cli.test_cli import govhub


@pytest.fixture
def env(tmp_path):
    from hub.db.engine import migrate

    url = f"sqlite:///{tmp_path / 'hub.db'}"
    migrate(url)
    return {
        "GOVHUB_HOME": str(tmp_path / "home"),
        "GOVHUB_DB_URL": url,
        "GOVHUB_BROKER_URL": f"govhub+sqlite:///{tmp_path / 'bus.db'}",
        "PYTHONPATH": str(ROOT),
    }


def _clean(*outputs: str) -> None:
    for text in outputs:
        assert not leaks(text), [str(x) for x in leaks(text)]


def _column(path, name: str) -> str:
    header, row = csv.reader(io.StringIO(path.read_text(encoding="utf-8")))
    return row[header.index(name)]


def _fixed(wrong: str) -> str:
    return wrong[:17] + idcard.check_char(wrong[:17])


def test_correct_reject_retry_by_rule_and_history(env, tmp_path):
    path = tmp_path / "zjg.csv"
    with open(path, "wb") as f:
        write_dept_b_csv(
            (
                r
                for r, _ in Generator(seed=31, departments=["张家港市住房和城乡建设局"]).records(
                    "case", 40, defect_rate=0.3, defects=["id_check_char", "time_order"]
                )
            ),
            f,
            on_unmapped="keep",
        )
    govhub(env, "ingest", "--system", "zjg-housing", str(path))
    listed = json.loads(govhub(env, "quarantine", "list", "--json", "--rule", "case.identity").stdout)
    assert listed and {(r["reason"], r["field"]) for r in listed} == {("id_check_char", "applicant_id_no")}
    table = govhub(env, "quarantine", "list", "--system", "zjg-housing", "--kind", "case", "--status", "all").stdout
    assert "原因 reason" in table and "id_check_char" in table and "time_order" in table
    assert "没有符合条件" in govhub(env, "quarantine", "list", "--since", "2999-01-01").stdout
    first, second, third = (r["id"] for r in sorted(listed, key=lambda r: r["id"])[:3])
    shown = govhub(env, "quarantine", "show", str(first)).stdout
    assert "原因 reason: id_check_char" in shown and "SQRZJHM" in shown

    # the administrator exports the original, learns the right number, corrects one field
    export = tmp_path / "q.csv"
    govhub(env, "quarantine", "export", str(first), "--out", str(export), "--operator", "王管理员")
    wrong = _column(export, "SQRZJHM")
    missing_note = govhub(
        env,
        "quarantine",
        "retry",
        str(first),
        "--set",
        f"SQRZJHM={_fixed(wrong)}",
        "--operator",
        "王管理员",
        check=False,
    )
    assert missing_note.returncode == 2 and "--note" in missing_note.stderr
    done = govhub(
        env,
        "quarantine",
        "retry",
        str(first),
        "--set",
        f"applicant_id_no={_fixed(wrong)}",
        "--operator",
        "王管理员",
        "--note",
        f"电话核对 {_fixed(wrong)}",
    ).stdout
    assert "入库 stored" in done and "SQRZJHM" in done

    # a whole corrected record from the export file of another one
    export2 = tmp_path / "q2.csv"
    govhub(env, "quarantine", "export", str(second), "--out", str(export2), "--operator", "王管理员")
    wrong2 = _column(export2, "SQRZJHM")
    export2.write_text(export2.read_text(encoding="utf-8").replace(wrong2, _fixed(wrong2)), encoding="utf-8")
    whole = govhub(
        env,
        "quarantine",
        "retry",
        str(second),
        "--payload",
        str(export2),
        "--operator",
        "王管理员",
        "--note",
        "整条更正",
    ).stdout
    assert "入库 stored" in whole

    rejected = govhub(env, "quarantine", "reject", str(third), "--operator", "王管理员", "--note", "部门重报").stdout
    assert "已驳回" in rejected
    twice = govhub(env, "quarantine", "reject", str(third), "--operator", "王管理员", "--note", "x", check=False)
    assert twice.returncode == 2 and "history" in twice.stderr

    bulk = govhub(env, "quarantine", "retry", "--rule", "case.identity", "--operator", "王管理员")
    remaining = len(listed) - 3
    assert f"{remaining} retried → stored 0, duplicate 0, still quarantined {remaining}" in bulk.stdout

    hist = govhub(env, "quarantine", "history", str(first)).stdout
    assert "corrected by 王管理员" in hist and f"更正自隔离 #{first}" in hist and "导出 export" in hist
    hist_json = json.loads(govhub(env, "quarantine", "history", str(first), "--json").stdout)
    assert [a["action"] for a in hist_json["actions"]] == ["export", "correct"]

    stats = json.loads(govhub(env, "stats", "--json").stdout)
    t = stats["total"]
    assert t["received"] == 40 == t["stored"] + t["duplicate"] + t["quarantined"] and stats["corrected"] == 2
    assert "其中更正 corrected" in govhub(env, "stats").stdout
    _clean(
        table,
        shown,
        done,
        whole,
        rejected,
        bulk.stdout,
        bulk.stderr,
        hist,
        json.dumps(hist_json, ensure_ascii=False),
        twice.stderr,
        missing_note.stderr,
    )


def test_clear_refusals(env):
    missing = govhub(env, "quarantine", "retry", "999999", "--operator", "x", "--note", "y", check=False)
    assert missing.returncode == 2 and "govhub quarantine list" in missing.stderr
    nothing = govhub(env, "quarantine", "retry", "--operator", "x", check=False)
    assert nothing.returncode == 2 and "--rule" in nothing.stderr
    both = govhub(env, "quarantine", "retry", "1", "--rule", "r", "--operator", "x", "--note", "y", check=False)
    assert both.returncode == 2 and "not both" in both.stderr
