"""Outcomes, statuses and reason codes are defined once (hub.model.outcomes) and read
exactly as the bare strings did; every error of the hub is a GovhubError with a reason."""

from __future__ import annotations

import csv
import io
import json
import pickle
from collections import Counter

import msgspec
import pytest
from lxml import etree

from hub.core.errors import AccessDenied, ConfigError, GovhubError, InputError, NotFound, StorageError, WorkflowError
from hub.model.outcomes import DeliveryStatus, Detail, Outcome, QuarantineStatus, Reason
from hub.quality.reasons import load_labels


def test_every_reason_has_a_chinese_label():
    labels = load_labels()
    missing = [r.value for r in Reason if r.value not in labels]
    assert not missing, f"catalog/quality_reasons.yaml has no label for {missing}"
    assert all(not labels[r].isascii() for r in Reason)


@pytest.mark.parametrize("enum", [Outcome, Detail, DeliveryStatus, QuarantineStatus, Reason])
def test_members_read_as_their_strings(enum):
    for m in enum:
        v = m.value
        assert m == v and hash(m) == hash(v) and {v: 1}[m] == 1
        assert str(m) == f"{m}" == "%s" % m == format(m, "") == v  # noqa: UP031 — %-formatting is one of the forms checked
        assert repr(m) == repr(v) and repr(Counter({m: 1})) == repr(Counter({v: 1}))
        assert json.dumps({m: [m]}) == json.dumps({v: [v]})
        assert msgspec.json.encode({m: m}) == msgspec.json.encode({v: v})
        out = io.StringIO()
        csv.writer(out).writerow([m])
        assert out.getvalue() == v + "\r\n"
        el = etree.Element("x", a=m)
        el.text = m
        assert etree.tostring(el) == f'<x a="{v}">{v}</x>'.encode()


def test_the_tree_keeps_the_builtin_kinds():
    from hub.catalog.access import AccessDenied as AccessDeniedThere
    from hub.catalog.systems import CatalogError
    from hub.domains.supervision.scan import SupervisionActionError
    from hub.ingest.store import ConcurrentUpdate
    from hub.model.canonical import FieldDefect
    from hub.model.codes import CodeError
    from hub.model.mapping import MappingError
    from hub.quarantine.workflow import QuarantineActionError

    assert AccessDeniedThere is AccessDenied
    for cls, base, builtin in [
        (CatalogError, ConfigError, ValueError),
        (MappingError, ConfigError, ValueError),
        (FieldDefect, InputError, ValueError),
        (CodeError, InputError, ValueError),
        (QuarantineActionError, WorkflowError, ValueError),
        (SupervisionActionError, WorkflowError, ValueError),
        (ConcurrentUpdate, StorageError, RuntimeError),
        (NotFound, GovhubError, LookupError),
    ]:
        assert issubclass(cls, base) and issubclass(cls, builtin) and issubclass(cls, GovhubError), cls
    assert QuarantineActionError is not SupervisionActionError


def test_reasons_are_machine_readable():
    from hub.model.mapping import MappingError

    assert MappingError("m").reason == "mapping_invalid" and ConfigError("c").reason == "config_invalid"
    e = InputError("bad", reason=Reason.FIELD_FORMAT)
    assert (e.reason, e.message, str(e)) == ("field_format", "bad", "bad")
    d = AccessDenied(403, "forbidden_kind", "no")
    assert (d.status, d.reason, d.message, str(d)) == (403, "forbidden_kind", "no", "no")
    back = pickle.loads(pickle.dumps(ConfigError("x", reason="catalog_invalid")))
    assert (type(back), back.reason, str(back)) == (ConfigError, "catalog_invalid", "x")
