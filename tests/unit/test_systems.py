"""The catalogue of connected systems is data, checked at load with the file and key."""

import textwrap

import pytest

from hub.catalog.systems import CatalogError, load_systems


def load(tmp_path, body: str):
    p = tmp_path / "systems.yaml"
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p, lambda: load_systems(p)


BASE = """\
systems:
  - id: a
    name: 甲
    level: department
    region_code: "320581"
"""


@pytest.mark.parametrize(
    "extra,key",
    [
        ("    level2: x\n", "systems.0.level2"),
        ("    may_push: [casee]\n", "systems.0.may_push"),
        ("    mappings: {case/xml: no_such_mapping}\n", "systems.0.mappings"),
        ("    mappings: {case/csv: dept_a_case_xml}\n", "systems.0.mappings"),
        ("    formats: {case: no_such_format}\n", "systems.0.formats"),  # issue #13: peers' formats
        ("    formats: {licence: province_case_upload}\n", "systems.0.formats"),
        ("    formats: {case: dept_a_case_xml}\n", "systems.0.formats"),  # an inbound mapping
        ("    endpoint: ftp://x/y\n", "systems.0.endpoint"),
        ("    credentials: {api_key_sha256: nothex}\n", "systems.0.credentials.api_key_sha256"),
        ("    credentials: {password_pbkdf2: plain}\n", "systems.0.credentials.password_pbkdf2"),
        ("    credentials: {secret: {env: A, file: /b}}\n", "systems.0.credentials.secret"),
        ("    report_to: [nobody]\n", "systems.a.report_to"),
    ],
)
def test_bad_entry_names_file_and_key(tmp_path, extra, key):
    path, run = load(tmp_path, BASE + extra)
    with pytest.raises(CatalogError) as exc:
        run()
    assert str(exc.value).startswith(f"{path}: {key}"), str(exc.value)


def test_duplicate_ids(tmp_path):
    path, run = load(tmp_path, BASE + BASE.split("\n", 1)[1])
    with pytest.raises(CatalogError, match="duplicate id 'a'"):
        run()


def test_shipped_catalogue_loads_and_holds_no_secrets():
    from hub.catalog.systems import SYSTEMS_FILE

    systems = load_systems(SYSTEMS_FILE)
    assert {"js-province", "cs-approval", "zjg-housing", "tc-market"} <= set(systems)
    assert all(
        s.credentials.secret is None or s.credentials.secret.env or s.credentials.secret.file for s in systems.values()
    )


def test_region_coverage():
    from hub.catalog.systems import System

    prov = System(id="p", name="省", level="province", region_code="320000")
    city = System(id="c", name="市", level="city", region_code="320500")
    county = System(id="x", name="县", level="county", region_code="320581")
    assert prov.covers_region("320581") and city.covers_region("320581") and county.covers_region("320581")
    assert not city.covers_region("320201") and not county.covers_region("320582")


def test_a_department_without_dept_code_loads_with_a_warning(tmp_path, caplog):
    """It loads (a third party's catalogue keeps working) but owns no case: the operator is told."""
    _, run = load(tmp_path, BASE + "    may_push: [case, evaluation]\n")
    with caplog.at_level("WARNING", logger="govhub.catalog"):
        systems = run()
    assert systems["a"].dept_code is None
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "govhub.catalog"]
    assert "systems.a" in warning and "case" in warning and "evaluation" not in warning and "dept_code" in warning


def test_a_department_with_dept_code_loads_quietly(tmp_path, caplog):
    _, run = load(tmp_path, BASE + '    dept_code: "11320581014158393X"\n    may_push: [case]\n')
    with caplog.at_level("WARNING", logger="govhub.catalog"):
        run()
    assert not [r for r in caplog.records if r.name == "govhub.catalog"]
