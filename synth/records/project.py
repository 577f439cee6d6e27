"""Investment project (投资项目) records."""

from __future__ import annotations

from synth.vocab import _APPROVAL, _DRC, _INDUSTRIES, _PROJECT_KINDS, _PROJECT_TYPES, _ROADS


class ProjectRecords:
    """``project()`` of the generator."""

    def project(self) -> dict:
        r = self._r
        self._proj_serial += 1
        county = self._counties[int(r() * len(self._counties))]
        ptype, tcode = _PROJECT_TYPES[0 if r() < 0.1 else (1 if r() < 0.1 else 2)]
        ind_code, ind_name = _INDUSTRIES[int(r() * len(_INDUSTRIES))]
        approval_day = self._today_idx - 1 - int(r() * 3 * 365)
        year = self._daystr[approval_day][:4]
        # Unique per run: the 6-digit serial is a counter scrambled over 10^6 (wider after).
        s = self._proj_serial
        serial = f"{(s * 7919 + self.seed) % 1000000:06d}" if s < 1000000 else str(s)
        for _ in range(8):  # project owners are nearly always companies (91…)
            ent = self._enterprise(int(r() * self.enterprise_count))
            if ent[5] == "91":
                break
        town = county.towns[int(r() * len(county.towns))]
        pname = (
            f"{ent[1][:-4] if ent[1].endswith('有限公司') else ent[1]}{_PROJECT_KINDS[int(r() * len(_PROJECT_KINDS))]}"
        )
        approval_dept = county.depts[_DRC].name if ptype != "备案" or r() < 0.5 else county.depts[_APPROVAL].name
        rec = {
            "project_code": f"{year}-{county.code}-{ind_code}-{tcode}-{serial}",
            "project_name": pname,
            "project_type": ptype,
            "owner_name": ent[1],
            "owner_uscc": ent[0],
            "region_code": county.code,
            "site": f"{county.full}{town}{_ROADS[int(r() * len(_ROADS))]}以{'东南西北'[int(r() * 4)]}",
            "industry": ind_name,
            "total_investment": f"{100 + int(r() * 200000)}.{int(r() * 100):02d}",
            "scale": f"总建筑面积约{1000 + int(r() * 99000)}平方米",
            "planned_start": self._daystr[approval_day + 30],
            "planned_end": self._daystr[approval_day + 30 + 365 + int(r() * 365)],
            "approval_no": f"{county.name[:2]}{'发改' if ptype != '备案' else '行审'}{'备' if ptype == '备案' else '核'}〔{year}〕{s % 1000 + 1}号",
            "approval_dept": approval_dept,
            "approval_date": self._daystr[approval_day],
        }
        x = r()
        start_day = approval_day + 30 + int(r() * 120)
        if start_day >= self._today_idx or x < 0.25:
            rec["status"] = "拟建"
        else:
            self._lic_serial += 1
            rec["construction_permit_no"] = f"{county.code}{year}{self._lic_serial:06d}"
            rec["actual_start"] = self._daystr[start_day]
            end_day = start_day + 300 + int(r() * 500)
            if end_day < self._today_idx:
                rec["completion_date"] = self._daystr[end_day]
                rec["status"] = "竣工"
            else:
                rec["status"] = "在建" if r() < 0.95 else "停建"
        rec["source_time"] = self._fmt(self._rand_time(60))
        return rec
