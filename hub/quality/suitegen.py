"""Draft a suite file from the data dictionary (``python -m hub.quality.suitegen KIND...``).

Writes ``schemas/expectations/<kind>.json`` with what the dictionary says (required
fields, code tables, lengths, integer ranges, time formats) plus the domain checks listed
in :data:`DOMAIN` (check characters, division codes, time ordering, promised ≤ legal
time limit, references into the libraries, key uniqueness). It is a starting point: once
a file exists, the file is the source (edit it by hand; ``--force`` overwrites).
"""

from __future__ import annotations

import json
import sys

from hub.model.dictionary import Kind
from hub.model.dictionary import kind as dictionary_kind
from hub.quality.suites import SUITES_DIR

_LABEL_RULES = {
    "required": "{label}必填",
    "enum": "{label}取值在代码表内",
    "length": "{label}长度符合字典",
    "range": "{label}在允许范围内",
    "datetime_format": "{label}为真实时间(yyyy-MM-dd HH:mm:ss)",
    "date_format": "{label}为真实日期(yyyy-MM-dd)",
}


def _e(type_: str, kwargs: dict, rule: str, label_zh: str, field: str | None = None) -> dict:
    meta = {"rule": rule, "label_zh": label_zh}
    if field:
        meta["field"] = field
    return {"type": type_, "kwargs": kwargs, "meta": meta}


def from_dictionary(k: Kind) -> list[dict]:
    out = []
    for f in k.scalars:
        lab = f.label
        if f.required:
            out.append(
                _e(
                    "expect_column_values_to_not_be_null",
                    {"column": f.name},
                    "required",
                    _LABEL_RULES["required"].format(label=lab),
                )
            )
        if f.type == "enum":
            assert f.values is not None  # the dictionary refuses an enum field without values
            out.append(
                _e(
                    "expect_column_values_to_be_in_set",
                    {"column": f.name, "value_set": list(f.values)},
                    "enum",
                    _LABEL_RULES["enum"].format(label=lab),
                )
            )
        elif f.type in ("string", "code", "text"):
            hi = int(f.max) if f.max is not None and f.type != "text" else 20000
            kw = {"column": f.name, "max_value": hi}
            if f.type == "code" and f.min is not None:
                kw["min_value"] = int(f.min)
            out.append(
                _e("expect_column_value_lengths_to_be_between", kw, "length", _LABEL_RULES["length"].format(label=lab))
            )
        elif f.type in ("int", "decimal") and (f.min is not None or f.max is not None):
            kw = {"column": f.name}
            if f.min is not None:
                kw["min_value"] = f.min
            if f.max is not None:
                kw["max_value"] = f.max
            out.append(_e("expect_column_values_to_be_between", kw, "range", _LABEL_RULES["range"].format(label=lab)))
        elif f.type == "datetime":
            out.append(
                _e(
                    "expect_column_values_to_match_strftime_format",
                    {"column": f.name, "strftime_format": "%Y-%m-%d %H:%M:%S"},
                    "datetime_format",
                    _LABEL_RULES["datetime_format"].format(label=lab),
                )
            )
        elif f.type == "date":
            out.append(
                _e(
                    "expect_column_values_to_match_strftime_format",
                    {"column": f.name, "strftime_format": "%Y-%m-%d"},
                    "date_format",
                    _LABEL_RULES["date_format"].format(label=lab),
                )
            )
    return out


def _ok(column: str, rule: str, label_zh: str, field: str) -> dict:
    return _e("expect_column_values_to_be_in_set", {"column": column, "value_set": ["ok"]}, rule, label_zh, field)


def _after(later: str, earlier: str, label_zh: str) -> dict:
    return _e(
        "expect_column_pair_values_a_to_be_greater_than_b",
        {"column_A": later, "column_B": earlier, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
        "time_order",
        label_zh,
    )


def _division(column: str, label: str) -> dict:
    return _ok(f"_chk_{column}", "division_code", f"{label}为 GB/T 2260 行政区划代码", column)


def _division_d(column: str, label: str) -> dict:
    return {f"_chk_{column}": _d("division", [column], f"{label}为行政区划代码")}


def _promise(label: str) -> dict:
    return _e(
        "expect_column_pair_values_a_to_be_greater_than_b",
        {
            "column_A": "legal_days",
            "column_B": "promise_days",
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        },
        "promise_within_legal",
        f"{label}承诺期限不超过法定期限",
    )


def _unique(k: Kind) -> dict:
    if len(k.key) == 1:
        return _e(
            "expect_column_values_to_be_unique",
            {"column": k.key[0]},
            "unique_key",
            f"同一批次内{k.field(k.key[0]).label}不重复",
        )
    return _e(
        "expect_compound_columns_to_be_unique",
        {"column_list": list(k.key)},
        "unique_key",
        f"同一批次内{'+'.join(k.field(n).label for n in k.key)}不重复",
    )


def _not_empty(k: Kind) -> dict:
    return _e("expect_table_row_count_to_be_between", {"min_value": 1}, "not_empty", f"批次内至少有一条{k.label}")


def _d(check: str, fields: list[str], label_zh: str) -> dict:
    return {"check": check, "fields": fields, "label_zh": label_zh}


#: kind → (helper columns, domain expectations, feed-health overrides)
DOMAIN: dict[str, tuple[dict, list, dict]] = {
    "case": (
        {
            "_chk_applicant_id": _d("identity", ["applicant_id_type", "applicant_id_no"], "申请人证件号码校验"),
            "_chk_agent_id": _d("identity", ["agent_id_type", "agent_id_no"], "代理人证件号码校验"),
            "_chk_dept_code": _d("uscc", ["dept_code"], "办理部门统一社会信用代码校验"),
            "_chk_apply_not_future": _d("not_future", ["apply_time"], "申请时间不在未来"),
            "_chk_item_in_catalogue": _d("in_catalogue", ["item_code"], "事项编码在事项目录中"),
            "_chk_steps_time": _d("list_time_order", ["steps"], "办理环节结束不早于开始"),
            "_chk_special_time": _d("list_time_order", ["special_procedures"], "特别程序结束不早于开始"),
        },
        [
            _ok("_chk_applicant_id", "id_no_valid", "申请人证件号码校验位、出生日期、地址码正确", "applicant_id_no"),
            _ok("_chk_agent_id", "id_no_valid", "代理人证件号码校验位、出生日期、地址码正确", "agent_id_no"),
            _ok("_chk_dept_code", "uscc_valid", "办理部门统一社会信用代码校验位正确", "dept_code"),
            _division("region_code", "行政区划代码"),
            _ok("_chk_item_in_catalogue", "catalogue_item", "办件的事项编码在事项目录中", "item_code"),
            _after("accept_time", "apply_time", "受理时间不早于申请时间"),
            _after("finish_time", "accept_time", "办结时间不早于受理时间"),
            _after("finish_time", "apply_time", "办结时间不早于申请时间"),
            _after("delivery_time", "finish_time", "送达时间不早于办结时间"),
            _ok("_chk_apply_not_future", "not_future", "申请时间不在未来", "apply_time"),
            _ok("_chk_steps_time", "time_order", "办理环节结束时间不早于开始时间", "case_no"),
            _ok("_chk_special_time", "time_order", "特别程序结束时间不早于开始时间", "case_no"),
            _promise("办件"),
        ],
        {"silent_min_daily": 100},
    ),
    "item": (
        {"_chk_dept_code": _d("uscc", ["dept_code"], "实施主体统一社会信用代码校验")},
        [
            _ok("_chk_dept_code", "uscc_valid", "实施主体统一社会信用代码校验位正确", "dept_code"),
            _division("region_code", "行政区划代码"),
            _promise("事项"),
        ],
        {"silent_min_daily": 1000},  # the catalogue changes rarely: silence is normal
    ),
    "licence": (
        {
            "_chk_licence_id": _d("licence_id", ["licence_id"], "证照标识校验"),
            "_chk_holder_id": _d("identity", ["holder_id_type", "holder_id_no"], "持证主体代码校验"),
            "_chk_issuer_code": _d("uscc", ["issuer_code"], "颁发机构代码校验"),
            "_chk_holder_known": _d(
                "holder_in_library", ["holder_id_type", "holder_id_no"], "持证主体在人口库或法人库中"
            ),
            "_chk_issue_not_future": _d("not_future", ["issue_date"], "颁证日期不在未来"),
        },
        [
            _ok("_chk_licence_id", "licence_id_valid", "证照标识校验位正确(GB/T 36902)", "licence_id"),
            _ok("_chk_holder_id", "id_no_valid", "持证主体代码校验位正确", "holder_id_no"),
            _ok("_chk_issuer_code", "uscc_valid", "颁发机构统一社会信用代码校验位正确", "issuer_code"),
            _ok("_chk_holder_known", "holder_in_library", "持证主体在人口库或法人库中", "holder_id_no"),
            _ok("_chk_issue_not_future", "not_future", "颁证日期不在未来", "issue_date"),
            _division("region_code", "管辖区划代码"),
            _after("valid_to", "valid_from", "有效期截止不早于有效期起始"),
        ],
        {"silent_min_daily": 100},
    ),
    "person": (
        {"_chk_id_no": _d("idcard", ["id_no"], "公民身份号码校验")},
        [_ok("_chk_id_no", "id_no_valid", "公民身份号码校验位、出生日期、地址码正确", "id_no")],
        {"silent_min_daily": 100},
    ),
    "enterprise": (
        {"_chk_uscc": _d("uscc", ["uscc"], "统一社会信用代码校验")},
        [
            _ok("_chk_uscc", "uscc_valid", "统一社会信用代码校验位正确", "uscc"),
            _division("region_code", "行政区划代码"),
        ],
        {"silent_min_daily": 100},
    ),
    "project": (
        {"_chk_owner_uscc": _d("uscc", ["owner_uscc"], "项目单位统一社会信用代码校验")},
        [
            _ok("_chk_owner_uscc", "uscc_valid", "项目单位统一社会信用代码校验位正确", "owner_uscc"),
            _division("region_code", "建设地点区划代码"),
            _e(
                "expect_column_values_to_match_regex",
                {"column": "project_code", "regex": r"^\d{4}-\d{6}-\d{2}-\d{2}-\d{6}$"},
                "project_code_format",
                "投资项目代码形如 年份-区划-行业-类型-顺序号",
            ),
            _after("planned_end", "planned_start", "拟建成时间不早于拟开工时间"),
            _after("completion_date", "actual_start", "竣工日期不早于实际开工日期"),
        ],
        {"silent_min_daily": 100},
    ),
    "evaluation": (
        {
            "_chk_dept_code": _d("uscc", ["dept_code"], "部门统一社会信用代码校验"),
            "_chk_eval_not_future": _d("not_future", ["eval_time"], "评价时间不在未来"),
        },
        [
            _ok("_chk_dept_code", "uscc_valid", "部门统一社会信用代码校验位正确", "dept_code"),
            _ok("_chk_eval_not_future", "not_future", "评价时间不在未来", "eval_time"),
            _division("region_code", "行政区划代码"),
        ],
        {"silent_min_daily": 100},
    ),
    "supervision": (
        {"_chk_dept_code": _d("uscc", ["dept_code"], "被督办单位统一社会信用代码校验")},
        [
            _ok("_chk_dept_code", "uscc_valid", "被督办单位统一社会信用代码校验位正确", "dept_code"),
            _division("region_code", "行政区划代码"),
            _after("end_time", "raised_time", "督办结束时间不早于发起时间"),
        ],
        {"silent_min_daily": 100},
    ),
}


def draft(kind: str) -> dict:
    k = dictionary_kind(kind)
    derived, domain, feed = DOMAIN[kind]
    derived = dict(derived)
    if "region_code" in {f.name for f in k.scalars}:
        derived.update(_division_d("region_code", k.field("region_code").label))
    return {
        "name": kind,
        "meta": {
            "kind": kind,
            "version": 1,
            "label_zh": f"{k.label}数据质量规则",
            "derived": derived,
            "feed_health": feed,
        },
        "expectations": [_not_empty(k), *from_dictionary(k), *domain, _unique(k)],
    }


def main(argv: list[str]) -> int:
    force = "--force" in argv
    kinds = [a for a in argv if not a.startswith("--")] or list(DOMAIN)
    SUITES_DIR.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        path = SUITES_DIR / f"{kind}.json"
        if path.exists() and not force:
            print(f"{path} exists (the file is the source now); --force overwrites it", file=sys.stderr)
            continue
        path.write_text(json.dumps(draft(kind), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
