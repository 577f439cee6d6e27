"""Synthetic government-service data (合成数据生成器) for the demo, the tests and benchmarks.

Datasheet
---------
What it makes
    Canonical records (plain dicts shaped exactly like ``schemas/dictionary/<kind>.yaml``)
    of every message kind: case 办件, item 事项, licence 电子证照, person 人员, enterprise
    企业, project 投资项目, evaluation 好差评, supervision 监察督办. Values are canonical
    lexical values: ``str`` for string/code/enum, ``'YYYY-MM-DD'`` dates,
    ``'YYYY-MM-DD HH:MM:SS'`` datetimes (China Standard Time), ``int``, decimal strings
    (``'120.50'``), ``bool``, lists of dicts. Optional fields without a value are absent.
How realistic
    Real county codes and names of one prefecture (default 苏州 320500) from the division
    table, valid resident ID numbers (≈2% with an abolished county's code such as 320502,
    ≈9% ending in X as nature has it), government departments with valid 统一社会信用代码,
    enterprises (91…, 92…, N…, Y…), ~45 service items with 实施编码 = dept USCC + level
    ``4`` + 基本编码, case lifecycles that are internally consistent (apply ≤ accept ≤
    steps ≤ finish ≤ delivery; nothing after yesterday 23:59:59; unfinished cases are
    办理中/受理/挂起/申报 according to where "now" falls in their timeline). Department
    and item codes do not depend on the seed (they are reference data); everything
    else does.
Defects
    ``records(kind, n, defect_rate, defects)`` yields ``(record, defect)`` pairs; exactly
    ``round(n * defect_rate)`` records (at random positions) carry exactly one defect
    from :data:`DEFECT_KINDS`, labelled with its stable name; the rest carry ``None``.
Writers (streaming, flat memory in N)
    :func:`write_xml` (canonical batch, utf-8/gbk/gb18030), :func:`write_jsonl`,
    :func:`write_dept_b_csv` and :func:`write_dept_c_jsonl` (department formats, built by
    reversing ``mappings/*.yaml``; :func:`write_mapped` for any flat/nested mapping).
    Each takes an iterable of records and a path or binary file object and returns the
    number of records written.
Speed and memory (measured on the project VM, one core, CPython 3.11; this VM runs
CPython ≈2.3x slower than a typical desktop core: ``sum(range(1000))`` takes 16 µs)
    200,000 cases generated and written as canonical UTF-8 XML: 15–17.5k records/s
    (``case()`` alone ≈31k/s, ``write_xml`` alone ≈36k/s, GBK ≈31k/s, ``write_jsonl``
    ≈100k/s). Peak RSS ≈95 MB, flat in N: it plateaus once the bounded caches of
    frequent applicants fill (≈300k cases) and stays there to 1,000,000 and beyond.
    The hot paths are ``case()`` and ``_XmlRenderer.render``: keep per-field Python
    work out of both.

Use::

    from synth.generator import Generator, write_xml
    g = Generator(seed=7)
    n = write_xml((rec for rec, _ in g.records("case", 10_000, defect_rate=0.02)),
                  "case", "/tmp/cases.xml", message_id="demo-1")

    # cases as 张家港市住房和城乡建设局's legacy system can express them
    g = Generator(seed=1, departments=["张家港市住房和城乡建设局"], mapping="dept_b_case_csv")
    write_dept_b_csv((g.case() for _ in range(1000)), "/tmp/dept_b.csv")

Determinism: the same seed, constructor arguments and ``today`` give the same records
(``today`` defaults to the local date, so pass it when output must not change by day).
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from bisect import bisect
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import chain
from math import gcd
from pathlib import Path
from random import Random
from typing import IO, Any, Callable, Iterable, Iterator, Mapping, Sequence

import yaml

from hub.model.codes import divisions as _divisions
from hub.model.codes import idcard, licence_id, orgcode, uscc
from hub.core.config import MAPPINGS_DIR
from hub.model.dictionary import kind as _dictionary_kind

try:  # msgspec encodes a record ~10x faster than json.dumps; fall back if absent
    import msgspec as _msgspec

    _json_encode: Callable[[Any], bytes] = _msgspec.json.Encoder().encode
except ImportError:  # pragma: no cover
    import json as _json

    def _json_encode(obj: Any) -> bytes:
        return _json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


__all__ = [
    "Generator",
    "DEFECT_KINDS",
    "KINDS",
    "write_xml",
    "write_jsonl",
    "write_dept_b_csv",
    "write_dept_c_jsonl",
    "write_mapped",
    "load_mapping",
    "mapping_domains",
]

KINDS = ("case", "item", "licence", "person", "enterprise", "project", "evaluation", "supervision")

#: Injectable defects per kind. The labels are stable: tests map them to quarantine reasons.
DEFECT_KINDS: dict[str, tuple[str, ...]] = {
    "case": (
        "id_check_char",          # applicant_id_no (type 111): wrong check character
        "uscc_check_char",        # dept_code: wrong check character
        "missing_required",       # case_no or applicant_name absent
        "bad_enum",               # case_type 'XX件'
        "time_order",             # accept_time before apply_time
        "unknown_division",       # region_code 329999
        "promise_exceeds_legal",  # promise_days > legal_days
        "bad_datetime",           # apply_time on 30 February
        "too_long",               # case_name of 5,000 characters
        "future_apply",           # apply_time a year from today (case still 申报)
        "id_birth_date",          # applicant ID with an impossible birth date, correct check
    ),
    "item": ("missing_required", "bad_enum", "uscc_check_char", "promise_exceeds_legal"),
    "licence": ("missing_required", "bad_enum", "licence_id_check_char", "holder_id_check_char", "time_order"),
    "person": ("missing_required", "bad_enum", "id_check_char", "id_birth_date"),
    "enterprise": ("missing_required", "bad_enum", "uscc_check_char"),
    "project": ("missing_required", "bad_enum", "uscc_check_char", "unknown_division"),
    "evaluation": ("missing_required", "bad_enum", "bad_satisfaction", "uscc_check_char"),
    "supervision": ("missing_required", "bad_enum", "time_order", "uscc_check_char"),
}

# Which field(s) each "missing_required" defect may drop, per kind (one is chosen).
_MISSING = {
    "case": ("case_no", "applicant_name"),
    "item": ("item_code", "item_name"),
    "licence": ("licence_no", "holder_name"),
    "person": ("id_no", "name"),
    "enterprise": ("uscc", "name"),
    "project": ("project_name", "owner_uscc"),
    "evaluation": ("eval_no", "satisfaction"),
    "supervision": ("supervision_no", "dept_name"),
}
# (field, value) of each "bad_enum" defect.
_BAD_ENUM = {
    "case": ("case_type", "XX件"),
    "item": ("item_type", "99"),
    "licence": ("status", "作废中"),
    "person": ("gender", "未知"),
    "enterprise": ("status", "营业中"),
    "project": ("project_type", "登记"),
    "evaluation": ("channel", "9"),
    "supervision": ("level", "橙牌"),
}
UNKNOWN_DIVISION = "329999"

# ---------------------------------------------------------------------------------------
# Reference vocabularies
# ---------------------------------------------------------------------------------------

# (surname, relative frequency). Roughly the national ranking, with the surnames that are
# unusually common in 苏南 (顾 陆 沈 钱 朱 徐) nudged up, and a few two-character ones.
_SURNAME_WEIGHTS = (
    ("王", 72), ("李", 70), ("张", 66), ("刘", 50), ("陈", 48), ("杨", 30), ("黄", 22), ("赵", 20),
    ("吴", 22), ("周", 22), ("徐", 22), ("孙", 15), ("马", 14), ("朱", 18), ("胡", 13), ("郭", 12),
    ("何", 11), ("高", 11), ("林", 11), ("罗", 9), ("郑", 9), ("梁", 8), ("谢", 8), ("宋", 8),
    ("唐", 8), ("许", 8), ("韩", 7), ("冯", 7), ("邓", 6), ("曹", 7), ("彭", 6), ("曾", 5),
    ("肖", 6), ("田", 5), ("董", 6), ("袁", 5), ("潘", 6), ("于", 5), ("蒋", 6), ("蔡", 5),
    ("余", 5), ("杜", 5), ("叶", 6), ("程", 5), ("苏", 4), ("魏", 4), ("吕", 4), ("丁", 4),
    ("任", 4), ("沈", 9), ("姚", 5), ("卢", 4), ("姜", 4), ("崔", 3), ("钟", 4), ("谭", 3),
    ("陆", 9), ("汪", 4), ("范", 4), ("金", 5), ("石", 3), ("廖", 3), ("贾", 3), ("夏", 4),
    ("韦", 2), ("方", 3), ("白", 3), ("邹", 3), ("孟", 3), ("熊", 3), ("秦", 3), ("邱", 3),
    ("江", 3), ("尹", 3), ("薛", 3), ("闫", 2), ("段", 2), ("雷", 2), ("侯", 3), ("龙", 2),
    ("史", 3), ("陶", 3), ("贺", 3), ("顾", 10), ("毛", 3), ("郝", 2), ("龚", 3), ("邵", 3),
    ("万", 2), ("钱", 7), ("严", 3), ("戴", 3), ("孔", 2), ("汤", 3), ("浦", 1), ("惠", 1),
    ("欧阳", 2), ("司马", 1), ("上官", 1), ("诸葛", 1), ("东方", 1), ("皇甫", 1), ("慕容", 1),
)
_SURNAMES = tuple(s for s, w in _SURNAME_WEIGHTS for _ in range(w))
_GIVEN_M = tuple("伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林洋阳峰建国志文晨轩博睿嘉泽天昊荣良诚豪宏毅")
_GIVEN_F = tuple("芳娜敏静丽艳娟霞秀玲桂英红燕萍雪琳丹倩婷欣悦怡梦晶洁佳颖慧雯璐蕾瑶涵馨诗雨思可月琴")
_GIVEN_X = tuple("子一文晓小海春秋云金玉新永立建德明安嘉")  # first character usable for either gender

_PHONE2 = "3456789"
_SEQ3 = tuple(f"{i:03d}" for i in range(1000))
_NUM = tuple(f"{i}号" for i in range(1, 301))
_NATIONS = ("汉族",) * 96 + ("回族", "满族", "蒙古族", "壮族")
_EDUCATION = ("小学", "初中", "高中", "中专", "大专", "大学本科", "硕士研究生", "博士研究生")
_EDU_W = (6, 22, 20, 8, 16, 22, 5, 1)

_ROADS = (
    "人民路", "解放路", "中山路", "建设路", "长江路", "黄河路", "新华路", "青年路", "海虞北路",
    "虞山北路", "金港大道", "前进路", "北京路", "上海路", "东环路", "西环路", "南环路", "府前街",
    "学士街", "干将路", "十全街", "朝阳路", "花园路", "振兴路", "迎宾路", "华山路", "滨江大道",
    "太湖大道", "香山路", "富春江路", "娄江路", "新港路", "望亭路", "盛泽大道", "友谊路",
)
_VILLAGES = ("新桥村", "东湖村", "联新村", "永红村", "金星村", "长浜村", "港口村", "南新村", "湖滨村", "蒋巷村")
# Real towns/streets (街道/镇) of 苏州's county-level divisions; other prefectures fall back
# to generic names.
_TOWNS = {
    "320581": ("虞山街道", "琴川街道", "莫城街道", "常福街道", "碧溪街道", "东南街道", "梅李镇", "海虞镇", "古里镇", "沙家浜镇", "支塘镇", "董浜镇", "尚湖镇", "辛庄镇"),
    "320582": ("杨舍镇", "塘桥镇", "金港街道", "锦丰镇", "乐余镇", "凤凰镇", "南丰镇", "大新镇"),
    "320583": ("玉山镇", "巴城镇", "周市镇", "陆家镇", "花桥镇", "淀山湖镇", "张浦镇", "周庄镇", "千灯镇", "锦溪镇"),
    "320585": ("城厢镇", "沙溪镇", "浏河镇", "浮桥镇", "璜泾镇", "双凤镇", "娄东街道", "陆渡街道"),
    "320509": ("松陵街道", "江陵街道", "八坼街道", "同里镇", "平望镇", "盛泽镇", "七都镇", "震泽镇", "桃源镇", "黎里镇"),
    "320506": ("长桥街道", "郭巷街道", "横泾街道", "木渎镇", "甪直镇", "胥口镇", "东山镇", "光福镇", "金庭镇", "临湖镇"),
    "320507": ("元和街道", "太平街道", "黄桥街道", "北桥街道", "渭塘镇", "阳澄湖镇", "望亭镇"),
    "320508": ("平江街道", "沧浪街道", "金阊街道", "双塔街道", "虎丘街道", "苏锦街道", "吴门桥街道", "白洋湾街道"),
    "320505": ("狮山街道", "枫桥街道", "横塘街道", "浒墅关镇", "通安镇", "东渚街道"),
    "320594": ("娄葑街道", "斜塘街道", "唯亭街道", "胜浦街道", "金鸡湖街道"),
}
# Telephone area codes of 江苏's prefectures (item consultation phones).
_AREA_CODES = {"320100": "025", "320200": "0510", "320300": "0516", "320400": "0519", "320500": "0512",
               "320600": "0513", "320700": "0518", "320800": "0517", "320900": "0515", "321000": "0514",
               "321100": "0511", "321200": "0523", "321300": "0527"}
# County-level rows of the division table that are groupings, not places.
_NOT_COUNTIES = frozenset({"市辖区", "县", "省直辖县级行政单位", "自治区直辖县级行政单位"})
_GENERIC_TOWNS = ("城东街道", "城西街道", "城南街道", "城北街道", "新城街道", "城关镇", "开发区")

_BRAND = tuple("华盛达鑫兴宏源泰通瑞恒丰昌隆顺德信诚新金鼎凯永嘉合和安康亿博创科锦润汇中天海宇晟")
_TRADES = (
    ("纺织科技", "纺织品、针织品的研发、生产和销售"), ("电子科技", "电子元器件的研发、生产和销售"),
    ("机械制造", "通用机械设备的制造、加工和销售"), ("贸易", "日用百货、五金交电、建材的销售"),
    ("建设工程", "房屋建筑工程、市政公用工程施工"), ("餐饮管理", "餐饮服务；餐饮管理"),
    ("物流", "普通货物道路运输；仓储服务"), ("新材料科技", "新型材料的研发和销售"),
    ("服饰", "服装、服饰的设计、生产和销售"), ("食品", "食品生产；食品销售"),
    ("医药连锁", "药品零售；医疗器械销售"), ("装饰工程", "室内外装饰装修工程施工"),
    ("信息技术", "软件开发；信息技术咨询服务"), ("环保科技", "环保设备的研发和销售；环境治理"),
    ("精密机械", "精密零部件的加工和销售"), ("汽车服务", "机动车维修；汽车零配件销售"),
    ("房地产开发", "房地产开发经营"), ("物业管理", "物业管理服务"),
    ("文化传媒", "文化艺术交流活动策划；广告设计"), ("建材", "建筑材料的生产和销售"),
)
_ENT_TYPES = (
    "有限责任公司(自然人投资或控股)", "有限责任公司(自然人独资)", "有限责任公司(非自然人投资或控股的法人独资)",
    "股份有限公司(非上市、自然人投资或控股)", "有限责任公司(外商投资、非独资)",
)
_SHOPS = ("小吃店", "便利店", "五金店", "理发店", "水果店", "服装店", "面馆", "副食品店", "烟酒店", "早餐店")

# Department categories of a county-level government. ``new``: bodies created in the
# 2018–2019 reform carry 'MB…' organisation-code bodies (newer code series).
_DEPTS = (
    ("行政审批局", True),          # 0
    ("市场监督管理局", True),      # 1
    ("住房和城乡建设局", False),   # 2
    ("卫生健康委员会", True),      # 3
    ("交通运输局", False),         # 4
    ("城市管理局", False),         # 5
    ("水务局", False),             # 6
    ("自然资源和规划局", True),    # 7
    ("人力资源和社会保障局", False),  # 8
    ("民政局", False),             # 9
    ("教育局", False),             # 10
    ("农业农村局", True),          # 11
    ("文体广电和旅游局", True),    # 12
    ("医疗保障局", True),          # 13
    ("发展和改革委员会", False),   # 14
)
_APPROVAL, _MARKET, _HOUSING, _HEALTH, _TRANSPORT, _URBAN, _WATER, _LAND, _HR, _CIVIL, _EDU, _AGRI, _CULTURE, _MEDINS, _DRC = range(15)

# National licence-defining authorities (licence type codes are their USCC + 3 digits).
# The codes are synthesised (valid checks, not the real bodies' codes).
_AUTHORITIES = {
    "market": "国家市场监督管理总局", "health": "国家卫生健康委员会", "housing": "住房和城乡建设部",
    "transport": "交通运输部", "land": "自然资源部", "water": "水利部", "hr": "人力资源和社会保障部",
    "civil": "民政部", "edu": "教育部", "agri": "农业农村部", "culture": "文化和旅游部", "urban": "住房和城乡建设部",
}

_MAT_APP = "申请书"
_MAT_BL = "营业执照"
_MAT_LR = "法定代表人身份证明"
_MAT_ID = "申请人身份证明"
_MAT_SITE = "经营场所使用证明"


class _Item:
    """One catalogue entry (事项目录)."""

    __slots__ = ("idx", "name", "type", "dept", "legal", "promise", "unit", "fee", "materials",
                 "licence", "prefix", "years", "authority", "holder", "weight", "project", "instant", "online")

    def __init__(self, idx, name, type_, dept, legal, promise, fee, materials, licence, prefix, years,
                 authority, holder, weight, project=False, instant=False, online=True, unit="工作日"):
        assert promise <= legal, name
        self.idx, self.name, self.type, self.dept = idx, name, type_, dept
        self.legal, self.promise, self.unit, self.fee = legal, promise, unit, fee
        self.materials, self.licence, self.prefix, self.years = materials, licence, prefix, years
        self.authority, self.holder, self.weight = authority, holder, weight
        self.project, self.instant, self.online = project, instant, online


def _catalogue() -> tuple[_Item, ...]:
    rows = [
        # name, type, dept, legal, promise, fee(yuan) | None, materials, licence, no. prefix, years, authority, holder p/e/pe, weight, flags
        ("食品经营许可", "01", _MARKET, 20, 10, None, ("食品经营许可申请书", _MAT_BL, _MAT_LR, "食品安全管理制度", "经营场所平面布局图"), "食品经营许可证", "JY1", 5, "market", "e", 10),
        ("个体工商户设立登记", "01", _MARKET, 15, 1, None, ("个体工商户登记（备案）申请书", "经营者身份证明", _MAT_SITE), "营业执照", "GT", 0, "market", "p", 12),
        ("个体工商户变更登记", "01", _MARKET, 15, 1, None, ("个体工商户变更登记申请书", "经营者身份证明", "原营业执照"), "营业执照", "GT", 0, "market", "p", 3),
        ("企业设立登记", "01", _MARKET, 15, 2, None, ("公司登记（备案）申请书", "公司章程", "股东主体资格证明", "法定代表人任职文件", "住所使用证明"), "营业执照", "QY", 0, "market", "pe", 8),
        ("企业注销登记", "01", _MARKET, 10, 1, None, ("注销登记申请书", "清算报告", "清税证明"), None, None, 0, "market", "e", 2),
        ("药品零售企业许可", "01", _MARKET, 30, 15, None, ("药品经营许可证申请表", _MAT_BL, "执业药师注册证", _MAT_SITE, "质量管理文件目录"), "药品经营许可证", "YPLS", 5, "market", "e", 2),
        ("第二类医疗器械经营备案", "10", _MARKET, 5, 1, None, ("第二类医疗器械经营备案表", _MAT_BL, "质量管理制度"), None, None, 0, "market", "e", 2),
        ("特种设备使用登记", "01", _MARKET, 15, 5, None, ("特种设备使用登记表", "产品合格证", "监督检验证书"), "特种设备使用登记证", "TSSB", 0, "market", "e", 2),
        ("食品小作坊登记", "01", _MARKET, 20, 10, None, ("食品小作坊登记申请表", "经营者身份证明", "生产场所平面图"), "食品小作坊登记证", "SXZF", 3, "market", "p", 2),
        ("公共场所卫生许可", "01", _APPROVAL, 20, 5, None, ("公共场所卫生许可申请表", _MAT_BL, "卫生管理制度", "从业人员健康合格证明", "场所平面图"), "公共场所卫生许可证", "GGWS", 4, "health", "e", 5),
        ("道路运输经营许可", "01", _APPROVAL, 20, 10, None, ("道路运输经营申请表", _MAT_BL, "车辆技术等级评定证明", "驾驶员从业资格证", "安全生产管理制度"), "道路运输经营许可证", "DLYS", 4, "transport", "e", 3),
        ("城市建筑垃圾处置核准", "01", _URBAN, 20, 10, None, ("建筑垃圾处置核准申请表", "建筑垃圾处置方案", "运输车辆行驶证", "消纳场所协议"), "城市建筑垃圾处置核准证", "JZLJ", 1, "urban", "e", 2, True),
        ("设置大型户外广告及在城市建筑物、设施上悬挂、张贴宣传品审批", "01", _URBAN, 20, 5, None, ("户外广告设置申请表", "设计效果图", "场地使用证明"), None, None, 0, "urban", "e", 2),
        ("排水许可", "01", _WATER, 20, 10, None, ("城镇污水排入排水管网许可申请表", "排水户内部排水管网图", "排水水质检测报告"), "城镇污水排入排水管网许可证", "PS", 5, "water", "e", 2),
        ("取水许可", "01", _WATER, 45, 20, None, ("取水许可申请书", "建设项目水资源论证报告"), "取水许可证", "QS", 5, "water", "e", 1),
        ("建设工程规划许可证核发", "01", _LAND, 20, 10, "500.00", ("建设工程规划许可申请表", "建设工程设计方案", "土地权属证明"), "建设工程规划许可证", "JZ", 0, "land", "e", 3, True),
        ("建设用地规划许可证核发", "01", _LAND, 20, 10, None, ("建设用地规划许可申请表", "建设项目批准文件", "用地红线图"), "建设用地规划许可证", "DZ", 0, "land", "e", 1, True),
        ("乡村建设规划许可证核发", "01", _LAND, 20, 10, None, ("乡村建设规划许可申请表", "村民委员会意见", "宅基地权属证明"), "乡村建设规划许可证", "XZ", 0, "land", "p", 2),
        ("不动产首次登记", "07", _LAND, 30, 5, "80.00", ("不动产登记申请书", _MAT_ID, "不动产权属来源证明", "不动产界址、空间界限、面积材料"), "不动产权证书", "BDC", 0, "land", "pe", 6),
        ("建筑工程施工许可证核发", "01", _HOUSING, 15, 3, None, ("建筑工程施工许可申请表", "建设工程规划许可证", "施工合同", "质量安全监督手续"), "建筑工程施工许可证", "SG", 0, "housing", "e", 4, True),
        ("商品房预售许可", "01", _HOUSING, 20, 10, None, ("商品房预售许可申请表", "土地使用权证", "建设工程规划许可证", "施工许可证", "预售方案"), "商品房预售许可证", "YS", 0, "housing", "e", 1, True),
        ("建设工程竣工验收备案", "10", _HOUSING, 15, 5, None, ("竣工验收备案表", "竣工验收报告", "规划认可文件", "消防验收意见"), None, None, 0, "housing", "e", 2, True),
        ("建筑业企业资质核准", "01", _HOUSING, 20, 15, None, ("建筑业企业资质申请表", _MAT_BL, "技术负责人证明", "注册人员证书"), "建筑业企业资质证书", "D3", 5, "housing", "e", 1),
        ("房屋建筑和市政基础设施工程质量监督手续办理", "20", _HOUSING, 10, 3, None, ("工程质量监督登记表", "施工图审查合格书", "中标通知书"), None, None, 0, "housing", "e", 2, True),
        ("占用、挖掘城市道路审批", "01", _HOUSING, 20, 5, "1200.00", ("占用挖掘城市道路申请表", "施工方案", "交通组织方案"), None, None, 0, "housing", "e", 2, True),
        ("医师执业注册", "01", _HEALTH, 20, 10, None, ("医师执业注册申请审核表", "医师资格证书", "健康证明", "聘用单位证明"), "医师执业证书", "YS", 0, "health", "p", 3),
        ("护士执业注册", "01", _HEALTH, 20, 10, None, ("护士执业注册申请审核表", "护士执业资格考试成绩合格证明", "健康体检证明"), "护士执业证书", "HS", 0, "health", "p", 3),
        ("医疗机构执业登记", "01", _HEALTH, 45, 20, None, ("医疗机构执业登记申请书", "设置医疗机构批准书", "房屋产权证明", "人员名录"), "医疗机构执业许可证", "PDY", 5, "health", "e", 1),
        ("放射诊疗许可", "01", _HEALTH, 20, 15, None, ("放射诊疗许可申请表", "放射防护评价报告", "放射诊疗设备清单"), "放射诊疗许可证", "FSZL", 5, "health", "e", 1),
        ("道路运输车辆营运证核发", "01", _TRANSPORT, 10, 3, None, ("车辆营运证申请表", "机动车行驶证", "车辆技术等级评定证明"), "道路运输证", "YYZ", 0, "transport", "e", 4),
        ("出租汽车驾驶员从业资格注册", "01", _TRANSPORT, 20, 5, None, ("从业资格注册申请表", "从业资格证", "劳动合同"), None, None, 0, "transport", "p", 2),
        ("人力资源服务许可", "01", _HR, 20, 10, None, ("人力资源服务许可申请表", _MAT_BL, "专职工作人员证明", "服务场所证明"), "人力资源服务许可证", "RLZY", 5, "hr", "e", 1),
        ("劳务派遣经营许可", "01", _HR, 20, 10, "0.00", ("劳务派遣经营许可申请书", _MAT_BL, "验资报告", "经营场所证明"), "劳务派遣经营许可证", "LWPQ", 3, "hr", "e", 1),
        ("失业保险金申领", "05", _HR, 15, 5, None, ("失业保险金申领登记表", _MAT_ID, "解除劳动合同证明"), None, None, 0, "hr", "p", 5),
        ("社会保障卡申领", "20", _HR, 30, 10, None, ("社会保障卡申领表", _MAT_ID, "近期免冠照片"), None, None, 0, "hr", "p", 5),
        ("民办非企业单位成立登记", "01", _CIVIL, 60, 30, None, ("成立登记申请书", "章程草案", "验资报告", "场所使用权证明"), "民办非企业单位登记证书", "MF", 5, "civil", "p", 1),
        ("内地居民婚姻登记", "07", _CIVIL, 1, 0, "9.00", ("婚姻登记声明书", "居民身份证", "户口簿", "近期合影照片"), "结婚证", "J", 0, "civil", "p", 4, False, True, False),
        ("最低生活保障对象认定", "07", _CIVIL, 30, 20, None, ("最低生活保障申请书", "家庭成员身份证明", "家庭收入证明"), None, None, 0, "civil", "p", 2),
        ("教师资格认定", "07", _EDU, 60, 20, None, ("教师资格认定申请表", "学历证书", "普通话水平测试等级证书", "体检结论"), "教师资格证书", "JSZG", 0, "edu", "p", 2),
        ("民办学校办学许可", "01", _EDU, 90, 30, None, ("民办学校办学许可申请表", "学校章程", "资产来源证明", "校舍证明"), "民办学校办学许可证", "JMB", 5, "edu", "e", 1),
        ("农药经营许可", "01", _AGRI, 20, 10, None, ("农药经营许可申请表", _MAT_BL, "经营人员农药专业学历证明", _MAT_SITE), "农药经营许可证", "NYJY", 5, "agri", "e", 1),
        ("兽药经营许可", "01", _AGRI, 20, 10, None, ("兽药经营许可申请表", _MAT_BL, "质量管理人员资格证明", _MAT_SITE), "兽药经营许可证", "SYJY", 5, "agri", "e", 1),
        ("动物防疫条件合格证核发", "01", _AGRI, 20, 10, None, ("动物防疫条件审查申请表", "场所地理位置图", "防疫制度"), "动物防疫条件合格证", "DFHG", 0, "agri", "e", 1),
        ("娱乐场所从事娱乐场所经营活动审批", "01", _CULTURE, 20, 10, None, ("娱乐场所经营活动申请表", _MAT_BL, "消防验收证明", "场所平面图"), "娱乐经营许可证", "YL", 2, "culture", "e", 1),
        ("营业性演出审批", "01", _CULTURE, 3, 2, None, ("营业性演出申请表", "演出节目内容材料", "演出场地证明"), None, None, 0, "culture", "e", 1),
        ("基本医疗保险参保登记", "20", _MEDINS, 5, 1, None, ("参保登记表", _MAT_ID), None, None, 0, "hr", "p", 4),
        ("企业投资项目备案", "10", _DRC, 3, 1, None, ("项目备案申请表", "项目单位营业执照", "项目基本情况说明"), None, None, 0, "market", "e", 2, True),
    ]
    out = []
    for i, row in enumerate(rows):
        name, type_, dept, legal, promise, fee, mats, lic, prefix, years, auth, holder, weight, *flags = row
        project = flags[0] if len(flags) > 0 else False
        instant = flags[1] if len(flags) > 1 else False
        online = flags[2] if len(flags) > 2 else True
        out.append(_Item(i, name, type_, dept, legal, promise, fee, mats, lic, prefix, years, auth, holder,
                         weight, project, instant, online))
    return tuple(out)


ITEMS = _catalogue()

# Industries (国民经济行业分类 divisions) used in investment project codes.
_INDUSTRIES = (("47", "房屋建筑业"), ("48", "土木工程建筑业"), ("70", "房地产业"), ("39", "计算机、通信和其他电子设备制造业"),
               ("34", "通用设备制造业"), ("17", "纺织业"), ("44", "电力、热力生产和供应业"), ("59", "仓储业"),
               ("26", "化学原料和化学制品制造业"), ("83", "教育"))
_PROJECT_TYPES = (("审批", "01"), ("核准", "02"), ("备案", "03"))
_PROJECT_KINDS = ("厂房建设项目", "技术改造项目", "商业综合体项目", "住宅小区项目", "道路改造工程", "仓储物流中心项目",
                  "研发中心建设项目", "学校扩建工程", "污水处理厂提标改造工程", "分布式光伏发电项目")

# ---------------------------------------------------------------------------------------
# Time: integer seconds since local midnight of a base day, formatted through tables
# ---------------------------------------------------------------------------------------

_M64 = (1 << 64) - 1
_OPEN_S, _CLOSE_S = 30600, 63000          # office hours 08:30–17:30
_DAY = 86400


def _mix(x: int) -> int:
    """splitmix64 finaliser: a well-spread 64-bit hash of an integer (identity derivation)."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _stable_hash(text: str) -> int:
    """Seed-independent hash of a string (for reference data such as department codes)."""
    h = 0
    for ch in text.encode("utf-8"):
        h = _mix(h ^ ch)
    return h


@lru_cache(maxsize=1)
def _tod() -> tuple[str, ...]:
    """'HH:MM:SS' for every second of a day: formatting a datetime becomes two lookups."""
    return tuple(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60))


_PAST_DAYS = 8000      # the time axis reaches ~22 years back (enterprises, licences)…
_FUTURE_DAYS = 2200    # …and ~6 years ahead (validity ends, future_apply defects)


@lru_cache(maxsize=4)
def _axis(today: date) -> tuple[tuple[str, ...], tuple[str, ...], tuple[bool, ...], tuple[int, ...], tuple[int, ...]]:
    """Per-day tables around ``today``: 'YYYY-MM-DD', 'YYYYMMDD', is-workday, the workday
    list and, per day, the index in that list of the first workday on or after it.

    Workdays are Monday–Friday: public holidays and swapped weekends are not modelled
    (the generator needs plausible office days, not the official calendar).
    """
    o0 = today.toordinal() - _PAST_DAYS
    n = _PAST_DAYS + _FUTURE_DAYS
    days = [date.fromordinal(o0 + d) for d in range(n)]
    daystr = tuple(d.isoformat() for d in days)
    day8 = tuple(s.replace("-", "") for s in daystr)
    work = tuple(d.weekday() < 5 for d in days)
    wdays = tuple(d for d in range(n) if work[d])
    nxt, j = [], 0
    for d in range(n):
        while j < len(wdays) and wdays[j] < d:
            j += 1
        nxt.append(j)
    return daystr, day8, work, wdays, tuple(nxt)


_FREQUENT_PERSONS = 50000
_FREQUENT_ENTERPRISES = 10000

_BIRTH_FIRST = date(1940, 1, 1)
_BIRTH_LAST = date(2006, 12, 31)


@lru_cache(maxsize=1)
def _birth_days() -> tuple[str, ...]:
    """Every YYYYMMDD from 1940-01-01 to 2006-12-31 (birth dates of ID numbers)."""
    o0 = _BIRTH_FIRST.toordinal()
    return tuple(date.fromordinal(o).strftime("%Y%m%d") for o in range(o0, _BIRTH_LAST.toordinal() + 1))


_USCC_ALPHA = uscc.ALPHABET  # 31 symbols (no I O Z S V)


def _base31(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, d = divmod(n, 31)
        out.append(_USCC_ALPHA[d])
    return "".join(reversed(out))


def _make_uscc(first8: str, body8: str) -> str:
    """USCC from registration dept + category + division (8) and an org-code body (8)."""
    org = body8 + orgcode.check_char(body8)
    first17 = first8 + org
    return first17 + uscc.check_char(first17)


def _coprime_multiplier(modulus: int, start: int) -> int:
    a = start | 1
    while gcd(a, modulus) != 1:
        a += 2
    return a


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

    __slots__ = ("dept", "item", "code", "basic", "version", "fee", "legal", "promise",
                 "materials_case", "materials_online", "case_suffix", "hot")

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
        self.hot = (self.code, item.name, version, dept.uscc, dept.name, dept.county.code, self.case_suffix,
                    item.legal, item.promise, item.unit, item.fee, item.instant, item.online, item.holder,
                    self.materials_online, self.materials_case, item.licence, item.prefix, item.project,
                    _CONCLUSION_OK[item.type == "01"])


def _yaml_load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------


class Generator:
    """Deterministic synthetic records of every message kind (see the module datasheet).

    ``seed``: everything random derives from ``random.Random(seed)`` and, for the identity
    of person *i* / enterprise *j* (so the same ID number always has the same name), from
    a hash of (seed, i). ``province``/``prefecture``: where the departments, people and
    enterprises are. ``today``: "now" is the end of the day before ``today``; no generated
    time is later (except the ``future_apply`` defect).

    Keyword options: ``departments`` (department names, e.g. ``'常熟市行政审批局'``) or
    ``counties`` (county codes) restrict where cases/items/licences come from;
    ``mapping`` (a mapping name such as ``'dept_b_case_csv'``) restricts code-table and
    constant fields to values that mapping can express; ``population`` and
    ``enterprise_count`` size the pools applicants are drawn from.
    """

    def __init__(
        self,
        seed: int = 0,
        province: str = "320000",
        prefecture: str = "320500",
        today: date | None = None,
        *,
        departments: Iterable[str] | None = None,
        counties: Iterable[str] | None = None,
        mapping: str | None = None,
        population: int = 1_000_000,
        enterprise_count: int = 200_000,
    ) -> None:
        if not (len(prefecture) == 6 and prefecture[:2] == province[:2]):
            raise ValueError(f"prefecture {prefecture!r} is not in province {province!r}")
        self.seed = seed
        self._rng = Random(seed)
        self._r = self._rng.random
        self.today = today or __import__("hub.core.clock", fromlist=["now"]).now().date()
        self.divisions = table = _divisions.default_table()
        self.province, self.prefecture = province, prefecture
        self.province_name = table.name(province) or ""
        self.prefecture_name = table.name(prefecture) or ""
        self.population = population
        self.enterprise_count = enterprise_count

        placeholders = _NOT_COUNTIES
        pref4 = prefecture[:4]
        current = [c for c in table.codes(province, True, "county") if c[:4] == pref4 and table.name(c) not in placeholders]
        if not current:
            raise ValueError(f"no current counties under prefecture {prefecture!r} in {table.version}")
        historic = [c for c in table.codes(province, False, "county")
                    if c[:4] == pref4 and c not in table.current_codes and table.name(c) not in placeholders]
        self._counties = [self._make_county(c) for c in current]
        self._county_by_code = {c.code: c for c in self._counties}
        self._id_codes_cur = tuple(current)
        self._id_codes_hist = tuple(historic) or tuple(current)

        # Departments and their items. Reference data: seed-independent.
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
        if wanted_depts is not None:
            known = {d.name for c in self._counties for d in c.depts}
            unknown = wanted_depts - known
            if unknown:
                raise ValueError(f"unknown departments {sorted(unknown)}")
        if wanted_counties is not None and wanted_counties - set(self._county_by_code):
            raise ValueError(f"counties {sorted(wanted_counties - set(self._county_by_code))} are not current "
                             f"counties of {prefecture}")
        if not self._dept_items:
            raise ValueError("no department implements any catalogue item with these departments/counties; "
                             f"known departments look like {self._counties[0].depts[1].name!r}")
        self._di_cum = _cumulative(weights)
        lic = [(di, w) for di, w in zip(self._dept_items, weights) if di.item.licence]
        self._lic_items = [di for di, _ in lic] or self._dept_items
        self._lic_cum = _cumulative([w for _, w in lic]) if lic else self._di_cum
        self._active_depts = sorted({di.dept for di in self._dept_items}, key=lambda d: (d.county.code, d.cat))
        # Staff per department (names + 工号), drawn from the seeded generator, and each
        # step plan pre-filled with them: a case copies these and adds the times.
        for d in self._active_depts:
            d.staff = tuple(
                (f"{d.county.code[-2:]}{d.cat:02d}{k:03d}", self._name_r())
                for k in range(1, 7)
            )
            d.plans = {
                id(plan): tuple(
                    {"seq": s, "step_name": name, "handler_id": d.staff[si][0], "handler_name": d.staff[si][1],
                     "action": action, "opinion": opinion}
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

        # Time axis: day index 0 = base; "now" (the horizon) = yesterday 23:59:59.
        self._base = self.today - timedelta(days=_PAST_DAYS)
        self._today_idx = _PAST_DAYS
        self._daystr, self._day8, self._work, self._wdays, self._next_w = _axis(self.today)
        self._births = _birth_days()
        self._horizon = self._today_idx * _DAY - 1
        self._win0, self._winlen = self._today_idx - 365, 365
        self._tod = _tod()

        # Identity permutations (bijections on the ID space: ID numbers never repeat).
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

        # Per-kind counters (unique keys per run).
        self._serial = 0
        self._lic_serial = 0
        self._person_next = 0
        self._ent_next = 0
        self._item_next = 0
        self._proj_serial = 0
        self._eval_serial = 0
        self._sup_serial = 0

        # Values a mapping can express (code tables and constants); None = anything.
        self._allowed: dict[str, frozenset[str]] = mapping_domains(mapping) if mapping else {}
        self._status_ok = self._allowed.get("status")
        self._result_ok = self._allowed.get("result_type")
        self._unit_ok = self._allowed.get("promise_unit")
        # Other restricted case fields whose domain leaves out some enum value: clamped
        # after the fact (status, result and unit are chosen within their domain).
        case_kind = _dictionary_kind("case")
        self._clamp = {
            f: min(dom) for f, dom in self._allowed.items()
            if f not in ("status", "result_type", "promise_unit") and f in {x.name for x in case_kind.fields}
            and not set(case_kind.field(f).values or ()) <= dom
        }
        self._clamp_dom = {f: self._allowed[f] for f in self._clamp}

    # -- reference helpers ---------------------------------------------------------------

    def _make_county(self, code: str) -> _County:
        t = self.divisions
        name = t.name(code) or code
        full = t.full_name(code) or name
        pref = self.prefecture_name
        if name.endswith("区") and not name.endswith(("园区", "开发区", "新区")) and pref not in name:
            prefix = pref + name            # 苏州市吴中区市场监督管理局
            brand = pref[:-1] if pref.endswith("市") else pref  # 苏州华盛…有限公司
        else:
            prefix = name                    # 常熟市市场监督管理局, 苏州工业园区…
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

    def _fmt(self, t: int) -> str:
        return f"{self._daystr[t // _DAY]} {self._tod[t % _DAY]}"

    def _parse(self, s: str) -> int:
        """Canonical datetime → seconds on the generator's axis (for defects)."""
        d = date.fromisoformat(s[:10]).toordinal() - self._base.toordinal()
        return d * _DAY + int(s[11:13]) * 3600 + int(s[14:16]) * 60 + int(s[17:19])

    def _biz(self, t: int) -> int:
        """The first office-hours moment at or after ``t``."""
        d, s = divmod(t, _DAY)
        if self._work[d]:
            if s < _OPEN_S:
                return d * _DAY + _OPEN_S
            if s < _CLOSE_S:
                return t
        return self._wdays[self._next_w[d + 1]] * _DAY + _OPEN_S

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
            name = f"{county.prefix}{town}{_BRAND[(h >> 34) % len(_BRAND)]}{_BRAND[(h >> 40) % len(_BRAND)]}花园业主委员会"
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

    def case(self, *, _applicant: str | None = None, _state: str | None = None) -> dict:
        """One case (办件) with a consistent lifecycle.

        Internal options (used by defect injection): ``_applicant`` 'p' (person) or 'e';
        ``_state`` 'submitted' (still 申报: not accepted yet).
        """
        r = self._r
        di = self._dept_items[bisect(self._di_cum, r() * self._di_cum[-1])]
        (item_code, item_name, version, dept_code, dept_name, region, case_suffix, legal, promise, unit,
         fee, instant, online, holder, mats_online, mats_case, licence, lic_prefix, is_project,
         conclusion_ok) = di.hot
        D, T = self._daystr, self._tod
        W, NW = self._wdays, self._next_w
        H = self._horizon

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
        if _state == "submitted":
            accept_t = H + 1

        x = r()
        if instant or x < 0.12:
            case_type, promise = "即办件", 0
        else:
            case_type = "承诺件" if x < 0.95 else ("补办件" if x < 0.97 else ("上报件" if x < 0.99 else "联办件"))

        # Outcome and timeline (computed fully, then cut at the horizon).
        x = r()
        if x < 0.03:
            outcome = "不予受理"
        elif x < 0.06:
            outcome = "退件"
        elif x < 0.07 and (self._status_ok is None or "作废" in self._status_ok):
            outcome = "作废"
        else:
            outcome = "办结"
        staff = di.dept.staff
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
                sp_start = min(self._biz(accept_t + int((finish_t - accept_t) * r())), finish_t)
                if x < 0.06:
                    dur = 86400 * (1 + int(r() * 10))
                    finish_t = self._biz(finish_t + dur)
                    proc = {"seq": 1, "kind": "挂起", "start_time": sp_start, "end_time": sp_start + dur,
                            "days": dur // 86400, "reason": _SUSPEND_REASONS[int(r() * 3)]}
                else:
                    days = 5 + int(r() * max(promise, 5))
                    finish_t = self._biz(finish_t + days * 86400)
                    proc = {"seq": 1, "kind": "延期", "start_time": sp_start, "days": days,
                            "reason": "情况复杂，需延长审查期限", "approver": staff[5][1]}
        if outcome == "不予受理":
            plan, finish_t = _STEPS_REJECT, accept_t
        elif outcome == "退件" or outcome == "作废":
            plan = _STEPS_RETURN
            finish_t = self._biz(accept_t + 1800 + int(r() * 3 * 86400))

        # Step boundaries: every step lies within accept→finish (受理 itself takes a few
        # minutes from accept_time); the later steps split the rest at random points.
        n = len(plan)
        if n == 1:
            bounds = [accept_t, finish_t]
        else:
            b1 = accept_t + 30 + int(r() * 240)  # < accept_t + 300 <= finish_t
            bounds = [accept_t, b1]
            if n > 2:
                # Moved into office hours (_biz is monotonic, so the order survives) but
                # never past finish_t (which may be after hours for a same-day finish).
                span = finish_t - b1
                biz = self._biz
                bounds.extend(sorted(min(biz(b1 + int(span * r())), finish_t) for _ in range(n - 2)))
            bounds.append(finish_t)
        # 过程 as the national platform has it: step, action, start, end, explanation,
        # handler (no dept_name/post: always the case's own department).
        steps = []
        s = 0
        for base in di.dept.plans[id(plan)]:
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

        # Applicant.
        ap = _applicant or ("e" if (holder == "e" and r() < 0.85) or (holder == "pe" and r() < 0.4) else "p")
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

        self._serial = serial = self._serial + 1
        rec = {
            "case_no": item_code + self._day8[apply_t // 86400] + str(serial).zfill(6),
            "item_code": item_code,
            "item_name": item_name,
            "item_version": version,
            "dept_code": dept_code,
            "dept_name": dept_name,
            "region_code": region,
            "case_name": aname + case_suffix,
            "case_type": case_type,
            "channel": channel,
            "applicant_type": applicant_type,
            "applicant_name": aname,
            "applicant_id_type": id_type,
            "applicant_id_no": aid,
            "applicant_phone": phone,
            "applicant_address": addr,
        }
        if agent is not None:
            rec["agent_name"] = agent[0]
            rec["agent_id_type"] = "111"
            rec["agent_id_no"] = agent[1]
            rec["agent_phone"] = agent[4]
        rec["apply_time"] = D[apply_t // 86400] + " " + T[apply_t % 86400]
        last = apply_t
        if accept_t <= H:
            rec["accept_time"] = D[accept_t // 86400] + " " + T[accept_t % 86400]
            rec["accept_handler"] = staff[0][1]
            last = accept_t
        rec["legal_days"] = legal
        rec["promise_days"] = promise
        if self._unit_ok is not None and unit not in self._unit_ok:
            unit = next(iter(self._unit_ok))
        rec["promise_unit"] = unit

        if accept_t > H:
            status = "申报"
        elif finish_t > H:
            # Still open "now": where the timeline stands decides the status.
            if proc is not None and proc["kind"] == "挂起" and proc["start_time"] <= H < proc["end_time"] \
                    and (self._status_ok is None or "挂起" in self._status_ok):
                status = "挂起"
            elif len(steps) > 1:
                status = "办理中"
            else:
                status = "受理"
            if steps:
                last = max(last, bounds[len(steps) - 1])
        else:
            status = outcome
            last = finish_t
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
            if outcome == "办结":
                x = r()
                result = "准予" if x < 0.90 else ("不予准予" if x < 0.95 else ("部分准予" if x < 0.98 else "转报"))
                if self._result_ok is not None and result not in self._result_ok:
                    result = "准予"
                rec["result_type"] = result
                if result == "准予" or result == "部分准予":
                    rec["conclusion"] = conclusion_ok
                    if licence:
                        self._lic_serial += 1
                        rec["licence_name"] = licence
                        rec["licence_no"] = lic_prefix + region + str(self._lic_serial).zfill(8)
                        x = r()
                        method = "窗口领取" if x < 0.4 else ("电子送达" if x < 0.75 else "邮寄")
                        dt = finish_t + (60 + int(r() * 600) if method == "电子送达" else int(r() * 3 * 86400))
                        if method == "窗口领取":
                            dt = self._biz(dt)
                        if dt <= H:
                            rec["delivery_method"] = method
                            rec["delivery_time"] = D[dt // 86400] + " " + T[dt % 86400]
                            last = dt
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
        if fee is not None:
            rec["fee_amount"] = fee
        if is_project and ap == "e":
            ind = _INDUSTRIES[int(r() * 4)][0]
            rec["project_code"] = (f"{D[apply_t // 86400][:4]}-{region}-{ind}-03-"
                                   f"{(serial * 7919) % 1000000:06d}")
        src = last + int(r() * 3600)
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
        rec["materials"] = list(map(_dict_copy, mats_online if channel == "2" else mats_case))
        if self._clamp:
            for f, fallback in self._clamp.items():
                if f in rec and rec[f] not in self._clamp_dom[f]:
                    rec[f] = fallback
        return rec

    # -- item ---------------------------------------------------------------------------

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
        rec.update({
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
        })
        return rec

    def _rand_time(self, days_back: int) -> int:
        return (self._today_idx - days_back) * _DAY + int(self._r() * days_back * _DAY)

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
            rec["valid_to"] = self._daystr[to_day] if to_day < len(self._daystr) else \
                (self._base + timedelta(days=to_day)).isoformat()
            expired = to_day < self._today_idx
        x = r()
        rec["status"] = "过期" if expired else ("有效" if x < 0.95 else ("注销" if x < 0.98 else ("吊销" if x < 0.99 else "挂失")))
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

    # -- person -------------------------------------------------------------------------

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
            "marital_status": "未婚" if age < 22 or (age < 35 and r() < 0.4) else
                              ("已婚" if r() < 0.85 else ("离婚" if age < 65 or r() < 0.5 else "丧偶")),
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
        est = self._daystr[est_day] if est_day >= 0 else (self._base + timedelta(days=est_day)).isoformat()
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
            "reg_authority": county.depts[_MARKET].name if kind in ("91", "92") else county.depts[_AGRI].name
            if kind == "N2" else county.depts[_HOUSING].name,
            "enterprise_type": etype,
            "registered_capital": capital,
            "business_scope": scope,
            "legal_rep": rep_p[0],
            "legal_rep_id_no": rep_p[1],
            "established_date": est,
            "address": addr,
            "region_code": region,
            "status": "存续" if x < 0.9 else ("在业" if x < 0.95 else ("注销" if x < 0.98 else ("吊销" if x < 0.99 else "迁出"))),
            "source_time": self._fmt(self._rand_time(365)),
        }
        if kind in ("91", "92") and r() < 0.5:
            permits = []
            for _ in range(1 + int(r() * 2)):
                di = self._lic_items[bisect(self._lic_cum, r() * self._lic_cum[-1])]
                start_day = self._today_idx - 1 - int(r() * 4 * 365)
                years = di.item.years or 5
                end_day = start_day + years * 365 - 1
                self._lic_serial += 1
                p = {
                    "permit_name": di.item.licence,
                    "permit_no": f"{di.item.prefix}{region}{self._lic_serial:08d}",
                    "scope": scope,
                    "start_date": self._daystr[start_day],
                    "end_date": self._daystr[end_day] if end_day < len(self._daystr)
                    else (self._base + timedelta(days=end_day)).isoformat(),
                    "issue_date": self._daystr[start_day],
                    "issuer": di.dept.name,
                    "status": "过期" if end_day < self._today_idx else "有效",
                }
                permits.append(p)
            rec["permits"] = permits
        if kind == "91" and trade in ("建设工程", "装饰工程") :
            start_day = self._today_idx - 1 - int(r() * 4 * 365)
            end_day = start_day + 5 * 365 - 1
            self._lic_serial += 1
            rec["qualifications"] = [{
                "cert_name": "建筑业企业资质证书",
                "grade": "施工总承包三级" if r() < 0.7 else "施工总承包二级",
                "cert_no": f"D3{region}{self._lic_serial:08d}",
                "valid_from": self._daystr[start_day],
                "valid_to": self._daystr[end_day] if end_day < len(self._daystr)
                else (self._base + timedelta(days=end_day)).isoformat(),
                "issue_date": self._daystr[start_day],
                "issuer": county.depts[_HOUSING].name,
                "status": "有效" if end_day >= self._today_idx else "过期",
            }]
        return rec

    # -- project ------------------------------------------------------------------------

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
        pname = f"{ent[1][:-4] if ent[1].endswith('有限公司') else ent[1]}{_PROJECT_KINDS[int(r() * len(_PROJECT_KINDS))]}"
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

    # -- evaluation ---------------------------------------------------------------------

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
        channel = "2" if x < 0.45 else ("4" if x < 0.65 else ("1" if x < 0.78 else ("3" if x < 0.88 else
                  ("6" if x < 0.94 else ("5" if x < 0.97 else "7")))))
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
            "evidence": f"电子监察系统预警记录，办件剩余时限{int(r() * 3)}个工作日" if rule == "时限" else "系统比对记录",
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

    # -- streams with defects -----------------------------------------------------------

    def records(
        self,
        kind: str,
        n: int,
        defect_rate: float = 0.0,
        defects: Sequence[str] | None = None,
    ) -> Iterator[tuple[dict, str | None]]:
        """Yield ``n`` ``(record, defect)`` pairs of ``kind``.

        Exactly ``round(n * defect_rate)`` records, at random positions (selection
        sampling: O(1) memory), carry one defect drawn from ``defects`` (default: all of
        :data:`DEFECT_KINDS[kind]`); the others are valid and carry ``None``.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
        if not 0.0 <= defect_rate <= 1.0:
            raise ValueError("defect_rate must be between 0 and 1")
        available = DEFECT_KINDS[kind]
        pool = tuple(defects) if defects is not None else available
        bad = [d for d in pool if d not in available]
        if bad:
            raise ValueError(f"{kind} has no defects {bad}; available: {', '.join(available)}")
        if defect_rate and not pool:
            raise ValueError("defect_rate > 0 needs at least one defect")
        make = getattr(self, kind)
        r = self._r
        k = round(n * defect_rate)
        for i in range(n):
            # Knuth's selection sampling: choose exactly k of n positions, uniformly.
            if k and r() * (n - i) < k:
                k -= 1
                d = pool[int(r() * len(pool))]
                yield self.defective(kind, d), d
            else:
                yield make(), None

    def defective(self, kind: str, defect: str) -> dict:
        """One record of ``kind`` carrying exactly the defect ``defect``."""
        if defect not in DEFECT_KINDS.get(kind, ()):
            raise ValueError(f"{kind} has no defect {defect!r}; available: {', '.join(DEFECT_KINDS.get(kind, ()))}")
        r = self._r
        if defect == "missing_required":
            rec = getattr(self, kind)()
            fields = _MISSING[kind]
            del rec[fields[int(r() * len(fields))]]
            return rec
        if defect == "bad_enum":
            rec = getattr(self, kind)()
            f, v = _BAD_ENUM[kind]
            rec[f] = v
            return rec
        if defect == "uscc_check_char":
            rec = getattr(self, kind)()
            f = {"project": "owner_uscc", "enterprise": "uscc"}.get(kind, "dept_code")
            rec[f] = _wrong_check(rec[f], _USCC_ALPHA, r)
            return rec
        if defect == "unknown_division":
            rec = getattr(self, kind)()
            rec["region_code"] = UNKNOWN_DIVISION
            return rec
        if defect == "promise_exceeds_legal":
            rec = getattr(self, kind)()
            rec["promise_days"] = rec["legal_days"] + 1 + int(r() * 10)
            return rec
        if defect == "id_check_char":
            if kind == "case":
                rec = self.case(_applicant="p")
                rec["applicant_id_no"] = _wrong_check(rec["applicant_id_no"], "0123456789X", r)
            else:
                rec = self.person()
                rec["id_no"] = _wrong_check(rec["id_no"], "0123456789X", r)
            return rec
        if defect == "id_birth_date":
            if kind == "case":
                rec = self.case(_applicant="p")
                rec["applicant_id_no"] = self._impossible_birth(rec["applicant_id_no"])
            else:
                rec = self.person()
                rec["id_no"] = self._impossible_birth(rec["id_no"])
                del rec["birth_date"]  # an impossible date has no birth_date to go with it
            return rec
        if defect == "time_order":
            if kind == "case":
                # A 承诺件 that was accepted: moving its acceptance breaks no other rule
                # (a 即办件 would also stop finishing on its acceptance day).
                rec = self.case()
                while "accept_time" not in rec or rec["case_type"] == "即办件":
                    rec = self.case()
                t = self._parse(rec["apply_time"]) - 3600 - int(r() * 3 * _DAY)
                rec["accept_time"] = self._fmt(t)
            elif kind == "licence":
                rec = self.licence()
                d = date.fromisoformat(rec["issue_date"])
                rec["valid_from"] = rec["issue_date"]
                rec["valid_to"] = (d - timedelta(days=1 + int(r() * 300))).isoformat()
                rec["status"] = "过期"  # consistent with the (wrong) end date: one defect only
                rec["face_items"][2]["value"] = f"{rec['valid_from']}至{rec['valid_to']}"
            else:  # supervision: end before raised
                rec = self.supervision(_closed=True)
                while "end_time" not in rec:
                    rec = self.supervision(_closed=True)
                t = self._parse(rec["raised_time"]) - 3600 - int(r() * 3 * _DAY)
                rec["end_time"] = self._fmt(t)
            return rec
        if kind == "case":
            if defect == "bad_datetime":
                rec = self.case()
                rec["apply_time"] = f"{rec['apply_time'][:4]}-02-30{rec['apply_time'][10:]}"
                return rec
            if defect == "too_long":
                rec = self.case()
                rec["case_name"] = (rec["case_name"] * (5000 // len(rec["case_name"]) + 1))[:5000]
                return rec
            if defect == "future_apply":
                # A case just submitted (申报), stamped a year ahead: only apply_time is wrong.
                rec = self.case(_state="submitted")
                t = (self._today_idx + 365) * _DAY + _OPEN_S + int(r() * 30000)
                rec["apply_time"] = self._fmt(t)
                rec.pop("source_time", None)
                return rec
        if kind == "licence":
            if defect == "licence_id_check_char":
                rec = self.licence()
                rec["licence_id"] = _wrong_check(rec["licence_id"], "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", r)
                return rec
            if defect == "holder_id_check_char":
                rec = self.licence(_holder="p")
                rec["holder_id_no"] = _wrong_check(rec["holder_id_no"], "0123456789X", r)
                return rec
        if kind == "evaluation" and defect == "bad_satisfaction":
            rec = self.evaluation()
            rec["satisfaction"] = "6"
            return rec
        raise AssertionError(f"defect {kind}/{defect} not implemented")  # pragma: no cover

    def _impossible_birth(self, id_no: str) -> str:
        """Same address and sequence, birth date 30 Feb or month 13, valid check character."""
        y = id_no[6:10]
        bad = f"{y}0230" if self._r() < 0.5 else f"{y}13{1 + int(self._r() * 28):02d}"
        first17 = id_no[:6] + bad + id_no[14:17]
        return first17 + idcard.check_char(first17)


def _wrong_check(code: str, alphabet: str, r: Callable[[], float]) -> str:
    """``code`` with its last character replaced by a different symbol of ``alphabet``."""
    choices = alphabet.replace(code[-1], "")
    return code[:-1] + choices[int(r() * len(choices))]


def _cumulative(weights: Sequence[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


_EDU_CUM = _cumulative(_EDU_W)

# Step plans: (step name, action, opinion, staff index).
_S_ACCEPT = ("受理", "受理", "申请材料齐全，符合法定形式，予以受理。", 0)
_S_REVIEW = ("审查", "审查", "经审查，符合法定条件。", 1)
_S_CHECK = ("审核", "审核", "同意。", 2)
_S_APPROVE = ("审批", "审批", "同意，准予许可。", 3)
_S_DECIDE = ("决定", "决定", "准予。", 3)
_S_DONE = ("办结", "办结", "办结。", 4)
_STEP_PLANS = (
    (_S_ACCEPT, _S_REVIEW, _S_DONE),
    (_S_ACCEPT, _S_REVIEW, _S_APPROVE, _S_DONE),
    (_S_ACCEPT, _S_REVIEW, _S_CHECK, _S_DECIDE, _S_DONE),
)
_STEPS_INSTANT = (_S_ACCEPT, ("办结", "办结", "即时办结。", 0))
_STEPS_REJECT = (("受理", "退回", "申请材料不齐全，不予受理。", 0),)
_STEPS_RETURN = (_S_ACCEPT, ("审查", "退回", "申请人撤回申请，予以退回。", 1))
_ALL_PLANS = _STEP_PLANS + (_STEPS_INSTANT, _STEPS_REJECT, _STEPS_RETURN)
_SUSPEND_REASONS = ("申请人补正材料", "需现场核查", "等待第三方检测结果")
_CONCLUSION_OK = {True: "经审查，申请材料齐全、符合法定形式，准予行政许可。", False: "经审查，符合规定，予以办理。"}
_CONCLUSION_NO = {"不予准予": "经审查，不符合法定条件，不予许可。", "转报": "依法转报上级机关办理。"}
_LEGAL_BASIS = {
    "01": "《中华人民共和国行政许可法》及相关法律法规",
    "07": "相关法律法规及国务院决定",
    "10": "相关法律法规",
    "20": "相关政策文件",
    "05": "《失业保险条例》",
}
_DETAIL_GOOD = "501,502,503"
_DETAIL_BAD = "511,512"
_COMMENTS = {
    "5": ("办事效率高，工作人员很耐心。", "一次办好，非常满意！", "网上办理很方便。"),
    "4": ("整体不错，等待时间稍长。", "服务态度好。"),
    "3": ("材料要求说明不够清楚。", "排队时间较长。"),
    "2": ("来回跑了好几趟。", "系统经常卡顿。"),
    "1": ("办理时间超过承诺时限。", "咨询电话一直打不通。"),
}
_RULES = ("内容", "流程", "收费", "评价")
_SUP_DESC = {
    "时限": "{item}办件临近承诺期限（{days}个工作日）尚未办结。",
    "内容": "{item}办件申请材料与事项清单不一致。",
    "流程": "{item}办件未按规定流程办理。",
    "收费": "{item}办件收费与收费标准不符。",
    "评价": "{item}办件收到差评，未在规定时间内整改。",
}


# ---------------------------------------------------------------------------------------
# Output plumbing
# ---------------------------------------------------------------------------------------


class _Sink:
    """A path or a binary file object, written in chunks; closes only what it opened."""

    def __init__(self, out: str | os.PathLike | IO[bytes]) -> None:
        if isinstance(out, (str, os.PathLike)):
            self.f = open(out, "wb")
            self.owned = True
        else:
            self.f = out
            self.owned = False

    def __enter__(self) -> IO[bytes]:
        return self.f

    def __exit__(self, *exc) -> None:
        if self.owned:
            self.f.close()
        else:
            self.f.flush()


_CHUNK = 512  # records per write: big enough to amortise, small enough to keep memory flat

_chain = chain.from_iterable
_dict_values = dict.values
_dict_copy = dict.copy
_XML_ENCODINGS = {"utf-8": "UTF-8", "utf8": "UTF-8", "gbk": "GBK", "gb18030": "GB18030"}


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _XmlRenderer:
    """Renders canonical records as XML elements through cached ``%`` templates.

    A record's *signature* is its key order plus, for each list field, the key order of
    every entry. Each signature compiles once into a ``%``-template covering the whole
    record (lists included), so a record costs one formatting call. Values go in raw;
    :func:`write_xml` then checks whole encoded chunks (memchr-speed byte scans) for a
    ``<`` beyond the templates' own, ``&`` or ``]]>``, and re-renders only a failing
    chunk, record by record, with escaping (:meth:`slow`). Records with ``None`` values
    take the slow path directly (it leaves such fields out).
    """

    _MAX_TEMPLATES = 20000  # distinct signatures kept; cleared beyond (memory stays flat)

    def __init__(self, kind: str) -> None:
        k = _dictionary_kind(kind)
        self.record, self.batch, self.namespace = k.record, k.batch, k.namespace
        self.lists = {f.name: f.record for f in k.lists}
        self.bools = {f.name for f in k.scalars if f.type == "bool"}
        self.sub_bools = {f.name: {s.name for s in f.fields if s.type == "bool"} for f in k.lists}
        self._lpos: dict[tuple, tuple[int, ...]] = {}
        self._tmpl: dict[tuple, tuple[str, tuple[int, ...], int]] = {}
        self._open, self._close = f"<{self.record}>", f"</{self.record}>"

    def _list_positions(self, keys: tuple) -> tuple[int, ...]:
        lp = tuple(i for i, key in enumerate(keys) if key in self.lists)
        self._lpos[keys] = lp
        return lp

    def _compile(self, sig: tuple) -> tuple[str, tuple[int, ...], int]:
        keys, subs = sig[0], sig[1:]
        parts, bools = [self._open], []
        pos = 0
        li = 0
        for key in keys:
            if key in self.lists:
                entry_keys = subs[li]
                li += 1
                tag, sb = self.lists[key], self.sub_bools[key]
                parts.append(f"<{key}>")
                for ek in entry_keys:
                    parts.append(f"<{tag}>")
                    for sk in ek:
                        parts.append(f"<{sk}>%s</{sk}>")
                        if sk in sb:
                            bools.append(pos)
                        pos += 1
                    parts.append(f"</{tag}>")
                parts.append(f"</{key}>")
            else:
                parts.append(f"<{key}>%s</{key}>")
                if key in self.bools:
                    bools.append(pos)
                pos += 1
        parts.append(self._close)
        tmpl = "".join(parts)
        if len(self._tmpl) >= self._MAX_TEMPLATES:
            self._tmpl.clear()
        c = self._tmpl[sig] = (tmpl, tuple(bools), tmpl.count("<"))
        return c

    def render(self, rec: Mapping[str, Any]) -> tuple[str, int]:
        """(element text with values unescaped, number of ``<`` it should contain)."""
        keys = tuple(rec)
        lpos = self._lpos.get(keys)
        if lpos is None:
            lpos = self._list_positions(keys)
        vals = list(rec.values())
        if lpos:
            sig = [keys]
            flat: list = []
            prev = 0
            for i in lpos:
                entries = vals[i]
                if type(entries) is not list:
                    return self.slow(rec), -1
                flat += vals[prev:i]
                sig.append(tuple(map(tuple, entries)))
                flat += _chain(map(_dict_values, entries))  # C-level loop over the entries
                prev = i + 1
            flat += vals[prev:]
            sig = tuple(sig)
        else:
            sig = (keys,)
            flat = vals
        if None in flat:
            return self.slow(rec), -1
        c = self._tmpl.get(sig)
        if c is None:
            c = self._compile(sig)
        tmpl, bools, lt = c
        for i in bools:
            v = flat[i]
            if v is True or v is False:
                flat[i] = "true" if v else "false"
        return tmpl % tuple(flat), lt

    @staticmethod
    def _value(v: Any) -> str:
        if v is True or v is False:
            return "true" if v else "false"
        return _esc(v) if isinstance(v, str) else _esc(str(v))

    def slow(self, rec: Mapping[str, Any]) -> str:
        """Field by field, escaped, ``None`` values skipped."""
        value = self._value
        parts = [self._open]
        for key, v in rec.items():
            if v is None:
                continue
            if key in self.lists and isinstance(v, list):
                tag = self.lists[key]
                parts.append(f"<{key}>")
                for e in v:
                    parts.append(f"<{tag}>")
                    for sk, sv in e.items():
                        if sv is not None:
                            parts.append(f"<{sk}>{value(sv)}</{sk}>")
                    parts.append(f"</{tag}>")
                parts.append(f"</{key}>")
            else:
                parts.append(f"<{key}>{value(v)}</{key}>")
        parts.append(self._close)
        return "".join(parts)


def _attr(v: str) -> str:
    return '"' + _esc(str(v)).replace('"', "&quot;") + '"'


def _clean(data: bytes, lt: int) -> bool:
    """True if rendered-and-encoded ``data`` needs no escaping.

    Byte scans: ``<`` and ``&`` (0x3C, 0x26) never occur inside a GBK/GB18030/UTF-8
    multi-byte character, so counting them is exact; a ``]`` may be a GBK trail byte,
    which at worst costs a needless re-render.
    """
    # Single-byte scans run at memchr speed; ']]>' is only searched for when a ']' exists.
    return b"&" not in data and data.count(b"<") == lt and (b"]" not in data or b"]]>" not in data)


def write_xml(
    records: Iterable[Mapping[str, Any]],
    kind: str,
    out: str | os.PathLike | IO[bytes],
    encoding: str = "utf-8",
    message_id: str | None = None,
    batch_no: str | None = None,
    *,
    source_system: str | None = None,
    sync_time: str | None = None,
) -> int:
    """Write one canonical batch document (``<{batch} xmlns="urn:govhub:{kind}:1">``).

    ``encoding``: 'utf-8', 'gbk' or 'gb18030'; the declaration names it and characters
    the encoding lacks become character references. ``message_id`` defaults to a fresh
    UUID (a real sender always sends one). Elements follow each record's key order, one
    record per line. Streams: at most one chunk of records (512) in memory. Returns the
    number of records written.
    """
    enc = encoding.lower().replace("_", "-")
    label = _XML_ENCODINGS.get(enc)
    if label is None:
        raise ValueError(f"encoding must be one of utf-8, gbk, gb18030, not {encoding!r}")
    rnd = _XmlRenderer(kind)
    attrs = [f' xmlns="{rnd.namespace}"', f" message_id={_attr(message_id or uuid.uuid4().hex)}"]
    if batch_no is not None:
        attrs.append(f" batch_no={_attr(batch_no)}")
    if source_system is not None:
        attrs.append(f" source_system={_attr(source_system)}")
    if sync_time is not None:
        attrs.append(f" sync_time={_attr(sync_time)}")
    head = f'<?xml version="1.0" encoding="{label}"?>\n<{rnd.batch}{"".join(attrs)}>'
    render, slow = rnd.render, rnd.slow
    count = 0
    with _Sink(out) as f:
        f.write(head.encode(enc))
        recs: list = []
        texts: list[str] = []
        lt_sum = 0
        for rec in records:
            t, lt = render(rec)
            recs.append(rec)
            texts.append("\n")
            texts.append(t)
            lt_sum = -1 if lt < 0 or lt_sum < 0 else lt_sum + lt
            if len(recs) >= _CHUNK:
                _flush_chunk(f, recs, texts, lt_sum, enc, render, slow)
                count += len(recs)
                recs.clear()
                texts.clear()
                lt_sum = 0
        if recs:
            _flush_chunk(f, recs, texts, lt_sum, enc, render, slow)
            count += len(recs)
        f.write(f"\n</{rnd.batch}>\n".encode(enc))
    return count


def _flush_chunk(f: IO[bytes], recs: list, texts: list[str], lt: int, enc: str,
                 render: Callable, slow: Callable) -> None:
    data = "".join(texts).encode(enc, "xmlcharrefreplace")
    if lt < 0 or not _clean(data, lt):
        # Some record needs escaping (or has None values): redo this chunk one by one.
        parts = []
        for rec in recs:
            t, n = render(rec)
            if n >= 0:
                b = ("\n" + t).encode(enc, "xmlcharrefreplace")
                if _clean(b, n):
                    parts.append(b)
                    continue
                t = slow(rec)
            parts.append(("\n" + t).encode(enc, "xmlcharrefreplace"))
        data = b"".join(parts)
    f.write(data)


def write_jsonl(records: Iterable[Mapping[str, Any]], out: str | os.PathLike | IO[bytes]) -> int:
    """Canonical JSON lines: one record per line, UTF-8, non-ASCII unescaped."""
    count = 0
    with _Sink(out) as f:
        buf: list[bytes] = []
        for rec in records:
            buf.append(_json_encode(rec))
            count += 1
            if len(buf) >= _CHUNK:
                buf.append(b"")
                f.write(b"\n".join(buf))
                buf.clear()
        if buf:
            buf.append(b"")
            f.write(b"\n".join(buf))
    return count


# ---------------------------------------------------------------------------------------
# Department formats: reversing a mapping (canonical → source)
# ---------------------------------------------------------------------------------------


def load_mapping(name: str | os.PathLike) -> dict:
    """A mapping YAML by name (``'dept_b_case_csv'``) or path."""
    p = Path(name)
    if not p.suffix:
        p = MAPPINGS_DIR / f"{name}.yaml"
    m = _yaml_load(p)
    if not isinstance(m, dict) or "fields" not in m:
        raise ValueError(f"{p}: not a mapping file (no 'fields')")
    return m


def mapping_domains(name: str | os.PathLike) -> dict[str, frozenset[str]]:
    """Canonical values each code-table or constant field of a mapping can carry.

    Use with ``Generator(mapping=...)`` so clean records stay expressible in the format.
    """
    m = load_mapping(name)
    tables = m.get("code_tables") or {}
    out: dict[str, frozenset[str]] = {}
    for field, spec in (m.get("fields") or {}).items():
        if isinstance(spec, dict):
            if "const" in spec:
                out[field] = frozenset({str(spec["const"])})
            elif "code_table" in spec:
                out[field] = frozenset(str(v) for v in tables[spec["code_table"]].values())
    return out


def _dt_formatter(fmt: str) -> Callable[[str], str]:
    """Canonical 'YYYY-MM-DD HH:MM:SS' (or date) → ``fmt`` by slicing, no datetime objects.

    Slicing also carries malformed values through unchanged in shape (a bad_datetime
    defect stays a bad datetime in the source format instead of crashing the writer).
    """
    slices = {"Y": (0, 4), "m": (5, 7), "d": (8, 10), "H": (11, 13), "M": (14, 16), "S": (17, 19)}
    ops: list[tuple[int, int] | str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            if d in slices:
                ops.append(slices[d])
            elif d == "%":
                ops.append("%")
            else:
                return lambda v, _f=fmt: datetime.fromisoformat(v).strftime(_f)
            i += 2
        else:
            ops.append(ch)
            i += 1
    frozen = tuple(ops)

    def convert(v: str) -> str:
        return "".join(v[o[0]:o[1]] if type(o) is tuple else o for o in frozen)

    return convert


def _iso_cst(v: str) -> str:
    """Canonical datetime → ISO 8601 with the China Standard Time offset."""
    if len(v) == 10:
        return v
    return f"{v[:10]}T{v[11:19]}+08:00"


def _yuan_to_fen(v: Any) -> Any:
    try:
        return int((Decimal(str(v)) * 100).to_integral_value())
    except (InvalidOperation, ValueError):
        return v  # not a number: pass through, the reader will reject it


class _Unmapped(ValueError):
    pass


def _compile_field(name: str, field: str, spec: Any, tables: Mapping[str, Mapping], nested: bool,
                   on_unmapped: str) -> tuple[str, Callable[[Any], Any] | None] | None:
    """(source path, converter) for one canonical field; None when it has no source column."""
    if isinstance(spec, str):
        return spec, None
    if not isinstance(spec, dict):
        raise ValueError(f"mapping {name}: field {field}: unsupported spec {spec!r}")
    if "const" in spec:
        return None
    src = spec.get("from")
    if not src:
        raise ValueError(f"mapping {name}: field {field}: no 'from'")
    conv: Callable[[Any], Any] | None = None
    transform = spec.get("transform")
    if "code_table" in spec:
        table = tables.get(spec["code_table"])
        if table is None:
            raise ValueError(f"mapping {name}: field {field}: unknown code table {spec['code_table']!r}")
        rev: dict[str, str] = {}
        for code, value in table.items():
            rev.setdefault(str(value), str(code))  # several codes → one value: the first wins

        def conv(v: Any, _rev=rev, _field=field) -> Any:
            c = _rev.get(v)
            if c is not None:
                return c
            if on_unmapped == "keep":
                return v
            if on_unmapped == "blank":
                return None
            raise _Unmapped(
                f"mapping {name}: {_field} value {v!r} has no code in its code table; generate with "
                f"Generator(mapping={name!r}) or pass on_unmapped='keep' (writes the value as is) or 'blank'"
            )
    elif transform == "datetime":
        fmt = spec.get("format")
        conv = _dt_formatter(fmt) if fmt else (_iso_cst if nested else None)
    elif transform == "date":
        fmt = spec.get("format")
        conv = _dt_formatter(fmt) if fmt else None
    elif transform == "fen_to_yuan":
        conv = _yuan_to_fen
    elif transform is not None:
        raise ValueError(f"mapping {name}: field {field}: cannot reverse transform {transform!r}")
    return src, conv


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if v is True or v is False:
        return "true" if v else "false"
    return v if isinstance(v, str) else str(v)


def write_mapped(
    records: Iterable[Mapping[str, Any]],
    mapping: str | os.PathLike,
    out: str | os.PathLike | IO[bytes],
    *,
    on_unmapped: str = "raise",
) -> int:
    """Write canonical records in a department's format by reversing its mapping file.

    Renames canonical → source names, reverses code tables, formats datetimes (the
    mapping's ``format``, or ISO 8601 ``+08:00`` for JSON), turns yuan into fen for
    ``fen_to_yuan``, drops ``const`` fields. CSV: header of the source columns, the
    mapping's encoding, lists dropped. JSON lines: dotted paths become nested objects,
    list fields with sub-field mappings become arrays.

    ``on_unmapped`` — a value missing from a code table: 'raise' (default), 'keep' (write
    the canonical value as the code: how a defect reaches the source format) or 'blank'.
    """
    if on_unmapped not in ("raise", "keep", "blank"):
        raise ValueError("on_unmapped must be 'raise', 'keep' or 'blank'")
    m = load_mapping(mapping)
    name = m.get("name", str(mapping))
    fmt = m.get("format")
    tables = m.get("code_tables") or {}
    encoding = m.get("encoding") or "utf-8"
    if fmt == "csv":
        cols: list[tuple[str, str, Callable | None]] = []
        for field, spec in m["fields"].items():
            if isinstance(spec, dict) and "fields" in spec:
                continue  # lists have no place in a flat row
            c = _compile_field(name, field, spec, tables, False, on_unmapped)
            if c is not None:
                cols.append((field, c[0], c[1]))
        count = 0
        with _Sink(out) as f:
            text = io.TextIOWrapper(f, encoding=encoding, newline="", write_through=False)
            try:
                w = csv.writer(text)
                w.writerow([c[1] for c in cols])
                for rec in records:
                    row = []
                    for field, _, conv in cols:
                        v = rec.get(field)
                        if v is not None and conv is not None:
                            v = conv(v)
                        row.append(_cell(v))
                    w.writerow(row)
                    count += 1
                text.flush()
            finally:
                text.detach()  # leave the caller's file object open
        return count
    if fmt in ("jsonl", "json"):
        flat: list[tuple[str, tuple[str, ...], Callable | None]] = []
        lists: list[tuple[str, tuple[str, ...], list]] = []
        for field, spec in m["fields"].items():
            if isinstance(spec, dict) and "fields" in spec:
                subs = []
                for sf, sspec in spec["fields"].items():
                    c = _compile_field(name, f"{field}.{sf}", sspec, tables, True, on_unmapped)
                    if c is not None:
                        subs.append((sf, tuple(c[0].split(".")), c[1]))
                lists.append((field, tuple(spec["from"].split(".")), subs))
                continue
            c = _compile_field(name, field, spec, tables, True, on_unmapped)
            if c is not None:
                flat.append((field, tuple(c[0].split(".")), c[1]))
        count = 0
        with _Sink(out) as f:
            buf: list[bytes] = []
            for rec in records:
                obj: dict[str, Any] = {}
                for field, path, conv in flat:
                    v = rec.get(field)
                    if v is None:
                        continue
                    if conv is not None:
                        v = conv(v)
                        if v is None:
                            continue
                    _put(obj, path, v)
                for field, path, subs in lists:
                    entries = rec.get(field)
                    if not entries:
                        continue
                    arr = []
                    for e in entries:
                        o: dict[str, Any] = {}
                        for sf, spath, conv in subs:
                            v = e.get(sf)
                            if v is None:
                                continue
                            if conv is not None:
                                v = conv(v)
                                if v is None:
                                    continue
                            _put(o, spath, v)
                        arr.append(o)
                    _put(obj, path, arr)
                buf.append(_json_encode(obj))
                count += 1
                if len(buf) >= _CHUNK:
                    buf.append(b"")
                    f.write(b"\n".join(buf))
                    buf.clear()
            if buf:
                buf.append(b"")
                f.write(b"\n".join(buf))
        return count
    raise ValueError(f"mapping {name}: cannot write format {fmt!r} (csv and jsonl are supported)")


def _put(obj: dict, path: tuple[str, ...], v: Any) -> None:
    for p in path[:-1]:
        obj = obj.setdefault(p, {})
    obj[path[-1]] = v


def write_dept_b_csv(cases: Iterable[Mapping[str, Any]], out: str | os.PathLike | IO[bytes], *,
                     on_unmapped: str = "raise") -> int:
    """张家港市住房和城乡建设局's GBK CSV (``mappings/dept_b_case_csv.yaml`` reversed)."""
    return write_mapped(cases, "dept_b_case_csv", out, on_unmapped=on_unmapped)


def write_dept_c_jsonl(cases: Iterable[Mapping[str, Any]], out: str | os.PathLike | IO[bytes], *,
                       on_unmapped: str = "raise") -> int:
    """太仓市市场监督管理局's nested JSON lines (``mappings/dept_c_case_jsonl.yaml`` reversed)."""
    return write_mapped(cases, "dept_c_case_jsonl", out, on_unmapped=on_unmapped)
