"""The monitoring rules file: the committed one loads; a bad one is refused with the file
name and the rule's key."""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml

from hub.domains.supervision.rules import CHECKS, RulesError, evaluate, load_rules, rules_path

GOOD = {
    "id": "time-yellow",
    "check": "time_limit",
    "rule_type": "时限",
    "level": "黄牌",
    "params": {"state": "due_soon", "yellow_share": 0.8},
}


def _write(tmp_path, doc) -> str:
    p = tmp_path / "rules.yaml"
    p.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return str(p)


def test_committed_rules_load():
    rules = load_rules()
    assert {r.check for r in rules} == set(CHECKS)
    assert {r.level for r in rules if r.check == "time_limit"} == {"黄牌", "红牌", "超法定期限"}
    assert rules_path().name == "monitoring_rules.yaml"


@pytest.mark.parametrize(
    "change, where, problem",
    [
        ({"level": "橙牌"}, "rules[0] (id time-yellow).level", "not one of"),
        ({"rule_type": "其他"}, "rules[0] (id time-yellow).rule_type", "not one of"),
        ({"check": "nope"}, "rules[0] (id time-yellow).check", "unknown check"),
        ({"colour": "red"}, "rules[0] (id time-yellow).colour", "unknown key"),
        ({"enabled": "yes"}, "rules[0] (id time-yellow).enabled", "true or false"),
        ({"id": "时限"}, "rules[0] (id 时限).id", "letters, digits"),
        ({"params": {"state": "late"}}, "rules[0] (id time-yellow).params.state", "one of"),
        ({"params": {"state": "due_soon", "yellow_share": 1.5}}, "params.yellow_share", "(0, 1]"),
        ({"params": {"state": "due_soon", "yellow_days": -1}}, "params.yellow_days", "0 or more"),
        ({"params": {"state": "due_soon", "tolerance": 1}}, "params.tolerance", "not a parameter"),
    ],
)
def test_bad_rule_is_refused_with_file_and_key(tmp_path, change, where, problem):
    path = _write(tmp_path, {"version": 1, "rules": [{**GOOD, **change}]})
    with pytest.raises(RulesError) as e:
        load_rules(path)
    assert str(e.value).startswith(path) and where in str(e.value) and problem in str(e.value)


def test_file_level_errors(tmp_path):
    cases = [
        ("rules: [", "not valid YAML"),
        ({"version": 2, "rules": [GOOD]}, "version: expected 1"),
        ({"version": 1, "rules": []}, "rules: expected a non-empty list"),
        ({"version": 1, "rules": [GOOD], "extra": 1}, "unknown key"),
        ({"version": 1, "rules": [GOOD, GOOD]}, "rules[1] (id time-yellow).id: duplicate id"),
        ({"version": 1, "rules": [{k: v for k, v in GOOD.items() if k != "level"}]}, ".level: required"),
    ]
    for doc, problem in cases:
        path = _write(tmp_path, doc)
        with pytest.raises(RulesError, match=None) as e:
            load_rules(path)
        assert path in str(e.value) and problem in str(e.value), str(e.value)
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")


def test_disabled_rules_are_skipped(tmp_path):
    path = _write(tmp_path, {"version": 1, "rules": [{**GOOD, "enabled": False}]})
    assert load_rules(path) == [] and len(load_rules(path, enabled_only=False)) == 1


def test_item_limits_used_when_the_case_has_none_and_yellow_days():
    case = {"case_no": "X", "accept_time": datetime(2026, 3, 2, 9), "status": "办理中"}
    item = {"promise_days": 5, "promise_unit": "工作日", "legal_days": 20}
    path_rules = load_rules()
    assert [f.rule.id for f in evaluate(path_rules, case, item, datetime(2026, 3, 6, 10))] == ["time-yellow"]
    assert evaluate(path_rules, case, None, datetime(2026, 3, 6, 10)) == []  # no limit anywhere: no clock
    days = [r for r in path_rules if r.id == "time-yellow"][0]
    from dataclasses import replace

    two_left = replace(days, params={"state": "due_soon", "yellow_share": None, "yellow_days": 2})
    assert evaluate([two_left], case, item, datetime(2026, 3, 4, 10)) == []  # 3 left
    assert len(evaluate([two_left], case, item, datetime(2026, 3, 5, 10))) == 1  # 2 left
