"""The population records draw from: counties of one prefecture, their departments (with
staff), the items each department implements, and the people and enterprises who apply.

Departments, their credit codes and item codes are reference data (seed-independent);
staff names and every person and enterprise derive from the seed. Person *i* and
enterprise *j* are pure functions of (seed, index): a bijection onto the ID space keeps
ID numbers and credit codes unique, a hash supplies names and addresses.
"""

from __future__ import annotations

from collections.abc import Iterable
from random import Random

from hub.model.codes import idcard
from synth.axis import _birth_days
from synth.catalogue import ITEMS, _Item
from synth.hashing import _base31, _coprime_multiplier, _cumulative, _make_uscc, _mix, _stable_hash
from synth.vocab import (
    _ALL_PLANS,
    _AUTHORITIES,
    _BRAND,
    _CONCLUSION_OK,
    _DEPTS,
    _GENERIC_TOWNS,
    _GIVEN_F,
    _GIVEN_M,
    _GIVEN_X,
    _NOT_COUNTIES,
    _NUM,
    _PHONE2,
    _ROADS,
    _SEQ3,
    _SHOPS,
    _SURNAMES,
    _TOWNS,
    _TRADES,
    _VILLAGES,
)

_FREQUENT_PERSONS = 50000
_FREQUENT_ENTERPRISES = 10000


class _County:
    __slots__ = ("code", "name", "full", "prefix", "brand_prefix", "towns", "depts")

    def __init__(self, code, name, full, prefix, brand_prefix, towns):
        self.code, self.name, self.full, self.prefix = code, name, full, prefix
        self.brand_prefix, self.towns = brand_prefix, towns
        self.depts: list[_Dept] = []


class _Dept:
    __slots__ = ("county", "cat", "name", "uscc", "staff", "plans")

    def __init__(self, county, cat, name, uscc_, staff):
        self.county, self.cat, self.name, self.uscc, self.staff = county, cat, name, uscc_, staff


class _DeptItem:
    """An item as one department implements it (实施清单): everything constant per case."""

    __slots__ = (
        "dept",
        "item",
        "code",
        "basic",
        "version",
        "fee",
        "legal",
        "promise",
        "materials_case",
        "materials_online",
        "case_suffix",
        "hot",
    )

    def __init__(self, dept: _Dept, item: _Item, basic: str, version: str):
        self.dept, self.item, self.basic, self.version = dept, item, basic, version
        self.code = dept.uscc + "4" + basic  # 实施编码: USCC (18) + level 4 (县) + 基本编码 (12)
        self.fee = item.fee
        self.legal, self.promise = item.legal, item.promise
        # Material entry templates (copied into each case).
        self.materials_case = tuple(
            {"name": m, "form": "原件" if k == 0 else "复印件", "count": 1} for k, m in enumerate(item.materials)
        )
        self.materials_online = tuple({"name": m, "form": "电子件", "count": 1} for m in item.materials)
        self.case_suffix = "申请" + item.name
        # What case() needs, unpacked in one go (attribute lookups add up on the hot path).
        self.hot = (
            self.code,
            item.name,
            version,
            dept.uscc,
            dept.name,
            dept.county.code,
            self.case_suffix,
            item.legal,
            item.promise,
            item.unit,
            item.fee,
            item.instant,
            item.online,
            item.holder,
            self.materials_online,
            self.materials_case,
            item.licence,
            item.prefix,
            item.project,
            _CONCLUSION_OK[item.type == "01"],
        )


class Population:
    """Counties, departments, implemented items and the applicant pools of a generator."""

    def _init_counties(self, province: str, prefecture: str) -> None:
        table = self.divisions
        placeholders = _NOT_COUNTIES
        pref4 = prefecture[:4]
        current = [
            c for c in table.codes(province, True, "county") if c[:4] == pref4 and table.name(c) not in placeholders
        ]
        if not current:
            raise ValueError(f"no current counties under prefecture {prefecture!r} in {table.version}")
        historic = [
            c
            for c in table.codes(province, False, "county")
            if c[:4] == pref4 and c not in table.current_codes and table.name(c) not in placeholders
        ]
        self._counties = [self._make_county(c) for c in current]
        self._county_by_code = {c.code: c for c in self._counties}
        self._id_codes_cur = tuple(current)
        self._id_codes_hist = tuple(historic) or tuple(current)

    def _init_departments(
        self, prefecture: str, departments: Iterable[str] | None, counties: Iterable[str] | None
    ) -> None:
        """Departments and the items they implement. Reference data: seed-independent."""
        for county in self._counties:
            for cat, (suffix, new) in enumerate(_DEPTS):
                h = _stable_hash(f"dept:{county.code}:{cat}")
                body = ("MB" + _base31(h, 6)) if new else f"0{h % 10**7:07d}"
                code = _make_uscc(f"11{county.code}", body)
                county.depts.append(_Dept(county, cat, county.prefix + suffix, code, ()))
        wanted_depts = set(departments) if departments is not None else None
        wanted_counties = set(counties) if counties is not None else None
        self._dept_items: list[_DeptItem] = []
        weights: list[float] = []
        for county in self._counties:
            if wanted_counties is not None and county.code not in wanted_counties:
                continue
            for item in ITEMS:
                dept = county.depts[item.dept]
                if wanted_depts is not None and dept.name not in wanted_depts:
                    continue
                basic = f"{item.type}{item.idx + 1:04d}{item.dept + 1:03d}000"
                version = str(1 + _stable_hash(f"ver:{county.code}:{item.idx}") % 3)
                self._dept_items.append(_DeptItem(dept, item, basic, version))
                weights.append(item.weight)
        self._check_wanted(prefecture, wanted_depts, wanted_counties)
        self._di_cum = _cumulative(weights)
        lic = [(di, w) for di, w in zip(self._dept_items, weights) if di.item.licence]
        self._lic_items = [di for di, _ in lic] or self._dept_items
        self._lic_cum = _cumulative([w for _, w in lic]) if lic else self._di_cum
        self._active_depts = sorted({di.dept for di in self._dept_items}, key=lambda d: (d.county.code, d.cat))

    def _check_wanted(self, prefecture: str, wanted_depts: set | None, wanted_counties: set | None) -> None:
        if wanted_depts is not None:
            known = {d.name for c in self._counties for d in c.depts}
            unknown = wanted_depts - known
            if unknown:
                raise ValueError(f"unknown departments {sorted(unknown)}")
        if wanted_counties is not None and wanted_counties - set(self._county_by_code):
            raise ValueError(
                f"counties {sorted(wanted_counties - set(self._county_by_code))} are not current "
                f"counties of {prefecture}"
            )
        if not self._dept_items:
            raise ValueError(
                "no department implements any catalogue item with these departments/counties; "
                f"known departments look like {self._counties[0].depts[1].name!r}"
            )

    def _init_staff(self) -> None:
        """Staff per department (names + 工号), drawn from the seeded generator, and each
        step plan pre-filled with them: a case copies these and adds the times."""
        for d in self._active_depts:
            d.staff = tuple((f"{d.county.code[-2:]}{d.cat:02d}{k:03d}", self._name_r()) for k in range(1, 7))
            d.plans = {
                id(plan): tuple(
                    {
                        "seq": s,
                        "step_name": name,
                        "handler_id": d.staff[si][0],
                        "handler_name": d.staff[si][1],
                        "action": action,
                        "opinion": opinion,
                    }
                    for s, (name, action, opinion, si) in enumerate(plan, 1)
                )
                for plan in _ALL_PLANS
            }
        self._authorities = {
            key: _make_uscc("11100000", f"0{_stable_hash('auth:' + name) % 10**7:07d}")
            for key, name in _AUTHORITIES.items()
        }
        # Licence type code per item: the authority's USCC + a 3-digit type number.
        self._catalogue_code = {
            it.idx: self._authorities[it.authority] + f"{it.idx + 1:03d}" for it in ITEMS if it.licence
        }

    def _init_identities(self, seed: int, population: int, enterprise_count: int) -> None:
        """Identity permutations (bijections on the ID space: ID numbers never repeat)."""
        nb = len(_birth_days())
        self._pm_cur = len(self._id_codes_cur) * nb * 1000
        self._pm_hist = len(self._id_codes_hist) * nb * 1000
        rs = Random(f"identity:{seed}")
        self._pa_cur = _coprime_multiplier(self._pm_cur, rs.randrange(self._pm_cur // 3, self._pm_cur))
        self._pb_cur = rs.randrange(self._pm_cur)
        self._pa_hist = _coprime_multiplier(self._pm_hist, rs.randrange(self._pm_hist // 3, self._pm_hist))
        self._pb_hist = rs.randrange(self._pm_hist)
        self._em = 31**6
        self._ea = _coprime_multiplier(self._em, rs.randrange(self._em // 3, self._em))
        self._eb = rs.randrange(self._em)
        self._psalt = rs.getrandbits(64)
        self._esalt = rs.getrandbits(64)
        if population > self._pm_cur:
            raise ValueError(f"population {population} exceeds the ID number space {self._pm_cur}")

        # Frequent applicants: persons 0…n-1 and enterprises 0…m-1 apply far more often than
        # the rest (agents, businesses with many permits). They are cached, which bounds
        # memory (≈30 MB at most) and cuts the cost of an applicant by ~3x.
        self._freq_p = min(_FREQUENT_PERSONS, population)
        self._freq_e = min(_FREQUENT_ENTERPRISES, enterprise_count)
        self._pcache: dict[int, tuple] = {}
        self._ecache: dict[int, tuple] = {}

    def _make_county(self, code: str) -> _County:
        t = self.divisions
        name = t.name(code) or code
        full = t.full_name(code) or name
        pref = self.prefecture_name
        if name.endswith("区") and not name.endswith(("园区", "开发区", "新区")) and pref not in name:
            prefix = pref + name  # 苏州市吴中区市场监督管理局
            brand = pref[:-1] if pref.endswith("市") else pref  # 苏州华盛…有限公司
        else:
            prefix = name  # 常熟市市场监督管理局, 苏州工业园区…
            brand = name
        return _County(code, name, full, prefix, brand, _TOWNS.get(code, _GENERIC_TOWNS))

    @property
    def departments(self) -> list[tuple[str, str, str]]:
        """(name, USCC, region code) of every department that implements generated items."""
        return [(d.name, d.uscc, d.county.code) for d in self._active_depts]

    def item_codes(self) -> list[tuple[str, str, str]]:
        """(实施编码, item name, department name) of every item cases can reference."""
        return [(di.code, di.item.name, di.dept.name) for di in self._dept_items]

    def _name_r(self) -> str:
        r = self._r
        sur = _SURNAMES[int(r() * len(_SURNAMES))]
        pool = _GIVEN_M if r() < 0.5 else _GIVEN_F
        if r() < 0.3:
            return sur + pool[int(r() * len(pool))]
        first = _GIVEN_X[int(r() * len(_GIVEN_X))] if r() < 0.3 else pool[int(r() * len(pool))]
        return sur + first + pool[int(r() * len(pool))]

    # -- identities (pure functions of seed and index) -----------------------------------

    def _person(self, i: int) -> tuple[str, str, str, str, str, str, str]:
        """Person *i* of the population: (name, id_no, gender, birth YYYY-MM-DD, phone, address, county).

        A bijection of *i* onto (address code, birth date, sequence) keeps ID numbers unique;
        a hash of (seed, i) supplies the rest, so person *i* is the same in every kind.
        """
        h = _mix(self._psalt ^ i)
        h2 = _mix(h)
        if h % 50 == 0:  # ≈2% keep the code of a county since abolished or renamed
            codes, p = self._id_codes_hist, (i * self._pa_hist + self._pb_hist) % self._pm_hist
        else:
            codes, p = self._id_codes_cur, (i * self._pa_cur + self._pb_cur) % self._pm_cur
        births = self._births
        p, seq = divmod(p, 1000)
        ci, bi = divmod(p, len(births))
        b8 = births[bi]
        first17 = codes[ci] + b8 + _SEQ3[seq]
        id_no = first17 + idcard.check_char(first17)
        male = seq & 1
        pool = _GIVEN_M if male else _GIVEN_F
        sur = _SURNAMES[(h >> 8) % len(_SURNAMES)]
        g1 = pool[(h >> 24) % len(pool)]
        if (h >> 16) & 7 < 3:
            name = sur + g1
        elif (h >> 19) & 3 == 0:
            name = sur + _GIVEN_X[(h >> 32) % len(_GIVEN_X)] + g1
        else:
            name = sur + g1 + pool[(h >> 40) % len(pool)]
        phone = "1" + _PHONE2[h2 % 7] + str(100000000 + (h2 >> 8) % 900000000)
        county = self._counties[(h2 >> 40) % len(self._counties)]
        towns = county.towns
        addr = county.full + towns[(h2 >> 48) % len(towns)] + _ROADS[(h2 >> 52) % len(_ROADS)] + _NUM[(h2 >> 57) % 120]
        return name, id_no, "男" if male else "女", f"{b8[:4]}-{b8[4:6]}-{b8[6:]}", phone, addr, county.code

    def _enterprise(self, j: int) -> tuple[str, str, str, str, int, str, int]:
        """Enterprise *j*: (uscc, name, region, address, legal-rep person index, class, hash)."""
        h = _mix(self._esalt ^ j)
        county = self._counties[(h >> 8) % len(self._counties)]
        p = (j * self._ea + self._eb) % self._em
        towns = county.towns
        town = towns[(h >> 16) % len(towns)]
        cls = h % 100
        if cls < 80:
            # Companies: post-2015 ones have 'MA…' bodies, older ones 8-digit bodies.
            body = ("MA" + _base31(p, 6)) if (h >> 24) % 10 < 6 else f"{p % 10**8:08d}"
            code = _make_uscc(f"91{county.code}", body)
            trade = _TRADES[(h >> 28) % len(_TRADES)][0]
            name = f"{county.brand_prefix}{_BRAND[(h >> 34) % len(_BRAND)]}{_BRAND[(h >> 40) % len(_BRAND)]}{trade}有限公司"
            kind = "91"
        elif cls < 92:
            code = _make_uscc(f"92{county.code}", "MA" + _base31(p, 6))
            sur = _SURNAMES[(h >> 28) % len(_SURNAMES)]
            name = f"{county.prefix}{town}{sur}记{_SHOPS[(h >> 36) % len(_SHOPS)]}"
            kind = "92"
        elif cls < 96:
            # Rural collective economic organisations: N + 1/2/3 (组/村/乡镇级).
            code = _make_uscc(f"N2{county.code}", "MA" + _base31(p, 6))
            name = f"{county.prefix}{town}{_VILLAGES[(h >> 28) % len(_VILLAGES)]}股份经济合作社"
            kind = "N2"
        else:
            code = _make_uscc(f"Y1{county.code}", "MB" + _base31(p, 6))
            name = (
                f"{county.prefix}{town}{_BRAND[(h >> 34) % len(_BRAND)]}{_BRAND[(h >> 40) % len(_BRAND)]}花园业主委员会"
            )
            kind = "Y1"
        addr = f"{county.full}{town}{_ROADS[(h >> 46) % len(_ROADS)]}{(h >> 52) % 300 + 1}号"
        return code, name, county.code, addr, (h >> 20) % self.population, kind, h

    def _some_person(self) -> tuple:
        r = self._r
        if r() < 0.75:
            i = int(r() * self._freq_p)
            p = self._pcache.get(i)
            if p is None:
                p = self._pcache[i] = self._person(i)
            return p
        return self._person(int(r() * self.population))

    def _some_enterprise(self) -> tuple:
        r = self._r
        if r() < 0.7:
            j = int(r() * self._freq_e)
            e = self._ecache.get(j)
            if e is None:
                e = self._ecache[j] = self._enterprise(j)
            return e
        return self._enterprise(int(r() * self.enterprise_count))

    # -- case ---------------------------------------------------------------------------
