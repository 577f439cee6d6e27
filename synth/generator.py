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
    :func:`write_xml` (canonical batch, utf-8/gbk/gb18030, through the hub's one canonical
    XML writer :mod:`hub.model.xmlwrite`), :func:`write_jsonl`,
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
    The hot paths are ``case()`` and ``hub.model.xmlwrite.XmlRenderer.render``: keep
    per-field Python work out of both.

Use::

    from synth.generator import Generator, write_xml
    g = Generator(seed=7)
    n = write_xml((rec for rec, _ in g.records("case", 10_000, defect_rate=0.02)),
                  "case", "/tmp/cases.xml", message_id="demo-1")

    # cases as 张家港市住房和城乡建设局's legacy system can express them
    g = Generator(seed=1, departments=["张家港市住房和城乡建设局"], mapping="dept_b_case_csv")
    write_dept_b_csv((g.case() for _ in range(1000)), "/tmp/dept_b.csv")

Determinism: the same seed, constructor arguments and ``today`` give the same records
(``today`` defaults to the hub's clock, ``hub.core.clock.now().date()`` in China Standard
Time, so pin the clock or pass ``today`` when output must not change by day).

Modules: this one assembles :class:`Generator` and re-exports the public API.
:mod:`synth.population` (counties, departments, staff, people, enterprises),
:mod:`synth.catalogue` (the items), :mod:`synth.vocab` (names, places, texts),
:mod:`synth.axis` (the time axis), :mod:`synth.hashing`, ``synth.records.*`` (one module
per record kind or group of kinds), :mod:`synth.defects`, :mod:`synth.writers` (XML, JSON
lines) and :mod:`synth.mapped` (department formats).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from random import Random

from hub.core import clock
from hub.model.codes import divisions as _divisions
from hub.model.dictionary import kind as _dictionary_kind
from synth.axis import TimeAxis
from synth.catalogue import ITEMS  # noqa: F401  (re-exported)
from synth.defects import DEFECT_KINDS, KINDS, UNKNOWN_DIVISION, Defects  # noqa: F401
from synth.mapped import mapping_document, mapping_domains, write_dept_b_csv, write_dept_c_jsonl, write_mapped
from synth.population import Population
from synth.records.case import CaseRecords
from synth.records.catalogue import CatalogueRecords
from synth.records.oversight import OversightRecords
from synth.records.parties import PartyRecords
from synth.records.project import ProjectRecords
from synth.writers import write_jsonl, write_xml

__all__ = [
    "Generator",
    "DEFECT_KINDS",
    "KINDS",
    "write_xml",
    "write_jsonl",
    "write_dept_b_csv",
    "write_dept_c_jsonl",
    "write_mapped",
    "mapping_document",
    "mapping_domains",
]


class Generator(
    Population, TimeAxis, CaseRecords, CatalogueRecords, PartyRecords, ProjectRecords, OversightRecords, Defects
):
    """Deterministic synthetic records of every message kind (see the module datasheet).

    ``seed``: everything random derives from ``random.Random(seed)`` and, for the identity
    of person *i* / enterprise *j* (so the same ID number always has the same name), from
    a hash of (seed, i). ``province``/``prefecture``: where the departments, people and
    enterprises are. ``today``: "now" is the end of the day before ``today`` (default: the
    hub's clock); no generated time is later (except the ``future_apply`` defect).

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
        self.today = today or clock.now().date()
        self.divisions = table = _divisions.default_table()
        self.province, self.prefecture = province, prefecture
        self.province_name = table.name(province) or ""
        self.prefecture_name = table.name(prefecture) or ""
        self.population = population
        self.enterprise_count = enterprise_count

        self._init_counties(province, prefecture)
        self._init_departments(prefecture, departments, counties)
        self._init_staff()  # the first draws from the seeded generator
        self._init_time_axis()
        self._init_identities(seed, population, enterprise_count)
        self._init_counters()
        self._init_mapping_domains(mapping)

    def _init_counters(self) -> None:
        """Per-kind counters (unique keys per run)."""
        self._serial = 0
        self._lic_serial = 0
        self._person_next = 0
        self._ent_next = 0
        self._item_next = 0
        self._proj_serial = 0
        self._eval_serial = 0
        self._sup_serial = 0

    def _init_mapping_domains(self, mapping: str | None) -> None:
        """Values a mapping can express (code tables and constants); None = anything."""
        self._allowed: dict[str, frozenset[str]] = mapping_domains(mapping) if mapping else {}
        self._status_ok = self._allowed.get("status")
        self._result_ok = self._allowed.get("result_type")
        self._unit_ok = self._allowed.get("promise_unit")
        # Other restricted case fields whose domain leaves out some enum value: clamped
        # after the fact (status, result and unit are chosen within their domain).
        case_kind = _dictionary_kind("case")
        self._clamp = {
            f: min(dom)
            for f, dom in self._allowed.items()
            if f not in ("status", "result_type", "promise_unit")
            and f in {x.name for x in case_kind.fields}
            and not set(case_kind.field(f).values or ()) <= dom
        }
        self._clamp_dom = {f: self._allowed[f] for f in self._clamp}
