"""The canonical fast path (fields in the record's order) gives what the ordered pass
gives, and a record with several defects still reports the first in dictionary order."""

from __future__ import annotations

import pytest

from hub.ingest.store import content_hash
from hub.model.canonical import FieldDefect, _compiled_for, _run, _run_ordered, canonicalise
from hub.model.dictionary import kind as dictionary_kind
from synth.generator import Generator


def _outcome(fn, compiled, rec):
    try:
        return fn(compiled, dict(rec))
    except FieldDefect as d:
        return (d.reason, d.field, d.message)


@pytest.mark.parametrize("kind", ["case", "licence", "person", "enterprise"])
def test_fast_path_matches_ordered_pass(kind):
    compiled = _compiled_for(kind)
    pairs = list(Generator(seed=3).records(kind, 300, defect_rate=0.3))
    for rec, _defect in pairs:
        assert _outcome(_run, compiled, rec) == _outcome(_run_ordered, compiled, rec)


def test_several_defects_report_the_first_in_dictionary_order():
    rec = Generator(seed=4).case()
    rec["source_time"] = "not a time"  # last scalar field
    rec["case_type"] = "XX件"  # earlier in the dictionary
    rec["extra"] = "?"
    with pytest.raises(FieldDefect) as exc:
        canonicalise(dictionary_kind("case"), dict(reversed(list(rec.items()))))
    assert (exc.value.reason, exc.value.field) == ("field_enum", "case_type")


def test_blank_and_null_optional_fields_are_left_out_and_required_ones_refused():
    k = dictionary_kind("case")
    rec = Generator(seed=5).case()
    out = canonicalise(k, {**rec, "item_name": "  ", "case_name": None})
    assert "item_name" not in out and "case_name" not in out
    with pytest.raises(FieldDefect) as exc:
        canonicalise(k, {**rec, "dept_name": " "})
    assert exc.value.reason == "field_required" and exc.value.field == "dept_name"


def test_content_hash_leaves_the_record_as_it_was_and_ignores_source_time():
    rec = canonicalise(dictionary_kind("case"), Generator(seed=6).case())
    before = dict(rec)
    h = content_hash(rec)
    assert rec == before
    assert (
        content_hash({**rec, "source_time": None})
        == h
        == content_hash({k: v for k, v in rec.items() if k != "source_time"})
    )
    assert content_hash({**rec, "status": "作废"}) != h
