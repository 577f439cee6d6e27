"""The expectation suites (schemas/expectations) load and are checked on load: a bad file
fails with the file and the expectation, not at the first batch. Helper-column checks and
the feed-health rules are pure functions, tested here without a database."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from hub.model.codes import divisions
from hub.quality.derived import CheckEnv, compute
from hub.quality.suites import SUITES_DIR, SuiteError, load_suite, suites
from synth.generator import KINDS, Generator

GOOD = json.loads((SUITES_DIR / "person.json").read_text(encoding="utf-8"))


def test_one_suite_per_kind_and_each_loads():
    loaded = suites()
    assert set(loaded) == set(KINDS)
    for kind, s in loaded.items():
        assert s.kind == kind and s.version.startswith(f"{s.spec.meta.version}.")
        assert all(e.meta.rule and e.meta.label_zh for e in s.spec.expectations)
        assert len(s.gx_suite().expectations) == len(s.spec.expectations)  # GE dropped none


def test_domain_checks_are_in_the_suites():
    rules = {k: {e.meta.rule for e in s.spec.expectations} for k, s in suites().items()}
    assert {
        "id_no_valid",
        "uscc_valid",
        "division_code",
        "time_order",
        "promise_within_legal",
        "catalogue_item",
        "not_future",
        "unique_key",
        "required",
        "enum",
    } <= rules["case"]
    assert {"licence_id_valid", "holder_in_library", "id_no_valid", "time_order"} <= rules["licence"]
    assert all("unique_key" in r and "required" in r for r in rules.values())


def _write(tmp_path: Path, data, name: str = "person") -> Path:
    p = tmp_path / f"{name}.json"
    p.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return p


def _with(**changes) -> dict:
    data = json.loads(json.dumps(GOOD))
    first = data["expectations"][1]
    for k, v in changes.items():
        if k == "meta":
            first["meta"] = v
        else:
            first[k] = v
    return data


@pytest.mark.parametrize(
    "data, message",
    [
        ("{ not json", "line 1"),
        (_with(type="expect_column_values_to_be_cheerful"), "expectations[1]"),
        (_with(kwargs={"column": "no_such_field"}), "no column ['no_such_field']"),
        (_with(kwargs={"column": "name", "mostly": 7}), "Great Expectations rejects it"),
        (_with(meta={"label_zh": "x"}), "expectations.1.meta.rule"),
        (_with(meta={"rule": "Bad Rule", "label_zh": "x"}), "snake_case"),
        (
            _with(
                kwargs={"column": "name", "value_set": {"$PARAMETER": "names"}},
                type="expect_column_values_to_be_in_set",
            ),
            "$PARAMETER",
        ),
        ({**GOOD, "name": "case"}, "must both be 'person'"),
        (
            {
                **GOOD,
                "meta": {
                    **GOOD["meta"],
                    "derived": {"_x": {"check": "astrology", "fields": ["id_no"], "label_zh": "x"}},
                },
            },
            "unknown check 'astrology'",
        ),
        (
            {
                **GOOD,
                "meta": {
                    **GOOD["meta"],
                    "derived": {"_x": {"check": "uscc", "fields": ["id_no", "name"], "label_zh": "x"}},
                },
            },
            "takes 1 field",
        ),
        ({**GOOD, "meta": {**GOOD["meta"], "feed_health": {"silent_min_daily": -1}}}, "feed_health.silent_min_daily"),
    ],
)
def test_a_bad_suite_file_fails_with_file_and_place(tmp_path, data, message):
    path = _write(tmp_path, data)
    with pytest.raises(SuiteError) as exc:
        load_suite(path)
    assert str(path) in str(exc.value) and message in str(exc.value), str(exc.value)


def test_the_good_file_loads_from_elsewhere(tmp_path):
    assert load_suite(_write(tmp_path, GOOD)).kind == "person"


def _env(refs=None) -> CheckEnv:
    return CheckEnv(divisions.default_table(), datetime(2026, 3, 1, 12), refs)


def test_helper_checks_give_ok_a_reason_or_not_applicable():
    g = Generator(seed=5, today=date(2026, 3, 2))
    p = g.person()["id_no"]
    bad = g.defective("person", "id_check_char")["id_no"]
    firm = g.enterprise()["uscc"]
    assert compute("identity", [["111", "111", "001", "099", "111"], [p, bad, firm, "E1234567", None]], _env()) == [
        "ok",
        "id_check_char",
        "ok",
        None,
        None,
    ]
    assert compute("division", [["320581", "329999", None]], _env()) == ["ok", "division_unknown", None]
    assert compute("not_future", [["2026-03-02 11:00:00", "2026-03-03 12:00:01", "2027-01-01"]], _env()) == [
        "ok",
        "time_future",
        "time_future",
    ]
    steps = [{"start_time": "2026-01-02 10:00:00", "end_time": "2026-01-01 10:00:00"}]
    assert compute("list_time_order", [[steps, [], None]], _env()) == ["time_order", None, None]


def test_reference_checks_refuse_to_run_without_the_libraries():
    with pytest.raises(ValueError, match="database"):
        compute("in_catalogue", [["x"]], _env())


def _history(per_day: int, days: int, end: date) -> dict[date, Counter]:
    return {end - timedelta(days=i): Counter(stored=per_day) for i in range(1, days + 1)}


def test_feed_health_rules_on_synthetic_volumes():
    from hub.quality.daily import feed_health

    s = suites()["case"]
    day = date(2026, 3, 2)
    every_day = lambda d: True  # noqa: E731 — one kind of day: the baseline is every day

    def failed(vols, nulls=None):
        return {r["rule"] for r in feed_health(s, day, vols, nulls or {}, every_day).results if not r["success"]}

    hist = _history(200, 30, day)
    assert failed(hist) == {"feed_silent"}
    assert failed({**hist, day: Counter(stored=180)}) == set()
    assert failed({**hist, day: Counter(stored=10)}) == {"feed_volume_drop"}
    assert failed({**hist, day: Counter(stored=5000)}) == {"feed_volume_jump"}
    assert failed({**hist, day: Counter(stored=120, quarantined=80)}) == {"quarantine_rate_jump"}
    assert failed(_history(200, 3, day)) == set()  # three days of history: no baseline, nothing judged
    assert failed(_history(5, 30, day)) == set()  # a source that sends little may be quiet
