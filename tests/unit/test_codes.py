"""hub.model.codes: one test per row of tests/unit/data/codes/*.csv, plus cross-checks
against python-stdnum and the standards' weight tables."""

from __future__ import annotations

import csv
import pickle
import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from stdnum.cn import uscc as stdnum_uscc
from stdnum.iso7064 import mod_11_2

from hub.core import clock as hub_clock
from hub.model.codes import CodeError, divisions, idcard, licence_id, mask, orgcode, uscc
from hub.model.codes.divisions import DivisionTable, default_table

DATA = Path(__file__).parent / "data" / "codes"


def rows(name: str) -> list:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        table = list(csv.DictReader(f))
    return [pytest.param(r, id=f"{name[:-4]}:{i + 2}:{r.get('note') or ''}"[:80]) for i, r in enumerate(table)]


def assert_safe(err: CodeError, value: str) -> None:
    """Messages never contain the value (it may be personal data)."""
    assert err.message == str(err)
    core = value.strip().replace(" ", "").upper()
    if len(core) >= 6:
        assert core not in err.message.upper()
    if err.reason.endswith("check_char"):
        assert "check character" in err.message


def run(validator, row: dict, *args, **kw) -> None:
    value = row["value"]
    if row["expected"]:
        assert row["reason"] == ""
        assert validator(value, *args, **kw) == row["expected"]
    else:
        with pytest.raises(CodeError) as exc:
            validator(value, *args, **kw)
        assert exc.value.reason == row["reason"]
        assert_safe(exc.value, value)


# -- 公民身份号码 ---------------------------------------------------------------------


@pytest.mark.parametrize("row", rows("idcard.csv"))
def test_idcard(row):
    kw = {}
    if row["divisions"] == "table":
        kw["divisions"] = default_table()
    if row["today"]:
        kw["today"] = date.fromisoformat(row["today"])
    run(idcard.validate, row, **kw)
    assert idcard.is_valid(row["value"], **kw) == bool(row["expected"])


def test_idcard_check_matches_weights_and_stdnum():
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    rnd = random.Random(11643)
    for _ in range(2000):
        first17 = "".join(rnd.choice("0123456789") for _ in range(17))
        by_weights = "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]
        assert idcard.check_char(first17) == by_weights == mod_11_2.calc_check_digit(first17)


def test_idcard_extractors():
    assert idcard.birth_date("11010519491231002X") == date(1949, 12, 31)
    assert idcard.birth_date("110105491231002") == date(1949, 12, 31)
    assert idcard.gender("11010519491231002X") == "F"
    assert idcard.gender("32050219800101123X") == "M"
    # Extractors skip the check character, for quarantined records.
    assert idcard.gender("110105194912310021") == "F"
    with pytest.raises(CodeError) as exc:
        idcard.birth_date("320581199902290037")
    assert exc.value.reason == "id_birth_date"


def test_idcard_default_today_is_the_real_date():
    with hub_clock.using(hub_clock.SYSTEM):  # the wall clock, whatever clock the suite runs on
        tomorrow = date.today() + timedelta(days=1)
        first17 = f"320581{tomorrow:%Y%m%d}001"
        with pytest.raises(CodeError) as exc:
            idcard.validate(first17 + idcard.check_char(first17))
        assert exc.value.reason == "id_birth_date"
        first17 = f"320581{date.today():%Y%m%d}001"
        assert idcard.is_valid(first17 + idcard.check_char(first17))


@pytest.mark.parametrize("today", [date(2025, 1, 1), date(2027, 12, 31)])
def test_idcard_default_today_follows_the_hub_clock(today):
    with hub_clock.using(hub_clock.FrozenClock(today)):
        first17 = f"320581{today + timedelta(days=1):%Y%m%d}001"
        with pytest.raises(CodeError) as exc:
            idcard.validate(first17 + idcard.check_char(first17))
        assert exc.value.reason == "id_birth_date"
        first17 = f"320581{today:%Y%m%d}001"
        assert idcard.is_valid(first17 + idcard.check_char(first17))


def test_idcard_rejects_non_text():
    for bad in (None, 11010519491231002, b"11010519491231002X"):
        with pytest.raises(CodeError) as exc:
            idcard.validate(bad)
        assert exc.value.reason == "id_format"


# -- 统一社会信用代码 ------------------------------------------------------------------


@pytest.mark.parametrize("row", rows("uscc.csv"))
def test_uscc(row):
    kw = {}
    if row["allow"]:
        kw["allow"] = frozenset({row["allow"]})
    if row["divisions"] == "table":
        kw["divisions"] = default_table()
    run(uscc.validate, row, **kw)


def test_uscc_every_registration_department_is_accepted():
    rnd = random.Random(32100)
    for dept in uscc.REGISTRATION_DEPARTMENTS:
        for _ in range(50):
            first17 = dept + rnd.choice("12349") + "320500" + "".join(rnd.choice(uscc.ALPHABET) for _ in range(9))
            code = first17 + uscc.check_char(first17)
            assert uscc.validate(code, divisions=default_table()) == code


def test_uscc_check_matches_weights_and_stdnum():
    rnd = random.Random(31)
    weights = [pow(3, i, 31) for i in range(17)]
    assert weights == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    alphabet = uscc.ALPHABET
    for _ in range(2000):
        first17 = "".join(rnd.choice(alphabet) for _ in range(17))
        total = sum(alphabet.index(c) * w for c, w in zip(first17, weights))
        assert uscc.check_char(first17) == alphabet[(31 - total % 31) % 31]
        # stdnum's check is fine; only its validate() rejects letters in positions 1-8.
        assert uscc.check_char(first17) == stdnum_uscc.calc_check_digit(first17)
        digits8 = "".join(rnd.choice("0123456789") for _ in range(8)) + first17[8:]
        code = digits8 + uscc.check_char(digits8)
        assert stdnum_uscc.is_valid(code)


def test_uscc_library_gap_documented():
    # If stdnum ever accepts these, the note in hub.model.codes.uscc can go.
    assert not stdnum_uscc.is_valid("N2320581MF1A1B2C39")
    assert uscc.is_valid("N2320581MF1A1B2C39")


def test_uscc_parts():
    assert uscc.organisation_code("914403001922038216") == "192203821"
    assert uscc.registration_department("N2320581MF1A1B2C39") == "农业"
    assert uscc.registration_department("914403001922038216") == "工商"
    assert uscc.org_code_consistent("914403001922038216")
    assert uscc.org_code_consistent("91320594MA1NHMCA0T")
    assert not uscc.org_code_consistent("N2320581MF1A1B2C39")  # body not GB 11714 but code valid
    assert uscc.is_valid("N2320581MF1A1B2C39")
    assert not uscc.org_code_consistent("junk")


# -- 组织机构代码 ---------------------------------------------------------------------


@pytest.mark.parametrize("row", rows("orgcode.csv"))
def test_orgcode(row):
    run(orgcode.validate, row)


def test_orgcode_sum_mod_11_zero_gives_0_and_one_gives_x():
    values = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
    rnd = random.Random(11714)
    seen = set()
    for _ in range(3000):
        body = "".join(rnd.choice("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(8))
        r = sum(values[c] * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2))) % 11
        c = 11 - r
        expected = "X" if c == 10 else "0" if c == 11 else str(c)
        assert orgcode.check_char(body) == expected
        seen.add(r)
    assert seen == set(range(11))


# -- 电子证照标识 ---------------------------------------------------------------------


@pytest.mark.parametrize("row", rows("licence_id.csv"))
def test_licence_id(row):
    run(licence_id.validate, row)


@pytest.mark.parametrize("row", rows("licence_make.csv"))
def test_licence_make(row):
    version = int(row["version"]) if len(row["version"]) < 3 else row["version"]
    made = licence_id.make(row["type_code"], row["issuer_code"], row["serial"], version)
    if row["expected"]:
        assert made == row["expected"]
    assert licence_id.validate(made) == made
    # Any single-character change is caught (MOD 37,36 detects all substitutions).
    body, check = made.rsplit(".", 1)
    pos = body.index(row["serial"].upper())
    tampered = body[:pos] + ("1" if body[pos] != "1" else "2") + body[pos + 1 :] + "." + check
    with pytest.raises(CodeError) as exc:
        licence_id.validate(tampered)
    assert exc.value.reason == "licence_id_check_char"


def test_licence_make_rejects_bad_fields():
    with pytest.raises(CodeError) as exc:
        licence_id.make("11100000000013338W01", "11430000006122244L", "1")
    assert exc.value.reason == "licence_id_format"
    with pytest.raises(CodeError):
        licence_id.make("11100000000013338W011", "11430000006122244L", "A-1")


# -- 行政区划代码 ---------------------------------------------------------------------


@pytest.mark.parametrize("row", rows("divisions.csv"))
def test_division_table(row):
    t = default_table()
    year = int(row["year"]) if row["year"] else None
    assert t.exists(row["code"], year) == (row["exists"] == "1")
    assert t.is_current(row["code"]) == (row["current"] == "1")
    if row["full_name"]:
        assert t.full_name(row["code"], year) == row["full_name"]
    if row["exists"] == "1":
        assert divisions.validate(row["code"], year=year) == row["code"]
    else:
        with pytest.raises(CodeError) as exc:
            divisions.validate(row["code"], year=year)
        assert exc.value.reason == "division_unknown"


def test_division_table_api():
    t = default_table()
    assert t is default_table()
    assert t.version.startswith("gb2260-20")
    assert t.province_of("320581") == "320000"
    assert t.prefecture_of("320581") == "320500"
    assert t.prefecture_of("320000") is None
    assert t.name("320581") == "常熟市"
    assert t.name("999999") is None and t.get("999999") is None
    d = t.get("320502")
    assert (d.code, d.name, d.level, d.parent, d.valid_from, d.valid_to) == (
        "320502",
        "沧浪区",
        "county",
        "320500",
        1983,
        2012,
    )
    assert [p.name for p in t.history("320602")] == ["城区", "崇川区"]
    suzhou = t.codes("320000", level="county")
    assert {"320581", "320582", "320583", "320585", "320508", "320509"} <= set(suzhou)
    assert "320502" not in suzhou and "320502" in t.codes("32", current_only=False)
    assert t.codes("32", level="prefecture")[:2] == ["320100", "320200"]
    jiangsu_prefectures = t.codes("32", level="prefecture")
    assert len(jiangsu_prefectures) == 13
    for bad in ("32058", "32058a", None):
        with pytest.raises(CodeError) as exc:
            divisions.validate(bad)
        assert exc.value.reason == "division_format"


def test_division_supplement_merges(tmp_path):
    header = "code,name,level,parent,valid_from,valid_to\n"
    (tmp_path / "gb2260.csv").write_text(
        header + "320000,江苏省,province,,,\n320502,沧浪区,county,320500,1983,2012\n", encoding="utf-8"
    )
    (tmp_path / "supplement.csv").write_text(
        header.replace("\n", ",note\n")
        + "320502,沧浪区,county,320500,1983,2013,fix\n320594,苏州工业园区,county,320500,1994,,x\n",
        encoding="utf-8",
    )
    t = DivisionTable.load(tmp_path)
    assert t.exists("320502", 2013) and t.exists("320594") and len(t) == 3
    assert t.version != DivisionTable.load(tmp_path / "gb2260.csv").version


def test_division_bad_file_names_file_and_line(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text(
        "code,name,level,parent,valid_from,valid_to\n320000,江苏省,province,,,\n3205,苏州,prefecture,,,\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"bad\.csv:3"):
        DivisionTable.load(f)


def test_division_csv_is_fresh():
    # The committed CSV is what the build script produces from the installed stdnum.
    import runpy

    build = runpy.run_path(str(divisions.DEFAULT_DIR / "build_from_stdnum.py"))
    assert build["main"](["--check"]) == 0


# -- errors ---------------------------------------------------------------------------


def test_mask_and_pickle():
    assert mask("32050219800101123X") == "320*************3X"
    assert mask("abc") == "***"
    assert mask(None) == "<NoneType>"
    err = CodeError("id_check_char", "bad check character")
    back = pickle.loads(pickle.dumps(err))
    assert (back.reason, back.message, str(back)) == (err.reason, err.message, str(err))
    assert isinstance(err, ValueError)
