"""Monitoring rules (监察规则) as data, and the functions that evaluate them on one case.

The rules file (``catalog/monitoring_rules.yaml``, or ``GOVHUB_MONITORING_RULES``) is
validated on load; an error names the file and the rule's key. Each enabled rule names a
``check`` function here, which returns the findings of one canonical case (with the
item it belongs to, when the hub has it):

| check | fires when |
|---|---|
| ``time_limit`` | the case's time-limit state (hub.domains.timelimit) reaches ``params.state``; the case's own limits, else the item's |
| ``process_order`` | steps (in ``seq`` order) start earlier than their predecessor, or run backwards in the 受理→…→送达 order |
| ``conclusion_without_acceptance`` | a step concludes (决定/办结) with no 受理 step before it, or a concluded case has no accept_time |
| ``completeness`` | a concluded case (办结) lacks materials the item marks required (by name) |
| ``fee_free_item`` | a fee is charged on an item marked free |
| ``fee_mismatch`` | the fee differs from the item's fee standard by more than ``params.tolerance`` |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hub.core import catalogfile
from hub.core.config import load_settings
from hub.core.errors import ConfigError
from hub.domains.timelimit.engine import Policy, TimeLimitError, compute_deadlines

RULE_TYPES = ("时限", "内容", "流程", "收费", "评价")
LEVELS = ("黄牌", "红牌", "超法定期限")
STATES = ("on_time", "due_soon", "overdue", "past_legal")
_RULE_KEYS = {"id", "check", "rule_type", "level", "enabled", "params", "description"}
_PARAMS = {
    "time_limit": {"state", "yellow_share", "yellow_days"},
    "process_order": set(),
    "conclusion_without_acceptance": set(),
    "completeness": set(),
    "fee_free_item": set(),
    "fee_mismatch": {"tolerance"},
}


class RulesError(ConfigError):
    """The monitoring rules file is unreadable or invalid (message: file, key, problem)."""

    reason = "monitoring_rules_invalid"


@dataclass(frozen=True)
class MonitoringRule:
    id: str
    check: str
    rule_type: str
    level: str
    enabled: bool = True
    params: dict = field(default_factory=dict)
    description: str | None = None


@dataclass(frozen=True)
class Finding:
    rule: MonitoringRule
    description: str
    evidence: str

    @property
    def level(self) -> str:
        return self.rule.level


def rules_path() -> Path:
    return load_settings().monitoring_rules_file


def load_rules(path: str | Path | None = None, enabled_only: bool = True) -> list[MonitoringRule]:
    """Read and validate the rules file; raises ``RulesError`` naming the file and key."""
    path = Path(path) if path else rules_path()
    doc = catalogfile.read(path, RulesError, "monitoring rules").data
    if not isinstance(doc, dict):
        raise RulesError(f"{path}: expected a mapping with 'version' and 'rules'")
    unknown = set(doc) - {"version", "rules"}
    if unknown:
        raise RulesError(f"{path}: unknown key(s) {sorted(unknown)}")
    if doc.get("version") != 1:
        raise RulesError(f"{path}: version: expected 1, not {doc.get('version')!r}")
    raw = doc.get("rules")
    if not isinstance(raw, list) or not raw:
        raise RulesError(f"{path}: rules: expected a non-empty list")
    rules: list[MonitoringRule] = []
    seen: set[str] = set()
    for i, r in enumerate(raw):
        rules.append(_rule(path, i, r, seen))
    return [r for r in rules if r.enabled or not enabled_only]


def _rule(path: Path, i: int, r: Any, seen: set[str]) -> MonitoringRule:
    where = f"{path}: rules[{i}]"
    if not isinstance(r, dict):
        raise RulesError(f"{where}: expected a mapping")
    rid = r.get("id")
    if rid is not None:
        where += f" (id {rid})"

    def bad(key: str, problem: str):
        return RulesError(f"{where}.{key}: {problem}")

    unknown = set(r) - _RULE_KEYS
    if unknown:
        raise bad(sorted(unknown)[0], "unknown key")
    for key in ("id", "check", "rule_type", "level"):
        if not isinstance(r.get(key), str) or not r[key].strip():
            raise bad(key, "required, a non-empty string")
    rid = r["id"]  # the string just checked
    if not rid.isascii() or not all(c.isalnum() or c in "-_" for c in rid) or len(rid) > 24:
        raise bad("id", "letters, digits, '-' and '_' only, at most 24 characters")
    if rid in seen:
        raise bad("id", "duplicate id")
    seen.add(rid)
    if r["check"] not in CHECKS:
        raise bad("check", f"unknown check {r['check']!r}; one of {sorted(CHECKS)}")
    if r["rule_type"] not in RULE_TYPES:
        raise bad("rule_type", f"{r['rule_type']!r} is not one of {list(RULE_TYPES)}")
    if r["level"] not in LEVELS:
        raise bad("level", f"{r['level']!r} is not one of {list(LEVELS)}")
    enabled = r.get("enabled", True)
    if not isinstance(enabled, bool):
        raise bad("enabled", "true or false")
    params = r.get("params") or {}
    if not isinstance(params, dict):
        raise bad("params", "expected a mapping")
    extra = set(params) - _PARAMS[r["check"]]
    if extra:
        raise bad(f"params.{sorted(extra)[0]}", f"not a parameter of {r['check']}")
    if r["check"] == "time_limit":
        if params.get("state") not in STATES[1:]:
            raise bad("params.state", f"required, one of {list(STATES[1:])}")
        share = params.get("yellow_share")
        if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1):
            raise bad("params.yellow_share", "a number in (0, 1]")
        days = params.get("yellow_days")
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
            raise bad("params.yellow_days", "a whole number of days, 0 or more")
    if r["check"] == "fee_mismatch":
        tol = params.get("tolerance", 0)
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or tol < 0:
            raise bad("params.tolerance", "a number, 0 or more")
    return MonitoringRule(rid, r["check"], r["rule_type"], r["level"], enabled, dict(params), r.get("description"))


# ---- the checks ----


def _t(v) -> str:
    return v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else str(v)


def with_item_limits(case: dict, item: dict | None) -> dict:
    """The case with the item's limits filled in where the case lacks them."""
    if not item:
        return case
    out = dict(case)
    for prefix in ("promise", "legal"):
        if out.get(f"{prefix}_days") is None and item.get(f"{prefix}_days") is not None:
            out[f"{prefix}_days"] = item[f"{prefix}_days"]
            out[f"{prefix}_unit"] = out.get(f"{prefix}_unit") or item.get(f"{prefix}_unit")
    return out


def time_limit(rule: MonitoringRule, case: dict, item: dict | None, now: datetime) -> list[Finding]:
    p = rule.params
    policy = Policy(
        yellow_share=p.get("yellow_share", 0.8) if "yellow_share" in p else 0.8, yellow_days=p.get("yellow_days")
    )
    try:
        d = compute_deadlines(with_item_limits(case, item), now=now, policy=policy)
    except TimeLimitError:
        return []
    state = d.state(now)
    if STATES.index(state) < STATES.index(p["state"]):
        return []
    legal = f", legal deadline {_t(d.legal_deadline)}" if d.legal_deadline else ""
    evidence = (
        f"state {state} at {_t(now)}: accepted {_t(d.start)}, promised {d.promised_days} {d.promised_unit}"
        f" (extension {d.extension_days}, suspended {d.suspended_days}), promised deadline "
        f"{_t(d.promised_deadline)}{legal}; {d.elapsed_days} clock days used, {d.remaining_days} left"
    )
    what = {"due_soon": "办件临近承诺时限", "overdue": "办件超过承诺时限", "past_legal": "办件超过法定时限"}[p["state"]]
    return [Finding(rule, f"{what}: {case.get('case_no')}", evidence)]


_ORDER = {"受理": 1, "审查": 2, "审核": 3, "审批": 4, "决定": 5, "办结": 6, "送达": 7}


def _steps(case: dict) -> list[dict]:
    return sorted(case.get("steps") or (), key=lambda s: s.get("seq") or 0)


def process_order(rule: MonitoringRule, case: dict, item, now) -> list[Finding]:
    problems: list[str] = []
    prev = None
    top: tuple[int, dict] | None = None  # the furthest step reached since the last 退回: (its order, the step)
    for s in _steps(case):
        if prev is not None and s.get("start_time") and prev.get("start_time") and s["start_time"] < prev["start_time"]:
            problems.append(
                f"step {s['seq']} {s.get('step_name')} starts {_t(s['start_time'])}, before step "
                f"{prev['seq']} {prev.get('step_name')} ({_t(prev['start_time'])})"
            )
        action = s.get("action")
        if action == "退回":
            top = None
        elif action in _ORDER:
            if top is not None and _ORDER[action] < top[0]:
                problems.append(f"step {s['seq']} {action} comes after step {top[1]['seq']} {top[1]['action']}")
            else:
                top = (_ORDER[action], s)
        prev = s
    if not problems:
        return []
    return [Finding(rule, f"办理环节顺序异常: {case.get('case_no')}", "; ".join(problems))]


def conclusion_without_acceptance(rule: MonitoringRule, case: dict, item, now) -> list[Finding]:
    accepted = False
    for s in _steps(case):
        if s.get("action") == "受理":
            accepted = True
        elif s.get("action") in ("决定", "办结") and not accepted:
            return [
                Finding(
                    rule,
                    f"未受理即办结: {case.get('case_no')}",
                    f"step {s['seq']} {s['action']} at {_t(s.get('start_time'))} with no 受理 step before it",
                )
            ]
    if case.get("status") == "办结" and not case.get("accept_time"):
        return [Finding(rule, f"未受理即办结: {case.get('case_no')}", "status 办结 without accept_time")]
    return []


def _name(s) -> str:
    return "".join(str(s or "").split())


def completeness(rule: MonitoringRule, case: dict, item: dict | None, now) -> list[Finding]:
    if case.get("status") != "办结" or not item:
        return []
    have = {_name(m.get("name")) for m in case.get("materials") or ()}
    missing = [m["name"] for m in item.get("materials") or () if m.get("required") and _name(m.get("name")) not in have]
    if not missing:
        return []
    return [
        Finding(
            rule,
            f"办结材料不全: {case.get('case_no')}",
            f"concluded {_t(case.get('finish_time'))} without required materials of item "
            f"{item.get('item_code')} v{item.get('item_version')}: {'、'.join(missing)}",
        )
    ]


def _fee(v) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def fee_free_item(rule: MonitoringRule, case: dict, item: dict | None, now) -> list[Finding]:
    fee = _fee(case.get("fee_amount"))
    if not item or fee is None or fee <= 0 or item.get("charged") is not False:
        return []
    return [
        Finding(
            rule,
            f"不收费事项收费: {case.get('case_no')}",
            f"fee {fee} 元 charged on item {item.get('item_code')}, which is free (charged=false)",
        )
    ]


def fee_mismatch(rule: MonitoringRule, case: dict, item: dict | None, now) -> list[Finding]:
    fee, std = _fee(case.get("fee_amount")), _fee((item or {}).get("fee_standard"))
    if fee is None or std is None or item is None or not item.get("charged"):  # no item: no std
        return []
    if abs(fee - std) <= Decimal(str(rule.params.get("tolerance", 0))):
        return []
    return [
        Finding(
            rule,
            f"收费与标准不符: {case.get('case_no')}",
            f"fee {fee} 元 differs from the fee standard {std} 元 of item {item.get('item_code')}",
        )
    ]


CHECKS: dict[str, Callable[[MonitoringRule, dict, dict | None, datetime], list[Finding]]] = {
    "time_limit": time_limit,
    "process_order": process_order,
    "conclusion_without_acceptance": conclusion_without_acceptance,
    "completeness": completeness,
    "fee_free_item": fee_free_item,
    "fee_mismatch": fee_mismatch,
}


def evaluate(rules: list[MonitoringRule], case: dict, item: dict | None, now: datetime) -> list[Finding]:
    """Every finding of the enabled rules on one case at ``now``."""
    out: list[Finding] = []
    for r in rules:
        if r.enabled:
            out.extend(CHECKS[r.check](r, case, item, now))
    return out
