"""The notification template loader names the file and the key of every error."""

from __future__ import annotations

import pytest
import yaml

from hub.domains.notifications import MILESTONES, TemplateError, load_templates, render

GOOD = {m: f"【政务服务】{m}：{{item_name}}（{{case_no}}）" for m in MILESTONES}


def _write(tmp_path, templates) -> str:
    p = tmp_path / "tpl.yaml"
    p.write_text(yaml.safe_dump({"templates": templates}, allow_unicode=True), encoding="utf-8")
    return str(p)


def test_good_file_loads_and_renders(tmp_path):
    t = load_templates(_write(tmp_path, GOOD))
    assert (
        render(t["accepted"], {"item_name": "企业设立登记", "case_no": "X1"})
        == "【政务服务】accepted：企业设立登记（X1）"
    )
    assert render("{finish_time}", {"finish_time": "2026-03-13 10:43:03"}) == "2026年3月13日"


def test_unknown_placeholder_names_file_and_key(tmp_path):
    path = _write(tmp_path, dict(GOOD, pickup="请到{window_addr}领取"))
    with pytest.raises(TemplateError) as e:
        load_templates(path)
    assert path in str(e.value) and "templates.pickup" in str(e.value) and "{window_addr}" in str(e.value)


@pytest.mark.parametrize(
    "templates, words",
    [
        ({**GOOD, "birthday": "x"}, ["templates.birthday", "unknown milestone"]),
        ({k: v for k, v in GOOD.items() if k != "concluded"}, ["no template for concluded"]),
        ({**GOOD, "accepted": "您的{item_name"}, ["templates.accepted", "malformed"]),
        ({**GOOD, "accepted": "  "}, ["templates.accepted", "non-empty"]),
        ({**GOOD, "accepted": "{case_no.attr}"}, ["templates.accepted", "unknown placeholder"]),
    ],
)
def test_errors(tmp_path, templates, words):
    path = _write(tmp_path, templates)
    with pytest.raises(TemplateError) as e:
        load_templates(path)
    for w in [path, *words]:
        assert w in str(e.value)


def test_not_yaml_or_missing(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("templates: [unclosed", encoding="utf-8")
    with pytest.raises(TemplateError, match="not valid YAML"):
        load_templates(p)
    with pytest.raises(TemplateError, match="cannot read"):
        load_templates(tmp_path / "none.yaml")
