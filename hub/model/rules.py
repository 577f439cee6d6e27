"""Domain rules (业务规则) run on canonical records after the contract checks.

Each rule is a small function registered for a message kind; it raises ``RuleDefect``
(reason code, field, readable masked message) or normalises a value in place (an ID
number's lower-case ``x``, a 15-digit legacy ID number). The code checks follow
``docs/standards.md`` via ``hub.model.codes``; the division table is versioned data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from hub.core import clock
from hub.core.errors import InputError
from hub.model.codes import divisions as division_codes
from hub.model.codes import idcard, licence_id, orgcode, uscc
from hub.model.codes.divisions import DivisionTable
from hub.model.codes.errors import CodeError
from hub.model.outcomes import Reason

CLOCK_SKEW = timedelta(days=1)  # senders' clocks drift; a day ahead is not "in the future"
PROJECT_CODE_RE = re.compile(r"^(\d{4})-(\d{6})-(\d{2})-(\d{2})-(\d{6})$")

Record = dict[str, Any]  # a canonical record, checked and normalised in place
T = TypeVar("T")


class RuleDefect(InputError):
    reason: Reason

    def __init__(self, reason: Reason, field: str, message: str, rule: str = "") -> None:
        super().__init__(message, reason=reason)
        self.field, self.rule = field, rule


@dataclass
class RuleContext:
    divisions: DivisionTable | None = None
    now: datetime | None = None
    uscc_allow: frozenset[str] = frozenset()  # pilot-era codes a source is allowed to send
    _now: datetime = dc_field(init=False)

    def __post_init__(self) -> None:
        if self.divisions is None:
            self.divisions = division_codes.default_table()
        # stored times are naive China Standard Time; the server's own zone must not matter
        self._now = self.now or clock.now()

    @property
    def latest_allowed(self) -> datetime:
        return self._now + CLOCK_SKEW

    @property
    def version(self) -> str:
        return f"divisions:{getattr(self.divisions, 'version', '?')}"


class Rule(Protocol):
    """A registered rule: checks (and may normalise) one record; named ``kind.name``."""

    rule_name: str

    def __call__(self, rec: Record, ctx: RuleContext) -> None: ...


RULES: dict[str, list[Rule]] = {}


def rule(kind: str, name: str) -> Callable[[Callable[[Record, RuleContext], None]], Rule]:
    def register(fn: Callable[[Record, RuleContext], None]) -> Rule:
        registered = cast(Rule, fn)
        registered.rule_name = f"{kind}.{name}"
        RULES.setdefault(kind, []).append(registered)
        return registered

    return register


def _code(field: str, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    try:
        return fn(*args, **kw)
    except CodeError as exc:
        raise RuleDefect(exc.reason, field, f"{field}: {exc.message}") from None


def _identity_no(rec: Record, type_field: str, no_field: str, ctx: RuleContext) -> None:
    no = rec.get(no_field)
    if no is None:
        return
    id_type = rec.get(type_field)
    if id_type == "111":
        rec[no_field] = _code(no_field, idcard.validate, no, divisions=ctx.divisions, today=ctx._now.date())
    elif id_type == "001":
        rec[no_field] = _code(no_field, uscc.validate, no, allow=ctx.uscc_allow)


def _uscc(rec: Record, f: str, ctx: RuleContext) -> None:
    if rec.get(f) is not None:
        rec[f] = _code(f, uscc.validate, rec[f], allow=ctx.uscc_allow)


def _division(rec: Record, f: str, ctx: RuleContext) -> None:
    if rec.get(f) is not None:
        # historic codes are accepted: records outlive division changes
        _code(f, division_codes.validate, rec[f], table=ctx.divisions)


def _ordered(rec: Record, *fields: str) -> None:
    seen = [(f, rec[f]) for f in fields if rec.get(f) is not None]
    for (fa, a), (fb, b) in zip(seen, seen[1:]):
        if b < a:
            raise RuleDefect(Reason.TIME_ORDER, fb, f"{fb} is earlier than {fa}; times must run {' ≤ '.join(fields)}")


def _not_future(rec: Record, f: str, ctx: RuleContext) -> None:
    v = rec.get(f)
    if v is None:
        return
    limit = ctx.latest_allowed if isinstance(v, datetime) else ctx.latest_allowed.date()
    if v > limit:
        raise RuleDefect(
            Reason.TIME_FUTURE,
            f,
            f"{f} is in the future; check the sender's clock and time zone (times are China Standard Time)",
        )


def _limits(rec: Record) -> None:
    p, lg = rec.get("promise_days"), rec.get("legal_days")
    if p is not None and lg is not None and p > lg:
        raise RuleDefect(
            Reason.PROMISE_EXCEEDS_LEGAL,
            "promise_days",
            "promise_days exceeds legal_days; the promised time limit may not be longer than the legal one",
        )


# ---- 办件 case ----


@rule("case", "identity")
def _case_identity(rec: Record, ctx: RuleContext) -> None:
    _identity_no(rec, "applicant_id_type", "applicant_id_no", ctx)
    _identity_no(rec, "agent_id_type", "agent_id_no", ctx)


@rule("case", "codes")
def _case_codes(rec: Record, ctx: RuleContext) -> None:
    _uscc(rec, "dept_code", ctx)
    _division(rec, "region_code", ctx)


@rule("case", "time_order")
def _case_times(rec: Record, ctx: RuleContext) -> None:
    _not_future(rec, "apply_time", ctx)
    _ordered(rec, "apply_time", "accept_time", "finish_time", "delivery_time")
    for i, step in enumerate(rec.get("steps") or (), 1):
        if step.get("end_time") and step["end_time"] < step["start_time"]:
            raise RuleDefect(
                Reason.TIME_ORDER, f"steps[{i}].end_time", f"steps[{i}].end_time is earlier than its start_time"
            )
    for i, sp in enumerate(rec.get("special_procedures") or (), 1):
        if sp.get("end_time") and sp["end_time"] < sp["start_time"]:
            raise RuleDefect(
                Reason.TIME_ORDER,
                f"special_procedures[{i}].end_time",
                f"special_procedures[{i}].end_time is earlier than its start_time",
            )


@rule("case", "limits")
def _case_limits(rec: Record, ctx: RuleContext) -> None:
    _limits(rec)


@rule("case", "status")
def _case_status(rec: Record, ctx: RuleContext) -> None:
    if rec["status"] == "办结" and rec.get("finish_time") is None:
        raise RuleDefect(Reason.STATUS_INCONSISTENT, "finish_time", "a concluded case (办结) needs finish_time")
    if (
        rec.get("finish_time") is not None
        and rec.get("accept_time") is None
        and rec["status"] not in ("不予受理", "退件", "作废")
    ):
        raise RuleDefect(
            Reason.STATUS_INCONSISTENT,
            "accept_time",
            "a case with finish_time needs accept_time (no conclusion without acceptance)",
        )


# ---- 事项 item ----


@rule("item", "codes")
def _item_codes(rec: Record, ctx: RuleContext) -> None:
    _uscc(rec, "dept_code", ctx)
    _division(rec, "region_code", ctx)
    _limits(rec)
    if rec.get("charged") is False and (rec.get("fee_standard") or 0) > 0:
        raise RuleDefect(
            Reason.FEE_INCONSISTENT, "fee_standard", "fee_standard is set for an item marked as free (charged=false)"
        )


# ---- 电子证照 licence ----


@rule("licence", "codes")
def _licence_codes(rec: Record, ctx: RuleContext) -> None:
    if rec.get("licence_id"):
        rec["licence_id"] = _code("licence_id", licence_id.validate, rec["licence_id"])
    _identity_no(rec, "holder_id_type", "holder_id_no", ctx)
    _uscc(rec, "issuer_code", ctx)
    _division(rec, "region_code", ctx)


@rule("licence", "dates")
def _licence_dates(rec: Record, ctx: RuleContext) -> None:
    _not_future(rec, "issue_date", ctx)
    _ordered(rec, "valid_from", "valid_to")


# ---- 人员 person ----


@rule("person", "identity")
def _person_identity(rec: Record, ctx: RuleContext) -> None:
    rec["id_no"] = _code("id_no", idcard.validate, rec["id_no"], divisions=ctx.divisions, today=ctx._now.date())
    born = idcard.birth_date(rec["id_no"])
    if rec.get("birth_date") is not None and rec["birth_date"] != born:
        raise RuleDefect(Reason.ID_INCONSISTENT, "birth_date", "birth_date does not match the birth date in id_no")
    if rec.get("gender") is not None and rec["gender"] != {"M": "男", "F": "女"}[idcard.gender(rec["id_no"])]:
        raise RuleDefect(Reason.ID_INCONSISTENT, "gender", "gender does not match the sequence digit in id_no")


# ---- 企业 enterprise ----


@rule("enterprise", "codes")
def _enterprise_codes(rec: Record, ctx: RuleContext) -> None:
    _uscc(rec, "uscc", ctx)
    if rec.get("org_code") is not None:
        # pre-2015 records carry the GB 11714 code; in a credit code it is positions 9–17
        rec["org_code"] = _code("org_code", orgcode.validate, rec["org_code"])
        if rec["org_code"] != rec["uscc"][8:17] and rec["uscc"] not in ctx.uscc_allow:
            raise RuleDefect(Reason.ORG_CODE_INCONSISTENT, "org_code", "org_code does not match positions 9–17 of uscc")
    _division(rec, "region_code", ctx)
    if rec.get("legal_rep_id_no") is not None and len(str(rec["legal_rep_id_no"])) in (15, 18):
        rec["legal_rep_id_no"] = _code(
            "legal_rep_id_no", idcard.validate, rec["legal_rep_id_no"], divisions=ctx.divisions, today=ctx._now.date()
        )
    _not_future(rec, "established_date", ctx)


# ---- 投资项目 project ----


@rule("project", "codes")
def _project_codes(rec: Record, ctx: RuleContext) -> None:
    m = PROJECT_CODE_RE.match(rec["project_code"])
    if not m:
        raise RuleDefect(
            Reason.PROJECT_CODE_FORMAT,
            "project_code",
            "project_code must look like yyyy-dddddd-dd-dd-dddddd (年份-区划-行业-类型-顺序号)",
        )
    _code("project_code", division_codes.validate, m.group(2), table=ctx.divisions)
    _uscc(rec, "owner_uscc", ctx)
    _division(rec, "region_code", ctx)
    _ordered(rec, "planned_start", "planned_end")
    _ordered(rec, "actual_start", "completion_date")


# ---- 好差评 evaluation ----


@rule("evaluation", "codes")
def _evaluation_codes(rec: Record, ctx: RuleContext) -> None:
    _uscc(rec, "dept_code", ctx)
    _division(rec, "region_code", ctx)
    _not_future(rec, "eval_time", ctx)


# ---- 督办 supervision ----


@rule("supervision", "codes")
def _supervision_codes(rec: Record, ctx: RuleContext) -> None:
    _uscc(rec, "dept_code", ctx)
    _division(rec, "region_code", ctx)
    _ordered(rec, "raised_time", "end_time")


def check(kind: str, rec: Record, ctx: RuleContext) -> None:
    """Run every rule of ``kind``; raises the first ``RuleDefect`` (with its rule name)."""
    for fn in RULES.get(kind, ()):
        try:
            fn(rec, ctx)
        except RuleDefect as d:
            d.rule = fn.rule_name
            raise
