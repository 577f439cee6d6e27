"""Licences (电子证照): the licence catalogue keeps a version only per change, with an
operation log and field-level version comparison; expiry reminders are raised once per
threshold; locally issued licences reach the province licence library once."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import yaml
from sqlalchemy import func, select

from hub.core import clock
from hub.db.tables import metadata, outbox
from hub.domains.licences import (
    CATALOGUE_FILE,
    LicenceCatalogueError,
    catalogue_diff,
    expiry_reminders,
    licence_catalogue,
    licence_catalogue_log,
    licence_reminder,
    load_catalogue,
    read_catalogue,
    sync_to_province,
)
from hub.outbound import reporting
from hub.wiring import standard_pipeline
from sandbox.dept_rest import DeptState, make_app
from sandbox.server import run_in_thread
from synth.generator import Generator
from tests.helpers import xml_doc

DEPT = "常熟市行政审批局"


@pytest.fixture
def tables(engine):
    metadata.create_all(engine, tables=[licence_catalogue, licence_catalogue_log, licence_reminder])


def _write(path, entries) -> None:
    path.write_text(yaml.safe_dump({"licence_types": entries}, allow_unicode=True), encoding="utf-8")


def _log(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(
                    licence_catalogue_log.c.code,
                    licence_catalogue_log.c.version,
                    licence_catalogue_log.c.operation,
                    licence_catalogue_log.c.operator,
                ).order_by(licence_catalogue_log.c.id)
            )
        ]


def test_catalogue_versions_only_on_change_with_log_and_diff(engine, tables, tmp_path):
    entries = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))["licence_types"][:3]
    a, b, c = (e["code"] for e in entries)
    path = tmp_path / "catalogue.yaml"
    _write(path, entries)
    assert load_catalogue(engine, path, operator="admin-01") == {"new": 3, "changed": 0, "cancelled": 0, "unchanged": 0}
    assert load_catalogue(engine, path) == {"new": 0, "changed": 0, "cancelled": 0, "unchanged": 3}

    entries[1] = {
        **entries[1],
        "validity_years": 3,
        "face_items": entries[1]["face_items"] + ["许可范围"],
        "valid_from": "2025-07-01",
    }
    _write(path, entries[:2])  # the third is no longer listed: cancelled
    assert load_catalogue(engine, path, operator="admin-02") == {"new": 0, "changed": 1, "cancelled": 1, "unchanged": 1}
    assert load_catalogue(engine, path, operator="admin-02") == {"new": 0, "changed": 0, "cancelled": 0, "unchanged": 2}
    _write(path, entries)  # listed again
    assert load_catalogue(engine, path, operator="admin-03")["changed"] == 1

    new = [(a, 1, "新增", "admin-01"), (b, 1, "新增", "admin-01"), (c, 1, "新增", "admin-01")]
    assert _log(engine) == sorted(new) + [
        (b, 2, "变更", "admin-02"),
        (c, 2, "取消", "admin-02"),
        (c, 3, "变更", "admin-03"),
    ]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(licence_catalogue)).scalar_one() == 6
        assert conn.execute(
            select(licence_catalogue.c.valid_from).where(
                licence_catalogue.c.code == b, licence_catalogue.c.version == 2
            )
        ).scalar_one() == date(2025, 7, 1)

    diff = catalogue_diff(engine, b, 1, 2)
    assert diff["changes"] == {
        "validity_years": {"label": "有效期限(年)", "from": 5, "to": 3},
        "face_items": {
            "label": "照面信息项",
            "from": entries[1]["face_items"][:-1],
            "to": entries[1]["face_items"],
            "added": ["许可范围"],
            "removed": [],
        },
    }
    assert catalogue_diff(engine, c, 1, 3)["changes"] == {}
    assert catalogue_diff(engine, c, 1, 2)["changes"] == {"status": {"label": "目录状态", "from": "有效", "to": "取消"}}
    with pytest.raises(LookupError, match="no version 9"):
        catalogue_diff(engine, c, 1, 9)


def test_catalogue_file_errors_name_the_file_and_key(tmp_path):
    entries = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))["licence_types"]
    assert {"营业执照", "食品经营许可证", "建筑工程施工许可证"} <= {
        e.name for e in read_catalogue(CATALOGUE_FILE).values()
    }
    path = tmp_path / "catalogue.yaml"
    code = entries[0]["code"]
    _write(path, [{**entries[0], "code": code[:17] + ("0" if code[17] != "0" else "1") + code[18:]}])
    with pytest.raises(LicenceCatalogueError, match=rf"{path}: licence_types\.0\.code: .*defining authority"):
        read_catalogue(path)
    _write(path, [{**entries[0], "holder_type": "个人"}])
    with pytest.raises(LicenceCatalogueError, match=r"licence_types\.0\.holder_type"):
        read_catalogue(path)
    _write(path, [entries[0], entries[0]])
    with pytest.raises(LicenceCatalogueError, match=rf"licence_types\.{code}: duplicate code"):
        read_catalogue(path)


def _ingest(engine, recs: list[dict], mid: str) -> list[dict]:
    summary = standard_pipeline(engine).ingest(io.BytesIO(xml_doc(recs, kind="licence", message_id=mid)), "dept-a")
    assert summary.counts["stored"] == len(recs), summary.as_dict()
    return recs


def test_expiry_reminders_once_per_threshold(engine, tables, catalog):
    today = clock.now().date()
    issued = str(today - timedelta(days=400))
    recs = [
        dict(r, status="有效", issue_date=issued, valid_from=issued, valid_to=str(today + timedelta(days=days)))
        for (r, _), days in zip(Generator(seed=61, departments=[DEPT]).records("licence", 6), (40, 20, 5, 0, -1, 5))
    ]
    recs[5]["status"] = "注销"
    _ingest(engine, recs, "l1")

    assert expiry_reminders(engine, [30, 7], today=today) == {"expiring": 3, "raised": 3, "by_threshold": {7: 2, 30: 1}}
    assert expiry_reminders(engine, [30, 7], today=today)["raised"] == 0
    later = today + timedelta(days=14)  # 20 days left are now 6, 40 are 26; 5 and 0 have expired
    assert expiry_reminders(engine, [30, 7], today=later) == {"expiring": 2, "raised": 2, "by_threshold": {7: 1, 30: 1}}
    assert expiry_reminders(engine, [30, 7], today=later)["raised"] == 0

    recs[2]["valid_to"] = str(today + timedelta(days=25))  # renewed: reminded again for the new date
    _ingest(engine, [recs[2]], "l3")
    assert expiry_reminders(engine, [30, 7], today=today)["by_threshold"] == {7: 0, 30: 1}

    with engine.connect() as conn:
        bodies = list(
            conn.execute(select(outbox.c.body).where(outbox.c.event == "expiring").order_by(outbox.c.id)).scalars()
        )
    assert [(b["licence_no"], b["threshold_days"], b["days_left"]) for b in bodies] == [
        (recs[3]["licence_no"], 7, 0),
        (recs[2]["licence_no"], 7, 5),
        (recs[1]["licence_no"], 30, 20),
        (recs[1]["licence_no"], 7, 6),
        (recs[0]["licence_no"], 30, 26),
        (recs[2]["licence_no"], 30, 25),
    ]
    assert all(b["event"] == "licence.expiring" and "holder_id_no" not in b for b in bodies)


@pytest.fixture
def province(catalog, monkeypatch):
    """The province licence library: a sandbox REST peer behind the catalogue's ``prov``."""
    monkeypatch.setattr(reporting, "SETTLE", timedelta(0))
    state = DeptState()
    base, stop = run_in_thread(make_app(state, api_key="prov-in"))
    monkeypatch.setenv("PROV_INBOUND_KEY", "prov-in")
    catalog.update(
        "prov", endpoint=f"rest://{base.split('://')[1]}/api?push_path=/case&api_key_env=PROV_INBOUND_KEY&retries=0"
    )
    yield state
    stop()


def test_sync_to_province_delivers_each_licence_once(engine, province):
    recs = _ingest(engine, [r for r, _ in Generator(seed=62, departments=[DEPT]).records("licence", 8)], "s1")
    run = sync_to_province(engine, "prov")
    assert run["queued"] == 8 and run["delivered"] == {"acknowledged": 8}
    assert sorted(r["licence_no"] for r in province.received) == sorted(r["licence_no"] for r in recs)
    again = sync_to_province(engine, "prov")
    assert again["queued"] == 0 and not again["delivered"] and len(province.received) == 8
