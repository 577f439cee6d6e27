"""Item catalogue sync from the sandbox province over SOAP: a second identical sync
stores no new version, a changed item shows up as a field-level diff, a withdrawn item
is marked, and each difference is one event."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from hub.db.tables import LIBRARY, outbox
from hub.domains import items as catalogue
from sandbox.province_soap import ProvinceState, make_app
from sandbox.server import run_in_thread


@pytest.fixture
def province(catalog):
    state = ProvinceState(username="govhub", password="pw")
    base, stop = run_in_thread(make_app(state))
    catalog.update(
        "prov",
        endpoint=f"soap://{base.split('://')[1]}/exchange?username=govhub&password=pw"
        "&pull=GetItemCatalogue&pull.region_code=3205",
    )
    yield state
    stop()


def _events(engine):
    with engine.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                select(outbox.c.body).where(outbox.c.kind == "item", outbox.c.event != "created").order_by(outbox.c.id)
            )
        ]


def test_sync_twice_then_change_and_withdraw(engine, province):
    first = catalogue.sync_items(engine, "prov")
    n = len(province.items)
    assert first["pulled"] == n and first["new"] == first["stored"] and first["stored"] > 0
    again = catalogue.sync_items(engine, "prov")
    assert again["stored"] == 0 and again["new"] == again["changed"] == again["withdrawn"] == 0
    with engine.connect() as conn:
        rows_before = conn.execute(select(LIBRARY["item"].c.id)).all()

    items = copy.deepcopy(province.items)
    target = next(i for i in items if i["status"] == "在用" and i.get("promise_days", 0) > 1)
    target["item_version"] = str(int(target["item_version"]) + 1)
    target["promise_days"] = target["promise_days"] - 1
    target["place"] = "常熟市政务服务中心二楼B区"
    gone = next(i for i in items if i["status"] == "在用" and i is not target)
    items.remove(gone)
    province.items = items
    third = catalogue.sync_items(engine, "prov")
    assert third["changed"] == 1 and third["withdrawn"] == 1 and third["new"] == 0 and third["stored"] == 1

    diff = catalogue.diff_versions(
        engine, target["item_code"], str(int(target["item_version"]) - 1), target["item_version"]
    )
    assert set(diff) >= {"item_version", "promise_days", "place"}
    assert diff["place"]["to"] == "常熟市政务服务中心二楼B区" and diff["promise_days"]["label"] == "承诺期限"
    t = LIBRARY["item"]
    with engine.connect() as conn:
        status = conn.execute(select(t.c.status).where(t.c.item_code == gone["item_code"])).scalar_one()
        assert len(conn.execute(select(t.c.id)).all()) == len(rows_before) + 1
    assert status == "取消"
    kinds = [e["event"] for e in _events(engine)]
    assert sorted(kinds[-2:]) == ["item.changed", "item.withdrawn"]
    fourth = catalogue.sync_items(engine, "prov")
    assert fourth["changed"] == fourth["withdrawn"] == fourth["stored"] == 0
    with pytest.raises(LookupError, match="stored versions"):
        catalogue.diff_versions(engine, target["item_code"], "99", target["item_version"])
