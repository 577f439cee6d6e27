"""The reason-label catalogue of the quality report: loads, labels known codes in
Chinese, shows an unknown code as it is, and a bad entry names the file and line."""

from __future__ import annotations

import pytest

from hub.quality import charts
from hub.quality.reasons import ReasonsError, label, load_labels


def test_committed_labels_load_and_cover_the_common_reasons():
    labels = load_labels()
    for code in (
        "schema_invalid",
        "id_check_char",
        "uscc_check_char",
        "division_unknown",
        "xml_forbidden",
        "promise_exceeds_legal",
        "field_required",
        "code_table_miss",
    ):
        assert labels[code] and not labels[code].isascii(), code
    assert label("id_check_char") == "身份证号码校验码错误"
    assert label("brand_new_check") == "brand_new_check"


@pytest.mark.parametrize(
    "text,where",
    [
        ("version: 1\nreasons:\n  id_check_char: 校验码错误\n  Bad-Code: 某某\n", ":4: reasons.Bad-Code"),
        ("version: 1\nreasons:\n  id_check_char: ''\n", ":3: reasons.id_check_char"),
        ("version: 2\nreasons:\n  id_check_char: 校验码错误\n", ":1: version"),
        ("reasons: {}\n", "expected exactly the keys"),
    ],
)
def test_a_bad_entry_names_the_file_and_line(tmp_path, text, where):
    path = tmp_path / "reasons.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReasonsError) as err:
        load_labels(path)
    assert str(path) in str(err.value) and where in str(err.value)


def test_rates_read_as_percentages_and_colours():
    assert charts.percent(None) == "—" and charts.percent(0.95123) == "95.1%"
    assert charts.rate_colour(0.99) == charts.GOOD and charts.rate_colour(0.96) == charts.FAIR
    assert charts.rate_colour(0.5) == charts.POOR


def test_charts_escape_labels():
    svg = charts.hbars([{"label": "<script>x</script>", "value": 1, "text": "1", "colour": "#000"}])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert charts.hbars([]) == "" and charts.trend([]) == ""
