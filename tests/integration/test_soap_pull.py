"""A platform that speaks only SOAP pulls from the hub with zeep (issue #13): case changes
page by page by the same opaque cursor as REST (it may switch between them), the item
catalogue's changes since a version, and the refusals (may not pull, a bad cursor)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import yaml
import zeep
from fastapi.testclient import TestClient
from zeep.exceptions import Fault
from zeep.wsse.username import UsernameToken

import hub.api.pull_query as pull_query
import hub.api.routes_pull as routes_pull
from hub.api.app import create_app
from hub.catalog.authn import hash_password, sha256_hex
from hub.core.config import load_settings
from hub.wiring import standard_pipeline
from sandbox.server import run_in_thread
from synth.generator import Generator
from tests.helpers import xml_doc

DEPT = "常熟市行政审批局"


@pytest.fixture
def hub(tmp_path, monkeypatch, engine):
    _name, code, region = Generator(seed=0, departments=[DEPT]).departments[0]
    dept = {"id": "dept-a", "name": "常熟市行政审批局业务系统", "level": "department", "region_code": region}
    dept.update(dept_code=code, may_push=["case", "item"])
    prov = {"id": "prov", "name": "江苏省一体化政务服务平台", "level": "province", "region_code": "320000"}
    prov.update(
        may_pull=["case"],
        credentials={
            "api_key_sha256": sha256_hex("prov-key"),
            "username": "prov",
            "password_pbkdf2": hash_password("prov-pw", iterations=1000),
        },
    )
    other = {"id": "wx", "name": "无锡市平台", "level": "city", "region_code": "320200"}
    other.update(credentials={"username": "wx", "password_pbkdf2": hash_password("wx-pw", iterations=1000)})
    path = tmp_path / "systems.yaml"
    path.write_text(yaml.safe_dump({"systems": [dept, prov, other]}, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("GOVHUB_CATALOG", str(path))
    monkeypatch.setenv("GOVHUB_DB_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr(pull_query, "SETTLE", timedelta(0))
    monkeypatch.setattr(routes_pull, "SETTLE", timedelta(0))
    from hub.catalog.systems import _systems_at

    _systems_at.cache_clear()
    pipeline = standard_pipeline(engine)
    cases = [r for r, _ in Generator(seed=81, departments=[DEPT]).records("case", 7)]
    pipeline.ingest(io.BytesIO(xml_doc(cases, message_id="pull-1")), "dept-a")
    items = [r for r, _ in Generator(seed=82, departments=[DEPT]).records("item", 4)]
    pipeline.ingest(io.BytesIO(xml_doc(items, kind="item", message_id="pull-2")), "dept-a", kind="item")
    app = create_app(load_settings(), migrate_db=False)
    base, stop = run_in_thread(app)
    yield base, app, cases, items
    stop()
    _systems_at.cache_clear()


def _client(base: str, user: str, pw: str):
    return zeep.Client(f"{base}/soap/push?wsdl", wsse=UsernameToken(user, pw)).service


def test_case_changes_by_soap_and_rest_with_one_cursor(hub):
    base, app, cases, _items = hub
    svc = _client(base, "prov", "prov-pw")
    first = svc.GetCaseChanges(limit=3)
    assert first.has_more is True and len(first.cases.case) == 3 and first.next_cursor
    with TestClient(app) as rest:  # the same cursor, over REST
        page = rest.get(
            "/api/v1/case/changes", params={"cursor": first.next_cursor, "limit": 2}, headers={"X-Api-Key": "prov-key"}
        ).json()
    assert len(page["records"]) == 2 and page["has_more"] is True
    last = svc.GetCaseChanges(cursor=page["next_cursor"], limit=10)
    assert last.has_more is False
    got = [c.case_no for c in first.cases.case] + [r["case_no"] for r in page["records"]]
    got += [c.case_no for c in last.cases.case]
    assert sorted(got) == sorted(c["case_no"] for c in cases) and len(set(got)) == 7
    empty = svc.GetCaseChanges(cursor=last.next_cursor)
    assert empty.has_more is False and not (empty.cases and empty.cases.case)  # an empty <cases/>


def test_item_catalogue_since_a_version(hub):
    base, _app, _cases, items = hub
    svc = _client(base, "wx", "wx-pw")  # the catalogue is published: no may_pull needed
    everything = svc.GetItemCatalogue()
    assert {i.item_code for i in everything.items.item} == {i["item_code"] for i in items}
    again = svc.GetItemCatalogue(since_version=everything.version)
    assert not (again.items and again.items.item) and again.version == everything.version and not again.has_more


def test_refusals(hub):
    base, _app, _cases, _items = hub
    with pytest.raises(Fault) as exc:
        _client(base, "wx", "wx-pw").GetCaseChanges(limit=5)  # may not pull cases
    assert "may not pull case" in exc.value.message
    with pytest.raises(Fault) as exc:
        _client(base, "prov", "prov-pw").GetCaseChanges(cursor="not-a-cursor")
    assert "cursor is not valid" in exc.value.message
    with pytest.raises(Fault) as exc:
        _client(base, "prov", "prov-pw").GetCaseChanges(limit=9000)
    assert "limit" in exc.value.message
