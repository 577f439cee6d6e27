"""Case (办件) records with a consistent lifecycle.

The hot path of the generator (≈31k cases/s): a case is computed as integer seconds on
the time axis (:mod:`synth.axis`) and formatted through tables at the end. The steps below
run in a fixed order and each draws its random numbers in a fixed order: the same seed
gives the same cases, byte for byte. Keep per-field Python work out of them.
"""

from __future__ import annotations

from bisect import bisect

from synth.axis import _OPEN_S
from synth.vocab import (
    _CONCLUSION_NO,
    _INDUSTRIES,
    _STEP_PLANS,
    _STEPS_INSTANT,
    _STEPS_REJECT,
    _STEPS_RETURN,
    _SUSPEND_REASONS,
)

_dict_copy = dict.copy


class CaseRecords:
    """``case()`` of the generator."""

    def case(self, *, _applicant: str | None = None, _state: str | None = None) -> dict:
        """One case (办件) with a consistent lifecycle.

        Internal options (used by defect injection): ``_applicant`` 'p' (person) or 'e';
        ``_state`` 'submitted' (still 申报: not accepted yet).
        """
        r = self._r
        di = self._dept_items[bisect(self._di_cum, r() * self._di_cum[-1])]
        (
            item_code,
            item_name,
            version,
            dept_code,
            dept_name,
            region,
            case_suffix,
            legal,
            promise,
            unit,
            fee,
            instant,
            online,
            holder,
            mats_online,
            mats_case,
            licence,
            lic_prefix,
            is_project,
            conclusion_ok,
        ) = di.hot
        D, T = self._daystr, self._tod
        H = self._horizon

        channel, apply_t, accept_t = self._case_arrival(online, _state)
        x = r()
        if instant or x < 0.12:
            case_type, promise = "即办件", 0
        else:
            case_type = "承诺件" if x < 0.95 else ("补办件" if x < 0.97 else ("上报件" if x < 0.99 else "联办件"))
        outcome = self._case_outcome()
        plan, finish_t, proc = self._case_timeline(case_type, outcome, promise, accept_t, di.dept.staff)
        bounds = self._step_bounds(len(plan), accept_t, finish_t)
        steps = self._case_steps(di.dept.plans[id(plan)], bounds)
        ap, party = self._case_applicant(_applicant, holder)

        self._serial = serial = self._serial + 1
        rec = {
            "case_no": item_code + self._day8[apply_t // 86400] + str(serial).zfill(6),
            "item_code": item_code,
            "item_name": item_name,
            "item_version": version,
            "dept_code": dept_code,
            "dept_name": dept_name,
            "region_code": region,
            "case_name": party["applicant_name"] + case_suffix,
            "case_type": case_type,
            "channel": channel,
            **party,
        }
        rec["apply_time"] = D[apply_t // 86400] + " " + T[apply_t % 86400]
        last = apply_t
        if accept_t <= H:
            rec["accept_time"] = D[accept_t // 86400] + " " + T[accept_t % 86400]
            rec["accept_handler"] = di.dept.staff[0][1]
            last = accept_t
        rec["legal_days"] = legal
        rec["promise_days"] = promise
        if self._unit_ok is not None and unit not in self._unit_ok:
            unit = next(iter(self._unit_ok))
        rec["promise_unit"] = unit

        status, last = self._case_status(outcome, accept_t, finish_t, proc, steps, bounds, last)
        if proc is not None:
            ps = proc["start_time"]
            if ps > H:
                proc = None  # not started "now"
            else:
                pe = proc.get("end_time", ps)
                last = max(last, pe if pe <= H else ps)
        if self._status_ok is not None and status not in self._status_ok:
            status = "办理中" if "办理中" in self._status_ok else next(iter(self._status_ok))
        rec["status"] = status
        if finish_t <= H and accept_t <= H:
            rec["finish_time"] = D[finish_t // 86400] + " " + T[finish_t % 86400]
            last = self._case_result(rec, outcome, finish_t, conclusion_ok, licence, lic_prefix, region, last)
        if fee is not None:
            rec["fee_amount"] = fee
        if is_project and ap == "e":
            ind = _INDUSTRIES[int(r() * 4)][0]
            rec["project_code"] = f"{D[apply_t // 86400][:4]}-{region}-{ind}-03-{(serial * 7919) % 1000000:06d}"
        self._case_tail(rec, last, steps, proc, mats_online if channel == "2" else mats_case)
        return rec

    def _case_arrival(self, online: bool, state: str | None) -> tuple[str, int, int]:
        """(channel, apply time, accept time): at the counter in office hours, accepted
        minutes later; online or by mail at any hour, accepted in office hours."""
        r = self._r
        W, NW = self._wdays, self._next_w
        x = r()
        channel = "2" if x < 0.55 else ("1" if x < 0.95 else "3")
        if channel == "2" and not online:
            channel = "1"
        day = self._win0 + int(r() * self._winlen)
        if channel == "1":
            # At the counter: a workday in office hours, accepted minutes later.
            wi = NW[day]
            if W[wi] >= self._today_idx:
                wi -= 1
            apply_t = W[wi] * 86400 + _OPEN_S + int(r() * 28800)
            accept_t = apply_t + 120 + int(r() * 1500)
        else:
            apply_t = day * 86400 + 25200 + int(r() * 59400)  # 07:00–23:30
            accept_t = self._biz(apply_t + 600 + int(r() * 14400))
            if r() < 0.3:  # picked up the next working day
                accept_t = self._biz(accept_t + 86400)
        if state == "submitted":
            accept_t = self._horizon + 1
        return channel, apply_t, accept_t

    def _case_outcome(self) -> str:
        x = self._r()
        if x < 0.03:
            return "不予受理"
        if x < 0.06:
            return "退件"
        if x < 0.07 and (self._status_ok is None or "作废" in self._status_ok):
            return "作废"
        return "办结"

    def _case_timeline(
        self, case_type: str, outcome: str, promise: int, accept_t: int, staff: tuple
    ) -> tuple[tuple, int, dict | None]:
        """(step plan, finish time, special procedure or None), computed fully: the caller
        cuts everything at the horizon."""
        r = self._r
        W, NW = self._wdays, self._next_w
        proc = None
        if case_type == "即办件":
            finish_t = accept_t + 300 + int(r() * 3300)
            plan = _STEPS_INSTANT
        else:
            x = r()
            k = int(r() * (promise + 1)) if x < 0.96 else promise + 1 + int(r() * 5)
            fday = W[NW[accept_t // 86400] + k]
            finish_t = fday * 86400 + _OPEN_S + int(r() * 32400)
            if finish_t < accept_t + 600:  # same-day finish: leave the steps room after 受理
                finish_t = accept_t + 600 + int(r() * 3000)
            plan = _STEP_PLANS[int(r() * 3)]
            x = r()
            if x < 0.10 and outcome == "办结":
                finish_t, proc = self._special_procedure(x, promise, accept_t, finish_t, staff)
        if outcome == "不予受理":
            plan, finish_t = _STEPS_REJECT, accept_t
        elif outcome == "退件" or outcome == "作废":
            plan = _STEPS_RETURN
            finish_t = self._biz(accept_t + 1800 + int(r() * 3 * 86400))
        return plan, finish_t, proc

    def _special_procedure(
        self, x: float, promise: int, accept_t: int, finish_t: int, staff: tuple
    ) -> tuple[int, dict]:
        """A suspension (挂起, x < 0.06) or an extension (延期) that moves the finish."""
        r = self._r
        sp_start = min(self._biz(accept_t + int((finish_t - accept_t) * r())), finish_t)
        if x < 0.06:
            dur = 86400 * (1 + int(r() * 10))
            finish_t = self._biz(finish_t + dur)
            return finish_t, {
                "seq": 1,
                "kind": "挂起",
                "start_time": sp_start,
                "end_time": sp_start + dur,
                "days": dur // 86400,
                "reason": _SUSPEND_REASONS[int(r() * 3)],
            }
        days = 5 + int(r() * max(promise, 5))
        finish_t = self._biz(finish_t + days * 86400)
        return finish_t, {
            "seq": 1,
            "kind": "延期",
            "start_time": sp_start,
            "days": days,
            "reason": "情况复杂，需延长审查期限",
            "approver": staff[5][1],
        }

    def _step_bounds(self, n: int, accept_t: int, finish_t: int) -> list[int]:
        """Step boundaries: every step lies within accept→finish (受理 itself takes a few
        minutes from accept_time); the later steps split the rest at random points."""
        r = self._r
        if n == 1:
            return [accept_t, finish_t]
        b1 = accept_t + 30 + int(r() * 240)  # < accept_t + 300 <= finish_t
        bounds = [accept_t, b1]
        if n > 2:
            # Moved into office hours (_biz is monotonic, so the order survives) but
            # never past finish_t (which may be after hours for a same-day finish).
            span = finish_t - b1
            biz = self._biz
            bounds.extend(sorted(min(biz(b1 + int(span * r())), finish_t) for _ in range(n - 2)))
        bounds.append(finish_t)
        return bounds

    def _case_steps(self, plan_steps: tuple, bounds: list[int]) -> list[dict]:
        """过程 as the national platform has it: step, action, start, end, explanation,
        handler (no dept_name/post: always the case's own department); cut at the horizon."""
        D, T, H = self._daystr, self._tod, self._horizon
        steps = []
        s = 0
        for base in plan_steps:
            st = bounds[s]
            if st > H:
                break
            s += 1
            en = bounds[s]
            step = base.copy()
            step["start_time"] = D[st // 86400] + " " + T[st % 86400]
            if en <= H:
                step["end_time"] = D[en // 86400] + " " + T[en % 86400]
            steps.append(step)
        return steps

    def _case_applicant(self, applicant: str | None, holder: str) -> tuple[str, dict]:
        """('p' or 'e', the applicant and agent fields in record order)."""
        r = self._r
        ap = applicant or ("e" if (holder == "e" and r() < 0.85) or (holder == "pe" and r() < 0.4) else "p")
        agent = None
        if ap == "p":
            pname, pid, _, _, phone, addr, _ = self._some_person()
            applicant_type, id_type, aname, aid = "1", "111", pname, pid
            if r() < 0.1:
                agent = self._some_person()
        else:
            ecode, ename, _, addr, rep, _, _ = self._some_enterprise()
            applicant_type, id_type, aname, aid = "2", "001", ename, ecode
            agent = self._some_person()  # 经办人
            phone = agent[4]
        fields = {
            "applicant_type": applicant_type,
            "applicant_name": aname,
            "applicant_id_type": id_type,
            "applicant_id_no": aid,
            "applicant_phone": phone,
            "applicant_address": addr,
        }
        if agent is not None:
            fields["agent_name"] = agent[0]
            fields["agent_id_type"] = "111"
            fields["agent_id_no"] = agent[1]
            fields["agent_phone"] = agent[4]
        return ap, fields

    def _case_status(
        self, outcome: str, accept_t: int, finish_t: int, proc: dict | None, steps: list, bounds: list[int], last: int
    ) -> tuple[str, int]:
        """(status "now", the latest moment seen so far)."""
        H = self._horizon
        if accept_t > H:
            return "申报", last
        if finish_t <= H:
            return outcome, finish_t
        # Still open "now": where the timeline stands decides the status.
        if (
            proc is not None
            and proc["kind"] == "挂起"
            and proc["start_time"] <= H < proc["end_time"]
            and (self._status_ok is None or "挂起" in self._status_ok)
        ):
            status = "挂起"
        elif len(steps) > 1:
            status = "办理中"
        else:
            status = "受理"
        if steps:
            last = max(last, bounds[len(steps) - 1])
        return status, last

    def _case_result(
        self,
        rec: dict,
        outcome: str,
        finish_t: int,
        conclusion_ok: str,
        licence: str | None,
        lic_prefix: str | None,
        region: str,
        last: int,
    ) -> int:
        """Result, conclusion and the licence delivered, of a finished case; returns ``last``."""
        r = self._r
        if outcome == "办结":
            x = r()
            result = "准予" if x < 0.90 else ("不予准予" if x < 0.95 else ("部分准予" if x < 0.98 else "转报"))
            if self._result_ok is not None and result not in self._result_ok:
                result = "准予"
            rec["result_type"] = result
            if result == "准予" or result == "部分准予":
                rec["conclusion"] = conclusion_ok
                if licence:
                    last = self._case_licence(rec, finish_t, licence, lic_prefix, region, last)
            else:
                rec["conclusion"] = _CONCLUSION_NO[result]
        elif outcome == "退件":
            rec["result_type"] = "退件"
            rec["conclusion"] = "申请人主动撤回申请，予以退件。"
        elif outcome == "作废":
            rec["result_type"] = "作废"
            rec["conclusion"] = "重复申报，予以作废。"
        else:  # 不予受理
            rec["conclusion"] = "申请材料不齐全或者不符合法定形式，不予受理。"
        return last

    def _case_licence(self, rec: dict, finish_t: int, licence: str, lic_prefix: str, region: str, last: int) -> int:
        r = self._r
        self._lic_serial += 1
        rec["licence_name"] = licence
        rec["licence_no"] = lic_prefix + region + str(self._lic_serial).zfill(8)
        x = r()
        method = "窗口领取" if x < 0.4 else ("电子送达" if x < 0.75 else "邮寄")
        dt = finish_t + (60 + int(r() * 600) if method == "电子送达" else int(r() * 3 * 86400))
        if method == "窗口领取":
            dt = self._biz(dt)
        if dt <= self._horizon:
            rec["delivery_method"] = method
            rec["delivery_time"] = self._daystr[dt // 86400] + " " + self._tod[dt % 86400]
            last = dt
        return last

    def _case_tail(self, rec: dict, last: int, steps: list, proc: dict | None, materials: tuple) -> None:
        """source_time, steps, special procedures and materials, the last fields of a case."""
        D, T, H = self._daystr, self._tod, self._horizon
        src = last + int(self._r() * 3600)
        if src > H:
            src = H
        rec["source_time"] = D[src // 86400] + " " + T[src % 86400]
        if steps:
            rec["steps"] = steps
        if proc is not None:
            ps, pe = proc["start_time"], proc.get("end_time")
            proc["start_time"] = f"{D[ps // 86400]} {T[ps % 86400]}"
            if pe is not None:
                if pe <= H:
                    proc["end_time"] = f"{D[pe // 86400]} {T[pe % 86400]}"
                else:
                    del proc["end_time"]
            rec["special_procedures"] = [proc]
        # Copies: a consumer that edits one record's materials must not edit the next one's.
        rec["materials"] = list(map(_dict_copy, materials))
        if self._clamp:
            for f, fallback in self._clamp.items():
                if f in rec and rec[f] not in self._clamp_dom[f]:
                    rec[f] = fallback
