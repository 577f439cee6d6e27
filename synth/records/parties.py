"""Person (人员) and enterprise (企业) records of the resource libraries."""

from __future__ import annotations

from bisect import bisect

from synth.vocab import _AGRI, _EDU_CUM, _EDUCATION, _ENT_TYPES, _HOUSING, _MARKET, _NATIONS, _TRADES


class PartyRecords:
    """``person()`` and ``enterprise()`` of the generator: the population, one by one."""

    def person(self) -> dict:
        """The next person of the population (person 0, 1, 2 … : ID numbers never repeat)."""
        i = self._person_next
        self._person_next += 1
        return self._person_record(i)

    def _person_record(self, i: int) -> dict:
        r = self._r
        name, id_no, gender, birth, phone, addr, county = self._person(i)
        age = self.today.year - int(birth[:4])
        hh = self._county_by_code[county]
        rec = {
            "id_no": id_no,
            "name": name,
            "gender": gender,
            "birth_date": birth,
            "nation": _NATIONS[int(r() * len(_NATIONS))],
            "current_address": addr,
            "household_address": addr if r() < 0.7 else f"{hh.full}{hh.towns[int(r() * len(hh.towns))]}",
            "education": _EDUCATION[bisect(_EDU_CUM, r() * _EDU_CUM[-1])],
            "household_type": "居民" if r() < 0.6 else ("非农业" if r() < 0.5 else "农业"),
            "marital_status": "未婚"
            if age < 22 or (age < 35 and r() < 0.4)
            else ("已婚" if r() < 0.85 else ("离婚" if age < 65 or r() < 0.5 else "丧偶")),
            "phone": phone,
            "source_time": self._fmt(self._rand_time(365)),
        }
        ext = []
        if 18 <= age < 60:
            ext.append({"category": "劳动就业", "name": "就业状态", "value": "就业" if r() < 0.9 else "失业登记"})
            ext.append({"category": "社保", "name": "职工养老保险参保状态", "value": "正常参保"})
            if r() < 0.6:
                ext.append({"category": "公积金", "name": "住房公积金缴存状态", "value": "正常缴存"})
        elif age >= 60:
            ext.append({"category": "社保", "name": "养老金领取状态", "value": "正常领取"})
        if r() < 0.03:
            ext.append({"category": "救助", "name": "最低生活保障", "value": "在保"})
        if ext:
            rec["extended"] = ext
        return rec

    # -- enterprise ---------------------------------------------------------------------

    def enterprise(self) -> dict:
        """The next enterprise (enterprise 0, 1, 2 … : credit codes never repeat)."""
        j = self._ent_next
        self._ent_next += 1
        return self._enterprise_record(j)

    def _enterprise_record(self, j: int) -> dict:
        r = self._r
        code, name, region, addr, rep, kind, h = self._enterprise(j)
        county = self._county_by_code[region]
        rep_p = self._person(rep)
        est_day = self._today_idx - 30 - int(r() * 20 * 365)
        est = self._date_at(est_day)
        trade, scope = _TRADES[(h >> 28) % len(_TRADES)]
        if kind == "91":
            etype, capital = _ENT_TYPES[(h >> 44) % len(_ENT_TYPES)], f"{(50 + (h >> 48) % 5000) * 10}.00"
        elif kind == "92":
            etype, capital, scope = "个体工商户", f"{1 + (h >> 48) % 50}.00", "零售；餐饮服务"
        elif kind == "N2":
            etype, capital, scope = "农村集体经济组织", f"{100 + (h >> 48) % 3000}.00", "集体资产经营与管理"
        else:
            etype, capital, scope = "其他组织", "0.00", "业主共同事务管理"
        x = r()
        rec = {
            "uscc": code,
            "name": name,
            "reg_authority": county.depts[_MARKET].name
            if kind in ("91", "92")
            else county.depts[_AGRI].name
            if kind == "N2"
            else county.depts[_HOUSING].name,
            "enterprise_type": etype,
            "registered_capital": capital,
            "business_scope": scope,
            "legal_rep": rep_p[0],
            "legal_rep_id_no": rep_p[1],
            "established_date": est,
            "address": addr,
            "region_code": region,
            "status": "存续"
            if x < 0.9
            else ("在业" if x < 0.95 else ("注销" if x < 0.98 else ("吊销" if x < 0.99 else "迁出"))),
            "source_time": self._fmt(self._rand_time(365)),
        }
        if kind in ("91", "92") and r() < 0.5:
            rec["permits"] = [self._permit(region, scope) for _ in range(1 + int(r() * 2))]
        if kind == "91" and trade in ("建设工程", "装饰工程"):
            rec["qualifications"] = [self._qualification(region, county)]
        return rec

    def _permit(self, region: str, scope: str) -> dict:
        """One of an enterprise's administrative permits (行政许可) held."""
        r = self._r
        di = self._lic_items[bisect(self._lic_cum, r() * self._lic_cum[-1])]
        start_day = self._today_idx - 1 - int(r() * 4 * 365)
        years = di.item.years or 5
        end_day = start_day + years * 365 - 1
        self._lic_serial += 1
        return {
            "permit_name": di.item.licence,
            "permit_no": f"{di.item.prefix}{region}{self._lic_serial:08d}",
            "scope": scope,
            "start_date": self._daystr[start_day],
            "end_date": self._date_at(end_day),
            "issue_date": self._daystr[start_day],
            "issuer": di.dept.name,
            "status": "过期" if end_day < self._today_idx else "有效",
        }

    def _qualification(self, region: str, county) -> dict:
        """A construction enterprise's qualification certificate (建筑业企业资质)."""
        r = self._r
        start_day = self._today_idx - 1 - int(r() * 4 * 365)
        end_day = start_day + 5 * 365 - 1
        self._lic_serial += 1
        return {
            "cert_name": "建筑业企业资质证书",
            "grade": "施工总承包三级" if r() < 0.7 else "施工总承包二级",
            "cert_no": f"D3{region}{self._lic_serial:08d}",
            "valid_from": self._daystr[start_day],
            "valid_to": self._date_at(end_day),
            "issue_date": self._daystr[start_day],
            "issuer": county.depts[_HOUSING].name,
            "status": "有效" if end_day >= self._today_idx else "过期",
        }
