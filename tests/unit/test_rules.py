"""Domain rules on canonical records (no database)."""

from datetime import datetime

import pytest

from hub.model.codes import orgcode, uscc
from hub.model.rules import RuleContext, RuleDefect, check

CTX = RuleContext(now=datetime(2026, 11, 21, 12, 0))


def _enterprise(org_body="MA1NHMCA", region="320581"):
    org = org_body + orgcode.check_char(org_body)
    code = "91" + region + org
    return {"uscc": code + uscc.check_char(code), "name": "苏州某某科技有限公司", "org_code": org[:8] + "-" + org[8]}


def test_org_code_normalised_and_consistent_with_uscc():
    rec = _enterprise()
    check("enterprise", rec, CTX)
    assert rec["org_code"] == rec["uscc"][8:17]


def test_org_code_mismatch_and_bad_check():
    rec = _enterprise()
    other = "MA1NHMCB"
    rec["org_code"] = other + orgcode.check_char(other)
    with pytest.raises(RuleDefect) as exc:
        check("enterprise", rec, CTX)
    assert exc.value.reason == "org_code_inconsistent"
    rec = _enterprise()
    rec["org_code"] = rec["org_code"][:-1] + ("0" if rec["org_code"][-1] != "0" else "1")
    with pytest.raises(RuleDefect) as exc:
        check("enterprise", rec, CTX)
    assert exc.value.reason == "org_check_char" and exc.value.rule == "enterprise.codes"


def test_case_time_order_and_limits():
    base = {"status": "受理", "apply_time": datetime(2026, 11, 2, 9), "accept_time": datetime(2026, 11, 1, 9)}
    with pytest.raises(RuleDefect) as exc:
        check("case", dict(base), CTX)
    assert exc.value.reason == "time_order" and exc.value.field == "accept_time"
    with pytest.raises(RuleDefect) as exc:
        check("case", {"status": "受理", "apply_time": datetime(2027, 11, 2, 9)}, CTX)
    assert exc.value.reason == "time_future"
    with pytest.raises(RuleDefect) as exc:
        check(
            "case",
            {"status": "受理", "apply_time": datetime(2026, 11, 2, 9), "promise_days": 30, "legal_days": 20},
            CTX,
        )
    assert exc.value.reason == "promise_exceeds_legal"
    with pytest.raises(RuleDefect) as exc:
        check("case", {"status": "办结", "apply_time": datetime(2026, 11, 2, 9)}, CTX)
    assert exc.value.reason == "status_inconsistent"


def test_id_numbers_normalised_in_place():
    from hub.model.codes import idcard

    body = "32058119900101100"
    x = body + idcard.check_char(body)
    rec = {
        "status": "受理",
        "apply_time": datetime(2026, 11, 2, 9),
        "applicant_id_type": "111",
        "applicant_id_no": x.lower(),
    }
    check("case", rec, CTX)
    assert rec["applicant_id_no"] == x.upper()
    legacy = "320581900101100"  # 15-digit, upgraded
    rec = {
        "status": "受理",
        "apply_time": datetime(2026, 11, 2, 9),
        "applicant_id_type": "111",
        "applicant_id_no": legacy,
    }
    check("case", rec, CTX)
    assert len(rec["applicant_id_no"]) == 18 and rec["applicant_id_no"][6:8] == "19"
