"""The hall-device gateway on a real database and bus (SQLite / PostgreSQL, embedded /
RabbitMQ): events stored once even when resent, published on govhub.events, malformed
input quarantined with its reason and original bytes, events kept while the bus is
away, queue statistics of a scripted day, the HTTP endpoint and the line listener."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from datetime import date

import pytest
import yaml
from kombu import Consumer, Queue
from sqlalchemy import select
from starlette.testclient import TestClient

from devices.events import SOURCE_FIELDS
from devices.gateway import Gateway
from devices.store import device_event, insert_new
from hub.bus import topology as bus
from hub.catalog.authn import sha256_hex
from hub.core.config import load_settings
from tests.helpers import count, outcomes, quarantine_rows
from tests.unit.test_devices import HALL, HAPPENINGS, ID_A, KEY, VENDORS, at, expected, render

HALL_KEY = "hall-key-" + uuid.uuid4().hex


@pytest.fixture(autouse=True)
def _device_table(engine):
    # Until the hub's migrations create device_event; a no-op afterwards.
    device_event.create(engine, checkfirst=True)


@pytest.fixture
def local_settings(db_url, tmp_path):
    """For tests that need a bus but not a particular one: the embedded transport."""
    return load_settings(
        {
            "GOVHUB_HOME": str(tmp_path / "home"),
            "GOVHUB_DB_URL": db_url,
            "GOVHUB_BROKER_URL": f"govhub+sqlite:///{tmp_path / 'bus.db'}",
        }
    )


def _gateway(settings, engine):
    return Gateway(settings, engine, key=KEY)


def _tap(settings) -> Queue:
    queue = Queue(f"govhub.test.devices.{uuid.uuid4().hex[:12]}", bus.EVENTS, routing_key="device.#", durable=False)
    with bus.connect(settings) as conn:
        queue(conn.default_channel).declare()
    return queue


def _untap(settings, queue: Queue) -> None:
    with bus.connect(settings) as conn:
        queue(conn.default_channel).delete()


def _drain(settings, queue: Queue, expect: int, linger: float = 1.0) -> list[tuple[str, str, dict]]:
    """(routing key, message id, body) of every message, waiting a little past ``expect``
    so that an extra message would be seen."""
    got = []

    def take(body, message):
        got.append((message.delivery_info["routing_key"], message.properties.get("message_id"), body))
        message.ack()

    with bus.connect(settings) as conn:
        with Consumer(conn.channel(), queues=[queue], callbacks=[take], accept=["json"]):
            deadline = time.monotonic() + 15
            quiet_until = None
            while time.monotonic() < deadline:
                try:
                    conn.drain_events(timeout=0.3)
                except (TimeoutError, OSError):
                    pass
                if len(got) >= expect:
                    quiet_until = quiet_until or time.monotonic() + linger
                    if time.monotonic() > quiet_until:
                        break
    return got


def _rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(device_event).order_by(device_event.c.id))]


def test_events_are_stored_once_and_published_once(settings, engine):
    tap = _tap(settings)
    gateway = _gateway(settings, engine)
    try:
        first = {v: gateway.receive(HALL, v, render(v, HAPPENINGS)) for v in VENDORS}
        again = {v: gateway.receive(HALL, v, render(v, HAPPENINGS)) for v in VENDORS}
        messages = _drain(settings, tap, 3 * len(HAPPENINGS))
    finally:
        gateway.close()
        _untap(settings, tap)
    n = len(HAPPENINGS)
    assert all(r.counts() == {"stored": n, "duplicate": 0, "quarantined": 0} for r in first.values())
    assert all(r.counts() == {"stored": 0, "duplicate": n, "quarantined": 0} for r in again.values())
    rows = _rows(engine)
    assert len(rows) == 3 * n and all(r["published_at"] is not None for r in rows)
    # every stored event went out exactly once, as stored, under its id and routing key
    assert len(messages) == 3 * n
    by_id = {r["event_id"]: r for r in rows}
    assert {m[1] for m in messages} == set(by_id)
    for key, mid, body in messages:
        assert body == by_id[mid]["body"] and key == f"device.{body['kind']}.{HALL}"
    for vendor in VENDORS:
        bodies = [b for _, _, b in messages if b["vendor"] == vendor]
        assert [{k: v for k, v in b.items() if k not in SOURCE_FIELDS} for b in bodies] == [
            expected(h) for h in HAPPENINGS
        ]
    assert ID_A not in json.dumps([m[2] for m in messages], ensure_ascii=False)


def test_malformed_input_is_quarantined_not_dropped(local_settings, engine):
    gateway = _gateway(local_settings, engine)
    dtd = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><HallEvents/>'
    bad_status = "LX=ZT;SB=WT05;XH=80;SJ=20260302120000;CK=05;ZTM=Q".encode("gbk")
    bad_id = f"LX=SFZ;SB=QM01;XH=81;SJ=20260302120100;PH=A012;SFZH={ID_A[:-1]}1".encode("gbk")
    not_gbk = "LX=PJ;SB=EP05;XH=82;SJ=20260302120200;CK=05;PH=A1;MYD=1;YJ=意".encode()
    batch = (
        render("qline", HAPPENINGS[:2])
        + bad_status
        + b"\r\n"
        + bad_id
        + b"\n"
        + not_gbk
        + b"\n"
        + render("qline", HAPPENINGS[2:3])
    )
    try:
        refused = gateway.receive(HALL, "hallxml", dtd)
        mixed = gateway.receive(HALL, "qline", batch)
        gateway.receive(HALL, "hallxml", dtd)  # a device resending the same bytes
        gateway.receive(HALL, "qline", batch)
    finally:
        gateway.close()
    assert refused.refused.reason == "xml_forbidden" and refused.counts()["quarantined"] == 1
    assert [(r.position, r.outcome, r.reason) for r in mixed.results] == [
        (1, "stored", None),
        (2, "stored", None),
        (3, "quarantined", "code_unknown"),
        (4, "quarantined", "id_invalid"),
        (5, "quarantined", "encoding_invalid"),
        (6, "stored", None),
    ]
    assert count(engine, device_event) == 3
    rows = {r["reason"]: r for r in quarantine_rows(engine)}
    assert sorted(rows) == ["code_unknown", "encoding_invalid", "id_invalid", "xml_forbidden"]  # once each
    assert all(
        r["kind"] == "device" and r["source_system"] == f"hall:{HALL}" and r["status"] == "open" for r in rows.values()
    )
    assert rows["xml_forbidden"]["payload"] == dtd.decode() and rows["xml_forbidden"]["rule"] == "devices/hallxml"
    assert rows["code_unknown"]["payload"] == bad_status.decode("gbk") and "ZTM" in rows["code_unknown"]["message"]
    assert (
        rows["encoding_invalid"]["payload"] == not_gbk.decode("utf-8")
        and "line 5 is not gbk" in rows["encoding_invalid"]["message"]
    )
    assert ID_A[:-1] not in rows["id_invalid"]["message"] and "check character" in rows["id_invalid"]["message"]
    assert outcomes(engine, f"hall:{HALL}") == {"quarantined": 4}


def test_events_wait_while_the_bus_is_away(local_settings, engine, db_url, tmp_path):
    away = load_settings(
        {
            "GOVHUB_HOME": str(tmp_path / "home"),
            "GOVHUB_DB_URL": db_url,
            "GOVHUB_BROKER_URL": "amqp://guest:guest@127.0.0.1:1//",
        }
    )
    down = _gateway(away, engine)
    try:
        receipt = down.receive(HALL, "acme-json", render("acme-json", HAPPENINGS[:4]))
    finally:
        down.close()
    assert receipt.counts()["stored"] == 4
    assert [r["published_at"] for r in _rows(engine)] == [None] * 4
    tap = _tap(local_settings)
    up = _gateway(local_settings, engine)
    try:
        assert up.flush() == 4 and up.flush() == 0
        messages = _drain(local_settings, tap, 4, linger=0.3)
    finally:
        up.close()
        _untap(local_settings, tap)
    assert len(messages) == 4 and all(r["published_at"] for r in _rows(engine))


_SEQ = itertools.count(1)


def _q(action, ticket, when, *, item=None, window=None, hall=HALL):
    h = {"kind": "queue", "action": action, "device": "QM01", "seq": str(next(_SEQ)), "at": when, "ticket": ticket}
    if item:
        h["item"] = item
    if window:
        h["window"] = window
    return hall, h


def test_queue_statistics_by_hour(engine):
    from devices.gateway import normalise
    from devices.stats import queue_stats

    day = [
        _q("issued", "A001", at(9, 0), item="A"),
        _q("called", "A001", at(9, 5), window="01"),
        _q("served", "A001", at(9, 15), window="01"),
        _q("issued", "A002", at(9, 10), item="A"),
        _q("called", "A002", at(9, 20), window="02"),
        _q("called", "A002", at(9, 22), window="02"),
        _q("served", "A002", at(9, 32), window="02"),  # called twice
        _q("issued", "B001", at(9, 20), item="B"),
        _q("called", "B001", at(9, 30), window="01"),
        _q("abandoned", "B001", at(9, 33)),  # 过号: called, never came
        _q("issued", "A003", at(9, 50), item="A"),
        _q("abandoned", "A003", at(9, 55)),  # left before the call
        _q("issued", "A004", at(10, 0), item="A"),
        _q("called", "A004", at(10, 2), window="01"),
        _q("served", "A004", at(10, 6), window="01"),
        _q("called", "Z009", at(10, 10), window="02"),  # its issue was never reported
        _q("issued", "A001", at(9, 0).replace(day=1), item="A"),  # the day before
        _q("issued", "A001", at(9, 0), item="A", hall="zjg-hall"),  # another hall
    ]
    events = [e for hall, h in day for e in normalise("acme-json", render("acme-json", [h]), hall=hall, person_key=KEY)]
    with engine.begin() as conn:
        insert_new(conn, events)
    result = queue_stats(engine, date(2026, 3, 2), HALL)
    table = {
        (r.dimension, r.hour, r.key): (
            r.tickets,
            r.called,
            r.served,
            r.abandoned,
            r.abandon_rate,
            r.wait_avg_s,
            r.wait_max_s,
            r.service_avg_s,
            r.service_max_s,
        )
        for r in result.rows
    }
    assert table == {
        ("item", 9, "A"): (3, 2, 2, 1, 0.3333, 450, 600, 600, 600),
        ("item", 9, "B"): (1, 1, 0, 1, 1.0, 600, 600, None, None),
        ("item", 10, "A"): (1, 1, 1, 0, 0.0, 120, 120, 240, 240),
        ("window", 9, "01"): (2, 2, 1, 1, 0.5, 450, 600, 600, 600),
        ("window", 9, "02"): (1, 1, 1, 0, 0.0, 600, 600, 600, 600),
        ("window", 10, "01"): (1, 1, 1, 0, 0.0, 120, 120, 240, 240),
    }
    assert result.unmatched == {HALL: 1}
    doc = json.loads(json.dumps(result.as_dict()))
    assert doc["date"] == "2026-03-02" and doc["hall"] == HALL
    assert doc["by_item"][0] == {
        "hall": HALL,
        "hour": "09:00",
        "key": "A",
        "tickets": 3,
        "called": 2,
        "served": 2,
        "abandoned": 1,
        "abandon_rate": 0.3333,
        "wait_avg_s": 450,
        "wait_max_s": 600,
        "service_avg_s": 600,
        "service_max_s": 600,
    }
    assert [(r["hour"], r["key"]) for r in doc["by_window"]] == [("09:00", "01"), ("09:00", "02"), ("10:00", "01")]
    everywhere = queue_stats(engine, date(2026, 3, 2))
    assert {r.hall for r in everywhere.rows} == {HALL, "zjg-hall"}


@pytest.fixture
def halls(tmp_path, monkeypatch):
    from devices.halls import _halls_at

    path = tmp_path / "halls.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "halls": [
                    {
                        "id": HALL,
                        "name": "常熟市政务服务中心",
                        "region_code": "320581",
                        "api_key_sha256": sha256_hex(HALL_KEY),
                    },
                    {"id": "zjg-hall", "name": "张家港市政务服务中心", "region_code": "320582"},
                ]
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("GOVHUB_HALLS", str(path))
    _halls_at.cache_clear()
    yield path
    _halls_at.cache_clear()


def test_http_endpoint(local_settings, engine, halls):
    from devices.http import MAX_BODY, create_app

    app = create_app(local_settings, engine)
    app.state.gateway.person_key = KEY
    key = {"X-Api-Key": HALL_KEY}
    with TestClient(app) as client:
        assert client.post("/devices/qline", content=b"x").status_code == 401
        assert (
            client.post("/devices/qline", content=b"x", headers={"X-Api-Key": "wrong"}).json()["error"]
            == "bad_credentials"
        )
        ok = client.post("/devices/acme-json", content=render("acme-json", HAPPENINGS), headers=key)
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert (body["hall"], body["received"], body["stored"], body["duplicate"]) == (
            HALL,
            len(HAPPENINGS),
            len(HAPPENINGS),
            0,
        )
        assert body["events"][2]["position"] == 3 and body["events"][2]["kind"] == "queue"
        assert client.post("/devices/acme-json", content=render("acme-json", HAPPENINGS), headers=key).json()[
            "duplicate"
        ] == len(HAPPENINGS)
        lines = render("qline", HAPPENINGS[:2]) + b"LX=JH;SB=QM01;XH=9\r\n"
        mixed = client.post(
            "/devices/qline", content=lines, headers={**key, "Content-Type": "text/plain; charset=GBK"}
        ).json()
        assert (mixed["stored"], mixed["quarantined"]) == (2, 1)
        assert (
            mixed["events"][2]
            == {
                "position": 3,
                "outcome": "quarantined",
                "reason": "field_missing",
                "message": mixed["events"][2]["message"],
            }
            and "line 3" in mixed["events"][2]["message"]
        )
        dtd = client.post("/devices/hallxml", content=b'<!DOCTYPE x [<!ENTITY a "b">]><HallEvents/>', headers=key)
        assert dtd.status_code == 400 and dtd.json()["error"] == "xml_forbidden" and dtd.json()["quarantined"] is True
        unknown = client.post("/devices/telepathy", content=b"{}", headers=key)
        assert unknown.status_code == 404 and "acme-json" in unknown.json()["message"]
        assert client.post("/devices/acme-json", content=b"[" + b" " * MAX_BODY + b"]", headers=key).status_code == 413
        assert client.get("/devices/acme-json").status_code == 405
        assert ID_A not in ok.text + json.dumps(mixed)
    assert count(engine, device_event) == len(HAPPENINGS) + 2
    assert sorted(r["reason"] for r in quarantine_rows(engine)) == ["field_missing", "vendor_unknown", "xml_forbidden"]


def test_line_listener(local_settings, engine, halls):
    from devices.linefeed import MAX_LINE, serve_lines

    gateway = _gateway(local_settings, engine)

    async def talk(lines: list[bytes]) -> list[str]:
        server = await serve_lines(gateway, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for line in lines:
                writer.write(line)
            writer.write_eof()
            answers = [a.decode().strip() for a in await asyncio.wait_for(_all_lines(reader), 20)]
            writer.close()
            return answers
        finally:
            server.close()
            await server.wait_closed()

    good = [qline_line for qline_line in render("qline", HAPPENINGS[:3]).split(b"\r\n") if qline_line]
    try:
        answers = asyncio.run(
            talk(
                [
                    f"HELLO {HALL} {HALL_KEY}\n".encode(),
                    good[0] + b"\n",
                    b"\n",
                    good[1] + b"\r\n",
                    b"LX=ZT;SB=WT05;XH=9;SJ=20260302090000;CK=05;ZTM=Q\n",
                    b"LX=PJ;YJ=" + b"x" * (MAX_LINE + 10) + b"\n",
                    good[0] + b"\n",
                    good[2],
                ]
            )
        )
        refused = asyncio.run(talk([f"HELLO zjg-hall {HALL_KEY}\n".encode(), good[0] + b"\n"]))
    finally:
        gateway.close()
    assert answers[0] == f"OK {HALL}"
    assert [a.split()[:3] for a in answers[1:]] == [
        ["ACK", "1", "stored"],
        ["ACK", "2", "stored"],
        ["NAK", "3", "code_unknown"],
        ["NAK", "4", "line_too_long"],
        ["ACK", "5", "duplicate"],
        ["ACK", "6", "stored"],
    ]
    assert refused == ["NAK 0 bad_credentials send HELLO <hall> <api key> first"]
    assert count(engine, device_event) == 3
    long_row = next(r for r in quarantine_rows(engine) if r["reason"] == "line_too_long")
    assert len(long_row["payload"]) == MAX_LINE


async def _all_lines(reader) -> list[bytes]:
    out = []
    while line := await reader.readline():
        out.append(line)
    return out
