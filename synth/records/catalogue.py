"""Item (事项, the implementation list) and licence (电子证照) records."""

from __future__ import annotations

from bisect import bisect

from hub.model.codes import licence_id
from synth.axis import _DAY, _OPEN_S
from synth.vocab import _AREA_CODES, _LEGAL_BASIS


class CatalogueRecords:
    """``item()`` and ``licence()`` of the generator."""

    @property
    def implementation_list_size(self) -> int:
        """How many (item, department) entries the implementation list has: ingesting that
        many ``item()`` records gives a catalogue every generated case's item is in."""
        return len(self._dept_items)

    def item(self) -> dict:
        """The next item of the implementation list (each (item, dept) once, then next versions)."""
        n = self._item_next
        self._item_next += 1
        di = self._dept_items[n % len(self._dept_items)]
        cycle = n // len(self._dept_items)
        it, dept = di.item, di.dept
        r = self._r
        rec = {
            "item_code": di.code,
            "item_version": str(int(di.version) + cycle),
            "item_name": it.name,
            "item_type": it.type,
            "basic_code": di.basic,
            "dept_code": dept.uscc,
            "dept_name": dept.name,
            "region_code": dept.county.code,
            "exercise_level": "4",
            "legal_basis": _LEGAL_BASIS.get(it.type, "《中华人民共和国行政许可法》"),
            "conditions": f"申请人应当具备{it.name}的法定条件，申请材料齐全、符合法定形式。",
            "charged": it.fee is not None,
        }
        if it.fee is not None:
            rec["fee_basis"] = "按照省物价部门核定的收费标准执行"
            rec["fee_standard"] = it.fee
        rec.update(
            {
                "legal_days": it.legal,
                "legal_unit": it.unit,
                "promise_days": it.promise,
                "promise_unit": it.unit,
                "place": f"{dept.county.full}政务服务中心{1 + int(r() * 3)}楼{1 + int(r() * 40)}号窗口",
                "phone": f"{_AREA_CODES.get(self.prefecture, '0512')}-{5 + int(r() * 4)}{int(r() * 10**7):07d}",
                "supervise_phone": "12345",
                "online": it.online,
                "status": "在用" if r() < 0.95 else ("暂停" if r() < 0.5 else "取消"),
                "source_time": self._fmt(self._rand_time(400)),
                "materials": [
                    {"name": m, "required": k < 2 or r() < 0.7, "form": "原件" if k == 0 else "复印件", "count": 1}
                    for k, m in enumerate(it.materials)
                ],
            }
        )
        return rec

    # -- licence ------------------------------------------------------------------------

    def licence(self, *, _holder: str | None = None) -> dict:
        r = self._r
        for _ in range(100):  # a forced holder kind needs a licence that kind can hold
            di = self._lic_items[bisect(self._lic_cum, r() * self._lic_cum[-1])]
            if _holder is None or _holder in di.item.holder:
                break
        it, dept = di.item, di.dept
        self._lic_serial += 1
        serial = self._lic_serial
        holder = _holder or ("e" if (it.holder == "e" or (it.holder == "pe" and r() < 0.4)) else "p")
        if holder == "p":
            person = self._person(int(r() * self.population))
            hname, htype, hid = person[0], "111", person[1]
        else:
            ent = self._enterprise(int(r() * self.enterprise_count))
            hname, htype, hid = ent[1], "001", ent[0]
        issue_day = self._today_idx - 1 - int(r() * 6 * 365)
        issue = self._daystr[issue_day]
        licence_no = f"{it.prefix}{dept.county.code}{serial:08d}"
        ser = f"{self._day8[issue_day]}{serial:08d}"
        catalogue = self._catalogue_code[it.idx]
        rec = {
            "licence_no": licence_no,
            "licence_id": licence_id.make(catalogue, dept.uscc, ser, "001"),
            "licence_name": it.licence,
            "catalogue_code": catalogue,
            "licence_type": it.licence,
            "holder_name": hname,
            "holder_id_type": htype,
            "holder_id_no": hid,
            "issuer_name": dept.name,
            "issuer_code": dept.uscc,
            "region_code": dept.county.code,
            "issue_date": issue,
            "valid_from": issue,
        }
        expired = False
        if it.years:
            to_day = issue_day + it.years * 365 - 1
            rec["valid_to"] = self._date_at(to_day)
            expired = to_day < self._today_idx
        x = r()
        rec["status"] = (
            "过期" if expired else ("有效" if x < 0.95 else ("注销" if x < 0.98 else ("吊销" if x < 0.99 else "挂失")))
        )
        fmt = "OFD" if r() < 0.8 else "PDF"
        rec["file_ref"] = f"oss://govhub-licences/{dept.county.code}/{ser}.{fmt.lower()}"
        rec["file_format"] = fmt
        rec["file_digest"] = f"{self._rng.getrandbits(256):064x}"
        rec["source_time"] = self._fmt(issue_day * _DAY + _OPEN_S + int(r() * 32400))
        rec["face_items"] = [
            {"name": "持证主体", "value": hname},
            {"name": "证照编号", "value": licence_no},
            {"name": "有效期限", "value": f"{issue}至{rec.get('valid_to', '长期')}"},
            {"name": "发证机关", "value": dept.name},
        ]
        return rec
