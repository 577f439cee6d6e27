"""Weakness 12: one accounting for corrections, rejections and retries. After an ingest
with defects, a correction, a rejection and a retry by rule, the counters, ``govhub
stats``, the quality report (its counts check, the banner's source) and the Prometheus
metrics agree with each other and with the current lineage; the corrected record's
original quarantined lineage row is kept, marked superseded by the correction's row."""

from __future__ import annotations

import json
from collections import Counter

from sqlalchemy import func, select

from hub.db.tables import lineage
from hub.model.codes import idcard
from hub.ops import stats
from tests.helpers import quarantine_rows
from tests.integration.conftest import catalog  # pytest fixture, used by name
from tests.integration.test_quarantine_api import _push_defective, admin_key, client  # pytest fixtures, used by name


def _current_lineage(engine) -> dict[tuple[str, str, str], int]:
    with engine.connect() as conn:
        q = (
            select(lineage.c.source_system, lineage.c.kind, lineage.c.outcome, func.count())
            .where(lineage.c.superseded_by.is_(None))
            .group_by(lineage.c.source_system, lineage.c.kind, lineage.c.outcome)
        )
        return {(s, k, o): int(n) for s, k, o, n in conn.execute(q)}


def _metric(text: str, name: str, system: str, kind: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and f'system="{system}"' in line and f'kind="{kind}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_corrections_rejections_and_retries_keep_the_books_in_agreement(client, catalog, admin_key):
    rows = _push_defective(client, catalog)
    h = {"X-Api-Key": admin_key}
    first, second = rows[0], rows[1]
    wrong = json.loads(first["payload"])[first["field"]]
    fixed = wrong[:17] + idcard.check_char(wrong[:17])
    corrected = client.post(
        f"/api/v1/quarantine/{first['id']}/retry", json={"set": {first["field"]: fixed}, "note": "核对"}, headers=h
    )
    assert corrected.status_code == 200 and corrected.json()["outcome"] == "stored", corrected.text
    assert client.post(f"/api/v1/quarantine/{second['id']}/reject", json={"note": "作废"}, headers=h).status_code == 200
    bulk = client.post("/api/v1/quarantine/retry", json={"rule": "case.identity", "note": "按规则重试"}, headers=h)
    assert bulk.status_code == 200 and bulk.json()["still_quarantined"] == 4, bulk.text

    dept = {"X-Api-Key": catalog.keys["dept-a"]}
    report = client.get("/reports/quality", headers=dept)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["consistency"] == {"ok": True, "mismatches": []}

    current = _current_lineage(client.engine)
    counted = stats.counts(client.engine)
    (src,) = [s for s in counted["sources"] if s["system"] == "dept-a" and s["kind"] == "case"]
    assert (src["stored"], src["quarantined"], src["received"], src["corrected"]) == (7, 5, 12, 1)
    for o in stats.OUTCOMES:
        assert src[o] == current.get(("dept-a", "case", o), 0), o
    (rep,) = [s for s in body["sources"] if s["system"] == "dept-a" and s["kind"] == "case"]
    assert {o: rep[o] for o in stats.OUTCOMES} == {o: src[o] for o in stats.OUTCOMES}

    metrics = client.get("/metrics", headers=h).text
    for o in ("received", *stats.OUTCOMES):
        assert _metric(metrics, f"govhub_records_{o}_total", "dept-a", "case") == src[o], o

    # the evidence stays: the original quarantined row is kept, superseded by the correction's row
    with client.engine.connect() as conn:
        old = conn.execute(select(lineage).where(lineage.c.id == first["lineage_id"])).mappings().one()
        new = conn.execute(select(lineage).where(lineage.c.correction_of == first["id"])).mappings().one()
    assert old["outcome"] == "quarantined" and old["superseded_by"] == new["id"] and old["superseded_at"] is not None
    assert new["outcome"] == "stored" and new["superseded_by"] is None
    assert Counter(r["status"] for r in quarantine_rows(client.engine)) == {"open": 4, "retried": 1, "rejected": 1}
    page = client.get("/reports/quality.html", headers=dept)
    assert page.status_code == 200 and "≠" not in page.text
