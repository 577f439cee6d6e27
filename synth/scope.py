"""A generator limited to one department and/or one region (``govhub generate --department
--region``), with the options checked and every refusal explained.

``region``: a GB/T 2260 code checked against the division table (it must exist and be
current). A county code (``320581`` 常熟市) limits the records to that county; a
prefecture code (``320500`` 苏州市) picks the prefecture the population lives in.

``department``: a department's credit code (统一社会信用代码, e.g. ``11320581MBL65F0H1L``)
or its name (``常熟市行政审批局``), looked up among the departments the generator's
population has. Only those: a well-formed code the generator does not model would give
records of a department that no catalogue system knows, so it is refused with the codes
that do exist.
"""

from __future__ import annotations

from hub.model.codes import divisions, uscc
from hub.model.codes.errors import CodeError
from synth.generator import Generator

#: Kinds whose records belong to one department (and its county).
DEPARTMENT_KINDS = ("case", "item", "licence", "evaluation", "supervision")
#: Kinds drawn from a whole prefecture: a county-level ``region`` does not apply.
PREFECTURE_KINDS = ("person", "enterprise", "project")
DEFAULT_PROVINCE, DEFAULT_PREFECTURE = "320000", "320500"


def scoped_generator(
    kind: str, seed: int = 0, *, department: str | None = None, region: str | None = None
) -> Generator:
    """A :class:`Generator` for ``kind`` limited to ``department`` and/or ``region``;
    ValueError with a message meant for the user when an option cannot be honoured."""
    province, prefecture, counties = DEFAULT_PROVINCE, DEFAULT_PREFECTURE, None
    if region is not None:
        province, prefecture, counties = _region(kind, region.strip())
    departments = None
    if department is not None:
        name, county = _department(kind, seed, department.strip(), province, prefecture, counties)
        if counties is not None and county not in counties:
            raise ValueError(f"--department {department} is {name} of region {county}, not of --region {region}")
        departments = [name]
    g = Generator(seed=seed, province=province, prefecture=prefecture, departments=departments, counties=counties)
    if kind == "licence" and not any(di.item.licence for di in g._dept_items):
        raise ValueError(
            f"{departments[0] if departments else region} issues no licences in the generator's item "
            "catalogue; choose a department that does (e.g. the 行政审批局 or 市场监督管理局)"
        )
    return g


def _region(kind: str, code: str) -> tuple[str, str, list[str] | None]:
    table = divisions.default_table()
    try:
        divisions.validate(code, table)
    except CodeError:
        raise ValueError(
            f"--region {code!r} is not a division code of table {table.version} (GB/T 2260: "
            "6 digits, e.g. 320581 常熟市 or 320500 苏州市)"
        ) from None
    name = table.full_name(code) or table.name(code)
    if not table.is_current(code):
        raise ValueError(
            f"--region {code} ({name}) is not a current division in {table.version}; give the code it has today"
        )
    if code.endswith("0000"):
        raise ValueError(
            f"--region {code} ({name}) is a province: give a prefecture (e.g. 320500 苏州市) "
            "or a county (e.g. 320581 常熟市)"
        )
    province, prefecture = code[:2] + "0000", code[:4] + "00"
    if code.endswith("00"):
        return province, prefecture, None
    if kind in PREFECTURE_KINDS:
        raise ValueError(
            f"--region {code}: {kind} records are drawn from a whole prefecture; give the "
            f"prefecture code {prefecture} ({table.name(prefecture)}) instead of a county"
        )
    return province, prefecture, [code]


def _department(
    kind: str, seed: int, wanted: str, province: str, prefecture: str, counties: list[str] | None
) -> tuple[str, str]:
    """(name, county code) of the department with credit code or name ``wanted``."""
    if kind not in DEPARTMENT_KINDS:
        raise ValueError(f"--department applies to {', '.join(DEPARTMENT_KINDS)} records, not to {kind}")
    probe = Generator(seed=seed, province=province, prefecture=prefecture)
    known = probe.departments  # (name, credit code, county) of every department of the prefecture
    for name, code, county in known:
        if wanted in (name, code.upper()) or wanted.upper() == code:
            return name, county
    if wanted.isascii() and not uscc.is_valid(wanted):
        problem = "is not a valid credit code (统一社会信用代码: wrong length, characters or check character)"
    else:
        problem = f"is not a department of {probe.prefecture_name} ({prefecture}) in the generator's population"
    near = [d for d in known if counties is None or d[2] in counties]
    examples = ", ".join(f"{code} {name}" for name, code, _ in near[:3])
    raise ValueError(f"--department {wanted!r} {problem}; give a credit code or name such as {examples}")
