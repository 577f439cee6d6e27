"""The push-time check (hub.quality.plain, plain Python) and Great Expectations
(hub.quality.checks.run_suite) give the same results on the same suites and records —
every kind, clean records and every defect the generator injects, repeated keys, blanks —
so the one set of suite files means the same thing in both. Also: the push-time path
loads neither pandas nor GE."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hub.core.config import ROOT
from hub.db.engine import engine_for, migrate
from hub.quality import plain
from hub.quality.checks import env_for, run_suite
from hub.quality.suites import SUITES_DIR, suite
from synth.generator import DEFECT_KINDS, KINDS, Generator
from tests.integration.test_quality_batch import catalogue_and_holders

pytestmark = pytest.mark.slow


@pytest.fixture
def sqlite_engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    migrate(url)
    return engine_for(url)


def _key(entry: dict):
    return (entry["expectation"], entry["column"] or "", entry["rule"])


def _same(gx_run, plain_run) -> None:
    assert (plain_run.suite, plain_run.suite_version, plain_run.rows) == (
        gx_run.suite,
        gx_run.suite_version,
        gx_run.rows,
    )
    # the same entries, in the same order (failures first), field by field
    assert [_key(e) for e in plain_run.results] == [_key(e) for e in gx_run.results]
    for p, g in zip(plain_run.results, gx_run.results):
        assert json.dumps(p, sort_keys=True, ensure_ascii=False) == json.dumps(g, sort_keys=True, ensure_ascii=False)


def _awkward(kind: str, clean: list[dict]) -> list[dict]:
    """Blanks, repeats and out-of-range values: a repeated record (key uniqueness), a record
    with every optional field blanked (nulls, empty strings), one with its times removed
    (pair checks), one below every numeric minimum and failing every regex."""
    from hub.model.dictionary import kind as dictionary_kind

    k = dictionary_kind(kind)
    blank = {n: ("" if i % 2 else None) for i, n in enumerate(f.name for f in k.scalars if not f.required)}
    times = {f.name: None for f in k.scalars if f.type in ("datetime", "date")}
    odd: dict = {}
    for e in suite(kind).spec.expectations:
        if e.type == "expect_column_values_to_be_between" and e.kwargs.get("min_value") is not None:
            odd[e.kwargs["column"]] = str(e.kwargs["min_value"] - 1)
        if e.type == "expect_column_values_to_match_regex":
            odd[e.kwargs["column"]] = "不符-0"
    return [dict(clean[0]), {**clean[1], **blank}, {**clean[2], **times}, {**clean[3], **odd}]


@pytest.mark.parametrize("kind", KINDS)
def test_plain_and_gx_agree_on_every_suite(sqlite_engine, kind):
    g = Generator(seed=201)
    clean = [r for r, _ in g.records(kind, 30)]
    bad = [g.defective(kind, d) for d in DEFECT_KINDS[kind] for _ in range(2)]
    licences = clean + bad if kind == "licence" else []
    catalogue_and_holders(sqlite_engine, g, licences[:-1])  # the last licence's holder is unknown
    s, env = suite(kind), env_for(sqlite_engine)

    # clean: every expectation passes in both
    gx_clean, plain_clean = run_suite(s, clean, env), plain.run_suite(s, clean, env)
    assert gx_clean.success and plain_clean.success
    _same(gx_clean, plain_clean)

    # defects spread through clean records, plus blanks and repeats: the same failures, counts and examples
    mixed = clean[:10] + bad[: len(bad) // 2] + clean[10:20] + _awkward(kind, clean) + bad[len(bad) // 2 :] + clean[20:]
    gx_mixed = run_suite(s, mixed, env)
    plain_mixed = plain.run_suite(s, mixed, env)
    assert not gx_mixed.success and gx_mixed.failed >= 2
    _same(gx_mixed, plain_mixed)


def test_plain_loads_every_suite_without_great_expectations():
    code = (
        "import sys; from hub.quality.suites import suites; "
        "assert len(suites(with_gx=False)) >= 8; "
        "print(sorted(m for m in ('pandas', 'great_expectations', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_plain_and_gx_agree_with_mostly(sqlite_engine, tmp_path):
    """``mostly`` (a share of the rows that must pass), which the shipped suites do not use yet."""
    data = json.loads((SUITES_DIR / "case.json").read_text(encoding="utf-8"))
    for e in data["expectations"]:
        if e["type"] != "expect_table_row_count_to_be_between":
            e["kwargs"]["mostly"] = 0.9
    (tmp_path / "case.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    s = suite("case", tmp_path)
    g = Generator(seed=202)
    clean = [r for r, _ in g.records("case", 30)]
    catalogue_and_holders(sqlite_engine, g, [])
    env = env_for(sqlite_engine)
    few = clean[:15] + [g.defective("case", "bad_enum")] + clean[15:]  # 1 of 31 fails: within mostly
    many = clean[:5] + [g.defective("case", "bad_enum") for _ in range(5)]  # 5 of 10 fail: beyond it
    for records in (few, many):
        _same(run_suite(s, records, env), plain.run_suite(s, records, env))
    assert run_suite(s, few, env).success and not plain.run_suite(s, many, env).success
