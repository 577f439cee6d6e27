"""Resource-library refresh against sandbox sharing platforms on real ports: field
precedence both ways, history, conflicts recorded once and masked, idempotent reruns,
resume by cursor, quarantine; and the precedence file refused when malformed."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select

from adapters.errors import RejectedError, TransientError
from adapters.registry import open_adapter
from hub.catalog.systems import get_system
from hub.core import clock
from hub.db.tables import LIBRARY, metadata, outbox, quarantine, record_history
from hub.domains.libraries.merge import field_provenance, merge_conflict, refresh, refresh_cursor, stored_cursor
from hub.domains.libraries.precedence import PRECEDENCE_FILE, PrecedenceError, load_precedence
from hub.wiring import standard_pipeline
from sandbox.server import run_in_thread
from sandbox.sharing_rest import SharingState, make_app
from synth.generator import Generator
from tests.helpers import count

REGISTRY, SHARING, POLICE = "market-regulation-registry", "sz-sharing", "public-security-population"


@pytest.fixture
def platform(engine, catalog, monkeypatch):
    """``platform(system_id, page_size)`` starts a sandbox sharing platform and enters it
    in the catalogue under that id; returns its state."""
    metadata.create_all(engine, tables=[field_provenance, merge_conflict, refresh_cursor])
    monkeypatch.setenv("SHARING_TEST_KEY", "sharing-key")
    stops = []

    def start(system_id: str, page_size: int = 50) -> SharingState:
        state = SharingState(page_size=page_size)
        base, stop = run_in_thread(make_app(state))
        stops.append(stop)
        catalog.add(
            {
                "id": system_id,
                "name": f"沙箱 {system_id}",
                "level": "city",
                "region_code": "320500",
                "endpoint": f"rest://{base.split('://')[1]}/api?pull_path=/updates&api_key_env=SHARING_TEST_KEY&retries=0",
            }
        )
        return state

    yield start
    for stop in stops:
        stop()


def _rows(engine, kind: str) -> dict[str, dict]:
    t = LIBRARY[kind]
    key = {"enterprise": "uscc", "person": "id_no"}[kind]
    with engine.connect() as conn:
        return {r[key]: dict(r) for r in conn.execute(select(t)).mappings()}


def _provenance(engine, kind: str, key: str) -> dict[str, str]:
    with engine.connect() as conn:
        return {
            r.field: r.source_system
            for r in conn.execute(
                select(field_provenance).where(field_provenance.c.kind == kind, field_provenance.c.record_key == key)
            )
        }


def _conflicts(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(merge_conflict).order_by(merge_conflict.c.id)).mappings()]


def _snapshot(engine) -> tuple:
    return (
        {k: (r["version"], r["payload_hash"]) for k, r in _rows(engine, "enterprise").items()},
        count(engine, record_history),
        count(engine, merge_conflict),
        count(engine, outbox),
    )


def _ts(hours_ago: int) -> str:
    return (clock.now() - timedelta(hours=hours_ago)).strftime("%Y-%m-%d %H:%M:%S")


def _permit(no: str) -> list[dict]:
    return [{"permit_name": "食品经营许可证", "permit_no": no, "status": "有效"}]


def test_precedence_both_ways_history_conflicts_once_and_idempotent(engine, platform):
    registry, sharing = platform(REGISTRY), platform(SHARING, page_size=3)
    ents = [r for r, _ in Generator(seed=71).records("enterprise", 12)]
    registry.publish("enterprise", ents)
    assert refresh(engine, REGISTRY) == {"pulled": 12, "merged": 12, "unchanged": 0, "conflicts": 0, "quarantined": 0}

    # the sharing platform, later: other names (the registry ranks higher for names) and
    # new permits (it ranks higher for permits); one also fills the empty org_code
    offers = [
        {**e, "name": e["name"] + "（共享）", "permits": _permit(f"JY{i:012d}"), "source_time": _ts(2)}
        for i, e in enumerate(ents[:4])
    ]
    offers[1]["org_code"] = ents[1]["uscc"][8:17]
    sharing.publish("enterprise", offers)
    assert refresh(engine, SHARING) == {"pulled": 4, "merged": 4, "unchanged": 0, "conflicts": 4, "quarantined": 0}
    rows = _rows(engine, "enterprise")
    for e, o in zip(ents[:4], offers):
        row = rows[e["uscc"]]
        assert row["name"] == e["name"] and row["permits"] == o["permits"]
        assert row["version"] == 2 and row["source_system"] == SHARING
    assert rows[ents[1]["uscc"]]["org_code"] == ents[1]["uscc"][8:17]
    assert all(rows[e["uscc"]]["version"] == 1 for e in ents[4:])
    prov = _provenance(engine, "enterprise", ents[1]["uscc"])
    assert prov["name"] == REGISTRY and prov["permits"] == SHARING and prov["org_code"] == SHARING

    with engine.connect() as conn:
        history = (
            conn.execute(
                select(record_history).where(record_history.c.reason == "merged").order_by(record_history.c.id)
            )
            .mappings()
            .all()
        )
    assert len(history) == 4
    assert {h["record_key"]: h["changed_fields"] for h in history}[ents[1]["uscc"]] == ["org_code", "permits"]
    first = next(h for h in history if h["record_key"] == ents[0]["uscc"])
    assert first["version"] == 1 and first["source_system"] == REGISTRY and first["values"]["name"] == ents[0]["name"]

    conflicts = _conflicts(engine)
    assert [(c["field"], c["kept_source"], c["offered_source"], c["status"]) for c in conflicts] == [
        ("name", REGISTRY, SHARING, "open")
    ] * 4
    assert conflicts[0]["kept_value_masked"] == ents[0]["name"]  # an enterprise name is not personal data

    # the other way round: the registry renames one (it wins) and offers older permits (it loses)
    renamed = {
        **ents[0],
        "name": "苏州市新名称科技有限公司",
        "permits": _permit("JY-REGISTRY-1"),
        "source_time": _ts(1),
    }
    registry.publish("enterprise", [renamed])
    assert refresh(engine, REGISTRY) == {"pulled": 1, "merged": 1, "unchanged": 0, "conflicts": 1, "quarantined": 0}
    row = _rows(engine, "enterprise")[ents[0]["uscc"]]
    assert row["name"] == renamed["name"] and row["permits"] == offers[0]["permits"] and row["version"] == 3
    assert _conflicts(engine)[-1]["field"] == "permits" and _conflicts(engine)[-1]["kept_source"] == SHARING

    # the registry's own older spelling of another is stale: no change, and no conflict with itself
    older = (datetime.fromisoformat(ents[2]["source_time"]) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    registry.publish("enterprise", [{**ents[2], "name": "旧名称有限公司", "source_time": older}])
    assert refresh(engine, REGISTRY) == {"pulled": 1, "merged": 0, "unchanged": 1, "conflicts": 0, "quarantined": 0}
    assert _rows(engine, "enterprise")[ents[2]["uscc"]]["name"] == ents[2]["name"]

    with engine.connect() as conn:
        events = conn.execute(select(outbox.c.event, outbox.c.body).order_by(outbox.c.id)).all()
    assert [e for e, _ in events] == ["created"] * 12 + ["updated"] * 5
    assert events[-1][1]["fields"] == ["name"] and events[-1][1]["version"] == 3

    # reruns change nothing: from the stored cursor (nothing new), from the start with the
    # same pages (the same messages), and with the feed cut into other pages (merged anew)
    before = _snapshot(engine)
    assert refresh(engine, SHARING)["pulled"] == 0
    for page_size in (3, 2):
        sharing.page_size = page_size
        with engine.begin() as conn:
            conn.execute(delete(refresh_cursor).where(refresh_cursor.c.system == SHARING))
        assert refresh(engine, SHARING) == {"pulled": 4, "merged": 0, "unchanged": 4, "conflicts": 0, "quarantined": 0}
        assert _snapshot(engine) == before


def test_resume_by_cursor_after_an_outage(engine, platform):
    registry = platform(REGISTRY, page_size=5)
    registry.publish("enterprise", [r for r, _ in Generator(seed=73).records("enterprise", 12)])
    registry.fail_from = 10  # the third page fails
    with pytest.raises(TransientError):
        refresh(engine, REGISTRY)
    assert len(_rows(engine, "enterprise")) == 10  # the two pages before the outage are committed
    assert stored_cursor(engine, REGISTRY) == "10"
    registry.fail_from = None
    # a caller that opens the adapter itself (a DAG's hook) positions it at the stored cursor
    with open_adapter(get_system(REGISTRY).endpoint, cursor=stored_cursor(engine, REGISTRY)) as feed:
        assert refresh(engine, REGISTRY, adapter=feed) == {
            "pulled": 2,
            "merged": 2,
            "unchanged": 0,
            "conflicts": 0,
            "quarantined": 0,
        }
    assert len(_rows(engine, "enterprise")) == 12


def test_people_masked_conflicts_pipeline_rows_and_quarantine(engine, platform, tmp_path, monkeypatch):
    police, sharing = platform(POLICE), platform(SHARING)
    g = Generator(seed=74)
    people = [r for r, _ in g.records("person", 5)]
    # a department listed as a writer of the people library (catalog/precedence.yaml writers)
    # stored one person through the pipeline: a row without field provenance
    text = PRECEDENCE_FILE.read_text(encoding="utf-8")
    listed = text.replace(
        "writers: [public-security-population, sz-sharing]", "writers: [public-security-population, sz-sharing, dept-a]"
    )
    assert listed != text
    (tmp_path / "precedence.yaml").write_text(listed, encoding="utf-8")
    monkeypatch.setenv("GOVHUB_PRECEDENCE", str(tmp_path / "precedence.yaml"))
    body = json.dumps({"records": [people[0]]}, ensure_ascii=False).encode()
    standard_pipeline(engine).ingest(io.BytesIO(body), "dept-a", fmt="json", kind="person", message_id="dept-person-1")

    # the population register: the department's phone outranks its copy ("*" before it),
    # its name spelling outranks the department's; and one defective record
    offered = {**people[0], "phone": "13900001111", "name": people[0]["name"] + "某", "source_time": _ts(3)}
    bad = g.defective("person", "id_check_char")
    police.publish("person", [offered, *people[1:], bad])
    assert refresh(engine, POLICE) == {"pulled": 6, "merged": 5, "unchanged": 0, "conflicts": 1, "quarantined": 1}
    row = _rows(engine, "person")[people[0]["id_no"]]
    assert row["name"] == offered["name"] and row["phone"] == people[0]["phone"]
    (conflict,) = _conflicts(engine)
    assert (conflict["field"], conflict["kept_source"], conflict["offered_source"]) == ("phone", "dept-a", POLICE)
    assert conflict["offered_value_masked"] == "139****1111" and people[0]["phone"] not in conflict["kept_value_masked"]
    with engine.connect() as conn:
        (q,) = conn.execute(select(quarantine.c.reason, quarantine.c.source_system, quarantine.c.message)).all()
    assert q[:2] == ("id_check_char", POLICE) and bad["id_no"] not in q[2]

    # the row now names the register as its source; the phone it kept is still the department's
    assert _provenance(engine, "person", people[0]["id_no"])["phone"] == "dept-a"

    # the whole register again, cut differently: nothing changes, nothing is recorded twice
    police.page_size = 2
    with engine.begin() as conn:
        conn.execute(delete(refresh_cursor).where(refresh_cursor.c.system == POLICE))
    assert refresh(engine, POLICE) == {"pulled": 6, "merged": 0, "unchanged": 6, "conflicts": 0, "quarantined": 0}
    assert count(engine, quarantine) == 1 and _rows(engine, "person")[people[0]["id_no"]]["phone"] == people[0]["phone"]

    # the sharing platform ranks first for phones: its newer phone replaces the department's
    sharing.publish("person", [{**people[0], "phone": "13700002222", "source_time": _ts(1)}])
    assert refresh(engine, SHARING)["merged"] == 1
    assert _rows(engine, "person")[people[0]["id_no"]]["phone"] == "13700002222"
    assert _provenance(engine, "person", people[0]["id_no"])["phone"] == SHARING


def test_a_malformed_change_entry_stops_the_refresh_before_its_page(engine, platform):
    sharing = platform(SHARING, page_size=2)
    sharing.publish("enterprise", [r for r, _ in Generator(seed=75).records("enterprise", 2)])
    sharing.feed.append({"kind": "case", "record": {}})
    with pytest.raises(RejectedError, match="entry 1"):
        refresh(engine, SHARING)
    assert len(_rows(engine, "enterprise")) == 2
    assert stored_cursor(engine, SHARING) == "2"


@pytest.mark.parametrize(
    "text, message",
    [
        ("kinds: {case: {default: ['*']}}", "kinds.case: case records belong to their sender"),
        ("kinds: {shop: {default: ['*']}}", "kinds.shop: unknown kind"),
        ("kinds: {person: {fields: {nickname: ['*']}}}", "kinds.person.fields.nickname: unknown field"),
        ("kinds: {person: {fields: {id_no: ['*']}}}", "kinds.person.fields.id_no: key fields"),
        ("kinds: {person: {default: [a, a]}}", "kinds.person.default: a listed more than once"),
        ("kinds: {person: {default: []}}", "kinds.person.default: name at least one source"),
        ("kinds: {person: {defaults: ['*']}}", "kinds.person.defaults: Extra inputs are not permitted"),
        ("kinds: [", "precedence.yaml"),
    ],
)
def test_precedence_file_errors_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "precedence.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PrecedenceError, match=message) as err:
        load_precedence(path)
    assert str(path) in str(err.value)


def test_the_committed_precedence_file_loads():
    p = load_precedence()
    assert set(p.kinds) == {"person", "enterprise", "project"}
    ent = p.of("enterprise")
    assert ent.rank("name", REGISTRY) < ent.rank("name", SHARING) < ent.rank("name", "dept-a")
    assert ent.rank("permits", SHARING) < ent.rank("permits", REGISTRY)
