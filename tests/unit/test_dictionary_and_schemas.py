"""The data dictionary, the generated contracts and the database agree."""

import json

import pytest
from lxml import etree

from hub.db.tables import LIBRARY
from hub.model.dictionary import DictionaryError, kinds, load_kind
from hub.model.schemagen import generated

EXPECTED_KINDS = {"case", "item", "licence", "person", "enterprise", "project", "evaluation", "supervision"}


def test_every_kind_has_a_dictionary():
    assert set(kinds()) == EXPECTED_KINDS


def test_generated_schemas_are_committed_and_current():
    stale = [str(p) for p, c in generated().items() if not p.exists() or p.read_bytes() != c]
    assert not stale, f"run `govhub schemas build`: {stale}"


@pytest.mark.parametrize("kind", sorted(EXPECTED_KINDS))
def test_contracts_compile(kind):
    etree.XMLSchema(etree.parse(f"schemas/xsd/{kind}.xsd"))
    import fastjsonschema

    fastjsonschema.compile(json.loads(open(f"schemas/json/{kind}.schema.json", encoding="utf-8").read()))


@pytest.mark.parametrize("kind", sorted(EXPECTED_KINDS))
def test_library_columns_cover_the_dictionary(kind):
    cols = set(LIBRARY[kind].c.keys())
    assert {f.name for f in kinds()[kind].fields} <= cols
    assert {"source_system", "source_time", "version", "payload_hash"} <= cols


def test_bad_dictionary_names_file_and_key(tmp_path):
    p = tmp_path / "case.yaml"
    p.write_text(
        "kind: case\nlabel: x\nversion: 1\nrecord: case\nbatch: cases\nkey: [case_no]\n"
        "key_scoped_by_source: true\nowner: {writers: true}\nfields:\n  - {name: case_no, label: 办件编号, type: strng, required: true}\n",
        encoding="utf-8",
    )
    with pytest.raises(DictionaryError) as exc:
        load_kind(p)
    assert str(p) in str(exc.value) and "fields.0.type" in str(exc.value)
