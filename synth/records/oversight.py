"""Evaluation (好差评) and supervision (电子监察督办) records."""

from __future__ import annotations

from bisect import bisect

from synth.axis import _DAY
from synth.vocab import _COMMENTS, _DETAIL_BAD, _DETAIL_GOOD, _RULES, _SUP_DESC


class OversightRecords:
    """``evaluation()`` and ``supervision()`` of the generator."""

    def evaluation(self) -> dict:
        r = self._r
        di = self._dept_items[bisect(self._di_cum, r() * self._di_cum[-1])]
        dept = di.dept
        self._eval_serial += 1
        self._serial += 1
        t = self._rand_time(365)
        case_day = max(t // _DAY - int(r() * 10), 0)
        x = r()
        sat = "5" if x < 0.72 else ("4" if x < 0.9 else ("3" if x < 0.96 else ("2" if x < 0.99 else "1")))
        user = "1" if r() < 0.75 else "2"
        x = r()
        channel = (
            "2"
            if x < 0.45
            else (
                "4"
                if x < 0.65
                else ("1" if x < 0.78 else ("3" if x < 0.88 else ("6" if x < 0.94 else ("5" if x < 0.97 else "7"))))
            )
        )
        person = self._person(int(r() * self.population))
        rec = {
            "eval_no": f"PJ{dept.county.code}{self._day8[t // _DAY]}{self._eval_serial:08d}",
            "region_code": dept.county.code,
            "dept_code": dept.uscc,
            "item_code": di.code,
            "case_no": f"{di.code}{self._day8[case_day]}{self._serial:06d}",
            "case_status": "3" if r() < 0.9 else "2",
            "user_type": user,
            "channel": channel,
            "satisfaction": sat,
            "detail_codes": _DETAIL_GOOD if sat >= "4" else _DETAIL_BAD,
        }
        if sat <= "3" or r() < 0.2:
            rec["comment"] = _COMMENTS[sat][int(r() * len(_COMMENTS[sat]))]
        rec["eval_time"] = self._fmt(t)
        rec["eval_round"] = "1" if r() < 0.95 else "2"
        if channel in ("4", "5"):
            rec["window_no"] = f"{'ABCD'[int(r() * 4)]}{1 + int(r() * 40):02d}"
            rec["staff_id"] = dept.staff[int(r() * 6)][0]
        rec["evaluator_name"] = person[0]
        rec["evaluator_phone"] = person[4]
        rec["source_time"] = self._fmt(min(t + int(r() * 600), self._horizon))
        return rec

    # -- supervision --------------------------------------------------------------------

    def supervision(self, *, _closed: bool = False) -> dict:
        r = self._r
        di = self._dept_items[bisect(self._di_cum, r() * self._di_cum[-1])]
        dept = di.dept
        self._sup_serial += 1
        self._serial += 1
        raised = self._biz(self._rand_time(365))
        x = r()
        level = "黄牌" if x < 0.7 else ("红牌" if x < 0.92 else "超法定期限")
        rule = "时限" if level == "超法定期限" or r() < 0.7 else _RULES[int(r() * len(_RULES))]
        x = 0.0 if _closed else r()
        status = "已办结" if x < 0.7 else ("已签收" if x < 0.85 else ("已指派" if x < 0.95 else "发起"))
        end = None
        if status == "已办结":
            end = self._biz(raised + _DAY * (1 + int(r() * 7)) + int(r() * 20000))
            if end > self._horizon:
                end, status = None, "已签收"
        case_day = max(raised // _DAY - di.promise - int(r() * 10), 0)
        rec = {
            "supervision_no": f"DB{dept.county.code}{self._day8[raised // _DAY]}{self._sup_serial:06d}",
            "case_no": f"{di.code}{self._day8[case_day]}{self._serial:06d}",
            "item_code": di.code,
            "item_name": di.item.name,
            "dept_code": dept.uscc,
            "dept_name": dept.name,
            "region_code": dept.county.code,
            "supervisor_dept": f"{dept.county.prefix}政务服务管理办公室",
            "supervisor": self._name_r(),
            "rule_type": rule,
            "level": level,
            "description": _SUP_DESC[rule].format(item=di.item.name, days=di.promise),
            "evidence": f"电子监察系统预警记录，办件剩余时限{int(r() * 3)}个工作日"
            if rule == "时限"
            else "系统比对记录",
            "raised_time": self._fmt(raised),
            "status": status,
        }
        last = raised
        if end is not None:
            rec["end_time"] = self._fmt(end)
            rec["result"] = "已督促承办人员办结，责令整改。" if level != "黄牌" else "已提醒承办人员按时办结。"
            last = end
        rec["source_time"] = self._fmt(min(last + int(r() * 3600), self._horizon))
        return rec
