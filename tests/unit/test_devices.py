"""Hall devices: one list of happenings, rendered by hand in every vendor format, must
normalise to the same canonical events; malformed input of every kind raises
DeviceInputError with its reason; ID numbers never appear unmasked."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.events import PERSON_KEY_ENV, SOURCE_FIELDS, PersonRef, person_key
from devices.framing import REASONS
from devices.gateway import DeviceInputError, normalise, read
from devices.halls import HallsError, load_halls
from devices.vendors import VENDORS_DIR, VendorError, load_vendor, vendors

HALL = "cs-hall"
KEY = b"unit-test-person-key"
ID_A = "11010519491231002X"
ID_B = "320581198001010013"
CST = timezone(timedelta(hours=8))
VENDORS = ("acme-json", "qline", "hallxml")


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 3, 2, hh, mm, ss)


# What happened in the hall, in canonical words. Renderers below write it the way each
# vendor's devices do; they are written from the vendors' documentation, not from the
# YAML files, so a wrong YAML entry shows up as a difference.
HAPPENINGS = [
    {
        "kind": "window",
        "device": "WT05",
        "seq": "77",
        "at": at(8, 55),
        "window": "05",
        "staff": "S0123",
        "status": "空闲",
    },
    {
        "kind": "queue",
        "action": "issued",
        "device": "QM01",
        "seq": "1001",
        "at": at(9, 0, 5),
        "ticket": "A012",
        "item": "A",
    },
    {
        "kind": "queue",
        "action": "id_read",
        "device": "QM01",
        "seq": "1002",
        "at": at(9, 0, 6),
        "ticket": "A012",
        "id": ID_A,
    },
    {
        "kind": "queue",
        "action": "called",
        "device": "QM01",
        "seq": "1003",
        "at": at(9, 12),
        "ticket": "A012",
        "window": "05",
    },
    {
        "kind": "window",
        "device": "WT05",
        "seq": "78",
        "at": at(9, 12, 30),
        "window": "05",
        "staff": "S0123",
        "status": "正在办理",
    },
    {
        "kind": "queue",
        "action": "served",
        "device": "QM01",
        "seq": "1004",
        "at": at(9, 20),
        "ticket": "A012",
        "window": "05",
    },
    {
        "kind": "evaluation",
        "device": "EP05",
        "seq": "12",
        "at": at(9, 20, 40),
        "window": "05",
        "staff": "S0123",
        "ticket": "A012",
        "case": "320581-2026-000123",
        "score": 5,
        "comment": "办事很快，谢谢",
    },
    {
        "kind": "queue",
        "action": "issued",
        "device": "QM01",
        "seq": "1005",
        "at": at(9, 30),
        "ticket": "B003",
        "item": "不动产登记",
    },
    {"kind": "queue", "action": "abandoned", "device": "QM01", "seq": "1006", "at": at(10, 1), "ticket": "B003"},
    {
        "kind": "window",
        "device": "WT05",
        "seq": "79",
        "at": at(11, 30),
        "window": "05",
        "staff": "S0123",
        "status": "暂停",
    },
    {"kind": "window", "device": "WT06", "seq": "3", "at": at(12, 0), "window": "06", "status": "未登录"},
    {
        "kind": "window",
        "device": "WT07",
        "seq": "4",
        "at": at(13, 30),
        "window": "07",
        "staff": "S0999",
        "status": "考勤异常",
    },
    {
        "kind": "evaluation",
        "device": "EP06",
        "seq": "13",
        "at": at(14, 0),
        "window": "06",
        "case": "320581-2026-000124",
        "score": 2,
    },
    {
        "kind": "queue",
        "action": "issued",
        "device": "QM01",
        "seq": "1007",
        "at": at(15, 0),
        "ticket": "C001",
        "item": "C",
        "id": ID_B,
    },
]

STATUS_LABEL = {"空闲": "空闲", "正在办理": "正在办理", "暂停": "暂停办理", "未登录": "未登录", "考勤异常": "考勤异常"}
SCORE_LABEL = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def expected(h: dict) -> dict:
    """The canonical event (without its source fields) a happening must become."""
    e = {
        "hall": HALL,
        "device_id": h["device"],
        "occurred_at": h["at"].strftime("%Y-%m-%d %H:%M:%S"),
        "kind": h["kind"],
    }
    if h["kind"] == "queue":
        e.update(action=h["action"], ticket_no=h["ticket"])
        for key, field in (("item", "item_code"), ("window", "window_no")):
            if key in h:
                e[field] = h[key]
        if "id" in h:
            e["person"] = PersonRef.from_id_number(h["id"], KEY).model_dump()
    elif h["kind"] == "window":
        e.update(window_no=h["window"], status=h["status"])
        if "staff" in h:
            e["staff_id"] = h["staff"]
    else:
        e.update(window_no=h["window"], satisfaction=h["score"], channel="4")
        for key, field in (("staff", "staff_id"), ("ticket", "ticket_no"), ("case", "case_no"), ("comment", "comment")):
            if key in h:
                e[field] = h[key]
    return e


def acme_json(h: dict) -> dict:
    types = {
        "issued": "queue.take",
        "called": "queue.call",
        "served": "queue.finish",
        "abandoned": "queue.giveup",
        "id_read": "idcard.read",
    }
    o = {
        "type": types[h["action"]]
        if h["kind"] == "queue"
        else {"window": "window.status", "evaluation": "rate"}[h["kind"]],
        "deviceId": h["device"],
        "sn": int(h["seq"]),
        "ts": int(h["at"].replace(tzinfo=CST).timestamp() * 1000),
    }
    names = {
        "ticket": "ticketNo",
        "item": "bizCode",
        "window": "windowNo",
        "staff": "staffId",
        "id": "idNo",
        "case": "caseNo",
        "score": "score",
        "comment": "remark",
    }
    o.update({names[k]: v for k, v in h.items() if k in names})
    if h["kind"] == "window":
        o["state"] = {"未登录": 0, "空闲": 1, "正在办理": 2, "暂停": 3, "考勤异常": 9}[h["status"]]
    return o


def qline(h: dict) -> str:
    types = {"issued": "QH", "called": "JH", "served": "BJ", "abandoned": "QQ", "id_read": "SFZ"}
    pairs = [
        ("LX", types[h["action"]] if h["kind"] == "queue" else {"window": "ZT", "evaluation": "PJ"}[h["kind"]]),
        ("SB", h["device"]),
        ("XH", h["seq"]),
        ("SJ", h["at"].strftime("%Y%m%d%H%M%S")),
    ]
    names = {"ticket": "PH", "item": "YW", "window": "CK", "staff": "GH", "id": "SFZH", "case": "BJBH", "comment": "YJ"}
    pairs += [(names[k], v) for k, v in h.items() if k in names]
    if h["kind"] == "window":
        pairs.append(("ZTM", {"未登录": "W", "空闲": "K", "正在办理": "B", "暂停": "Z", "考勤异常": "Y"}[h["status"]]))
    if h["kind"] == "evaluation":
        pairs.append(("MYD", str(6 - h["score"])))  # the pads count down: 1 非常满意
    return ";".join(f"{k}={v}" for k, v in pairs)


def hallxml_event(h: dict) -> str:
    types = {
        "issued": "TicketIssued",
        "called": "TicketCalled",
        "served": "TicketServed",
        "abandoned": "TicketAbandoned",
        "id_read": "IdCardRead",
    }
    fields = [
        (
            "EventType",
            types[h["action"]]
            if h["kind"] == "queue"
            else {"window": "WindowState", "evaluation": "Evaluation"}[h["kind"]],
        ),
        ("DeviceCode", h["device"]),
        ("SerialNo", h["seq"]),
        ("EventTime", h["at"].strftime("%Y-%m-%d %H:%M:%S")),
    ]
    names = {
        "ticket": "TicketNo",
        "item": "ItemCode",
        "window": "WindowNo",
        "staff": "StaffNo",
        "id": "CertNo",
        "case": "ProjectNo",
        "comment": "Content",
    }
    fields += [(names[k], v) for k, v in h.items() if k in names]
    if h["kind"] == "window":
        fields.append(("State", STATUS_LABEL[h["status"]]))
    if h["kind"] == "evaluation":
        fields.append(("Satisfaction", SCORE_LABEL[h["score"]]))
    return "<Event>" + "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fields) + "</Event>"


def render(vendor: str, happenings: list[dict]) -> bytes:
    """One payload holding ``happenings`` as ``vendor``'s devices write it."""
    if vendor == "acme-json":
        return json.dumps([acme_json(h) for h in happenings], ensure_ascii=False).encode("utf-8")
    if vendor == "qline":
        return "".join(qline(h) + "\r\n" for h in happenings).encode("gbk")
    events = "\n  ".join(hallxml_event(h) for h in happenings)
    return f'<?xml version="1.0" encoding="GBK"?>\n<HallEvents>\n  {events}\n</HallEvents>\n'.encode("gbk")


def canonical(vendor: str, payload: bytes) -> list:
    return normalise(vendor, payload, hall=HALL, person_key=KEY)


# -- same happenings, same canonical events ------------------------------------------


@pytest.mark.parametrize("kind", ["queue", "window", "evaluation"])
def test_every_vendor_gives_the_same_events_for_each_device_kind(kind):
    happenings = [h for h in HAPPENINGS if h["kind"] == kind]
    want = [expected(h) for h in happenings]
    for vendor in VENDORS:
        events = canonical(vendor, render(vendor, happenings))
        assert [e.happening() for e in events] == want, vendor
        assert {e.vendor for e in events} == {vendor} and all(e.kind == kind for e in events)


def test_a_mixed_payload_keeps_order_and_differs_only_in_source_fields():
    by_vendor = {v: canonical(v, render(v, HAPPENINGS)) for v in VENDORS}
    dumps = {v: [e.wire() for e in events] for v, events in by_vendor.items()}
    for a, b in zip(dumps["acme-json"], dumps["hallxml"]):
        assert {k for k in a if a[k] != b.get(k)} <= SOURCE_FIELDS
    assert [e.happening() for e in by_vendor["qline"]] == [expected(h) for h in HAPPENINGS]
    assert [e.routing_key for e in by_vendor["qline"]][:3] == [
        "device.window.cs-hall",
        "device.queue.cs-hall",
        "device.queue.cs-hall",
    ]


def test_event_ids_are_deterministic_so_resends_dedupe():
    payload = render("qline", HAPPENINGS)
    first = normalise("qline", payload, hall=HALL, person_key=KEY, received_at=at(16, 0))
    again = normalise("qline", payload, hall=HALL, person_key=KEY, received_at=at(17, 0))
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert len({e.event_id for e in first}) == len(HAPPENINGS)
    other_hall = normalise("qline", payload, hall="zjg-hall", person_key=KEY)
    assert not {e.event_id for e in first} & {e.event_id for e in other_hall}
    # a device that restarts its sequence in the morning does not collide with yesterday
    yesterday = dict(HAPPENINGS[1], at=at(9, 0, 5) - timedelta(days=1))
    assert canonical("qline", render("qline", [yesterday]))[0].event_id != first[1].event_id


def test_the_same_person_links_across_vendors_without_the_number():
    refs = {v: [e.person for e in canonical(v, render(v, HAPPENINGS)) if getattr(e, "person", None)] for v in VENDORS}
    assert refs["acme-json"] == refs["qline"] == refs["hallxml"]
    assert refs["qline"][0].id_masked == "110*************2X" and refs["qline"][1].id_hash != refs["qline"][0].id_hash
    assert (
        normalise("qline", render("qline", HAPPENINGS[2:3]), hall=HALL, person_key=b"another key")[0].person.id_hash
        != refs["qline"][0].id_hash
    )


def test_id_numbers_never_appear_unmasked_in_events():
    for vendor in VENDORS:
        wire = json.dumps([e.wire() for e in canonical(vendor, render(vendor, HAPPENINGS))], ensure_ascii=False)
        for number in (ID_A, ID_B):
            assert number not in wire and number[:-1] not in wire and number[6:14] not in wire


def test_the_person_key_comes_from_the_environment_or_a_file_made_once(tmp_path, monkeypatch):
    monkeypatch.delenv(PERSON_KEY_ENV, raising=False)
    made = person_key(tmp_path / "home")
    assert len(made) == 64 and person_key(tmp_path / "home") == made
    assert (tmp_path / "home" / "person.key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv(PERSON_KEY_ENV, "from-the-environment")
    assert person_key(tmp_path / "home") == b"from-the-environment"


def test_free_text_is_masked():
    h = dict(HAPPENINGS[6], comment=f"请回电 13812345678，身份证 {ID_B}")
    for vendor in VENDORS:
        (e,) = canonical(vendor, render(vendor, [h]))
        assert "13812345678" not in e.comment and ID_B not in e.comment and "请回电" in e.comment


_chinese = (
    st.text(alphabet="办事很快好慢窗口服务态度热情满意谢谢ABCxyz0123 ", min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
_code = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=8)
_when = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
_common = {"device": _code, "seq": st.integers(0, 10**9).map(str), "at": _when}
_happening = st.one_of(
    st.fixed_dictionaries(
        {
            "kind": st.just("queue"),
            "action": st.sampled_from(["called", "served"]),
            "ticket": _code,
            "window": _code,
            **_common,
        }
    ),
    st.fixed_dictionaries(
        {"kind": st.just("queue"), "action": st.just("issued"), "ticket": _code, "item": _chinese, **_common}
    ),
    st.fixed_dictionaries(
        {"kind": st.just("window"), "window": _code, "status": st.sampled_from(list(STATUS_LABEL)), **_common},
        optional={"staff": _code},
    ),
    st.fixed_dictionaries(
        {"kind": st.just("evaluation"), "window": _code, "ticket": _code, "score": st.integers(1, 5), **_common},
        optional={"staff": _code, "case": _code, "comment": _chinese},
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_happening, min_size=1, max_size=6))
def test_any_happenings_read_the_same_in_every_vendor_format(happenings):
    want = [expected(h) for h in happenings]
    for vendor in VENDORS:
        assert [e.happening() for e in canonical(vendor, render(vendor, happenings))] == want, vendor


# -- malformed input -------------------------------------------------------------------

CALL = {
    "kind": "queue",
    "action": "called",
    "device": "QM01",
    "seq": "9",
    "at": at(9, 0),
    "ticket": "A1",
    "window": "05",
}
READ = {"kind": "queue", "action": "id_read", "device": "QM01", "seq": "10", "at": at(9, 1), "ticket": "A1"}
WRONG_CHECK = ID_B[:-1] + "4"


def _acme(**changes) -> bytes:
    o = acme_json(CALL)
    o.update(changes)
    return json.dumps({k: v for k, v in o.items() if v is not None}, ensure_ascii=False).encode("utf-8")


def _xml(body: str, encoding: str = "UTF-8") -> bytes:
    return f'<?xml version="1.0" encoding="{encoding}"?><HallEvents>{body}</HallEvents>'.encode(
        "gbk" if encoding == "GBK" else "utf-8"
    )


MALFORMED = [
    ("acme-json", b'{"type": "queue.call", "deviceId": ', "json_malformed", None),
    ("acme-json", b"", "json_malformed", None),
    ("acme-json", b"[]", "payload_empty", None),
    ("acme-json", b"[1]", "json_malformed", None),
    (
        "acme-json",
        json.dumps(dict(acme_json(HAPPENINGS[6]), remark="好"), ensure_ascii=False).encode("gbk"),
        "encoding_invalid",
        None,
    ),
    ("acme-json", _acme(type="queue.teleport"), "type_unknown", None),
    ("acme-json", _acme(type=None), "field_missing", "'type'"),
    ("acme-json", _acme(windowNo=None), "field_missing", "windowNo"),
    ("acme-json", _acme(deviceId=None), "field_missing", "deviceId"),
    ("acme-json", _acme(ts="yesterday"), "time_invalid", "'ts'"),
    ("acme-json", _acme(ts=1.5), "field_format", "'ts'"),
    ("acme-json", _acme(ticketNo={"no": "A1"}), "field_format", "ticketNo"),
    ("acme-json", _acme(ticketNo=ID_B), "field_format", "ticketNo"),
    ("acme-json", _acme(ticketNo="A 1;"), "field_format", "ticketNo"),
    ("acme-json", json.dumps(dict(acme_json(HAPPENINGS[0]), state=7)).encode(), "code_unknown", "state"),
    ("acme-json", json.dumps(dict(acme_json(HAPPENINGS[6]), score=6)).encode(), "field_format", "score"),
    (
        "acme-json",
        json.dumps(dict(acme_json(HAPPENINGS[6]), ticketNo=None, caseNo=None)).encode(),
        "field_missing",
        None,
    ),
    ("acme-json", json.dumps(acme_json(READ)).encode(), "field_missing", "idNo"),
    ("acme-json", json.dumps(dict(acme_json(READ), idNo=WRONG_CHECK)).encode(), "id_invalid", "check character"),
    ("acme-json", json.dumps(dict(acme_json(READ), idNo=ID_B[:16])).encode(), "id_invalid", None),
    ("qline", "LX=PJ;SB=EP05;XH=1;SJ=20260302090000;CK=05;PH=A1;MYD=1;YJ=意".encode(), "encoding_invalid", "gbk"),
    ("qline", b"LX=JH;SB=QM01;XH=9;SJ=20260302090000;PH=A1;CK", "line_malformed", "part 6"),
    ("qline", b"LX=JH;SB=QM01;XH=9;XH=10;SJ=20260302090000;PH=A1;CK=05", "line_malformed", "'XH'"),
    ("qline", b"LX=JH;SB=QM01;XH=9;SJ=20260302090000;PH=A1;CK=05;YJ=" + b"x" * 3000, "line_too_long", "2048"),
    ("qline", b"LX=ZT;SB=WT05;XH=9;SJ=20260302090000;CK=05;ZTM=Q", "code_unknown", "ZTM"),
    ("qline", b"LX=PJ;SB=EP05;XH=1;SJ=20260302090000;CK=05;PH=A1;MYD=9", "code_unknown", "MYD"),
    ("qline", b"LX=JH;SB=QM01;XH=9;SJ=2026-03-02 09:00;PH=A1;CK=05", "time_invalid", "'SJ'"),
    ("qline", b"LX=JH;SB=QM01;XH=9;SJ=20260230090000;PH=A1;CK=05", "time_invalid", "'SJ'"),
    ("qline", f"LX=SFZ;SB=QM01;XH=9;SJ=20260302090000;PH=A1;SFZH={WRONG_CHECK}".encode(), "id_invalid", "SFZH"),
    ("qline", b" \r\n\r\n", "payload_empty", None),
    ("hallxml", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><HallEvents/>', "xml_forbidden", "DOCTYPE"),
    ("hallxml", b'<!DOCTYPE HallEvents SYSTEM "file:///etc/passwd"><HallEvents/>', "xml_forbidden", None),
    ("hallxml", _xml(hallxml_event(CALL))[:-5], "xml_malformed", None),
    ("hallxml", b"<Events>" + hallxml_event(CALL).encode() + b"</Events>", "xml_malformed", "<HallEvents>"),
    ("hallxml", _xml("<Ticket/>"), "xml_malformed", "<Event>"),
    (
        "hallxml",
        _xml(hallxml_event(dict(HAPPENINGS[6], comment="好"))).replace(b"UTF-8", b"GBK"),
        "encoding_invalid",
        None,
    ),
    (
        "hallxml",
        _xml(hallxml_event(dict(HAPPENINGS[6], comment="好")), "GBK").replace(b"GBK", b"UTF-8"),
        "encoding_invalid",
        "UTF-8",
    ),
    ("hallxml", _xml(hallxml_event(HAPPENINGS[0]).replace("空闲", "休息")), "code_unknown", "State"),
    ("hallxml", _xml(hallxml_event(CALL).replace("<WindowNo>05</WindowNo>", "")), "field_missing", "WindowNo"),
    (
        "hallxml",
        _xml(hallxml_event(CALL).replace("<TicketNo>A1</TicketNo>", "<TicketNo><No>A1</No></TicketNo>")),
        "field_format",
        "TicketNo",
    ),
    ("no-such-vendor", b"{}", "vendor_unknown", "acme-json"),
]


@pytest.mark.parametrize(
    "vendor,payload,reason,hint", MALFORMED, ids=[f"{v}:{r}:{i}" for i, (v, _, r, _) in enumerate(MALFORMED)]
)
def test_malformed_input_raises_with_a_clear_reason(vendor, payload, reason, hint):
    with pytest.raises(DeviceInputError) as exc:
        canonical(vendor, payload)
    assert exc.value.reason == reason, exc.value.message
    assert reason in REASONS and len(exc.value.message) > 15
    if hint:
        assert hint in exc.value.message
    for number in (ID_B, WRONG_CHECK, ID_B[:16]):
        assert number not in exc.value.message


def test_one_bad_event_does_not_spoil_the_others():
    payload = render("qline", HAPPENINGS[:3]) + b"LX=JH;SB=QM01\r\n" + render("qline", HAPPENINGS[3:5])
    items = read("qline", payload, hall=HALL, person_key=KEY)
    assert [it.position for it in items] == [1, 2, 3, 4, 5, 6]
    assert [it.error.reason if it.error else "ok" for it in items] == ["ok", "ok", "ok", "field_missing", "ok", "ok"]
    assert items[3].fragment == b"LX=JH;SB=QM01" and items[3].error.message.startswith("line 4: ")
    with pytest.raises(DeviceInputError):
        normalise("qline", payload, hall=HALL, person_key=KEY)


# -- vendor and hall files are checked on load -----------------------------------------


def test_shipped_vendor_files_load():
    assert set(vendors()) >= set(VENDORS)
    for v in vendors().values():
        assert {t.kind for t in v.types.values()} == {"queue", "window", "evaluation"}


@pytest.mark.parametrize(
    "change,where",
    [
        (lambda t: t.replace("time_format: epoch_ms", "time_format: whenever"), ":13: time_format: time_format is"),
        (lambda t: t.replace("  ticket_no: ticketNo\n", "  ticket_nr: ticketNo\n"), ": fields:"),
        (
            lambda t: t.replace("  window_no: windowNo\n", ""),
            ":16: types.queue.take: a queue event needs fields.window_no",
        ),
        (
            lambda t: t.replace("queue.call: {kind: queue, action: called}", "queue.call: {kind: queue}"),
            ":17: types.queue.call: action: queue types need",
        ),
        (lambda t: t.replace("3: 暂停", "3: 休息"), ": code_tables:"),
        (lambda t: t.replace("name: acme-json", "name: acme"), ":9: name: 'acme' must match the file name"),
        (lambda t: t.replace("encoding: utf-8", "encoding: klingon"), ":12: encoding: unknown encoding"),
    ],
)
def test_a_bad_vendor_file_fails_with_file_line_and_key(tmp_path, change, where):
    text = (VENDORS_DIR / "acme-json.yaml").read_text(encoding="utf-8")
    path = tmp_path / "acme-json.yaml"
    path.write_text(change(text), encoding="utf-8")
    with pytest.raises(VendorError) as exc:
        load_vendor(path)
    assert str(exc.value).startswith(str(path)) and where in str(exc.value), str(exc.value)


@pytest.mark.parametrize(
    "entry,where",
    [
        ({"id": "hall one", "name": "x", "region_code": "320581"}, "halls.0.id"),
        ({"id": "h1", "name": "x", "region_code": "999999"}, "halls.0.region_code"),
        ({"id": "h1", "name": "x", "region_code": "320581", "api_key_sha256": "abc"}, "halls.0.api_key_sha256"),
        ({"id": "h1", "name": "x", "region_code": "320581", "vendors": ["qline"]}, "halls.0.vendors"),
    ],
)
def test_a_bad_halls_file_fails_with_file_and_key(tmp_path, entry, where):
    path = tmp_path / "halls.yaml"
    path.write_text(json.dumps({"halls": [entry]}), encoding="utf-8")
    with pytest.raises(HallsError) as exc:
        load_halls(path)
    assert str(exc.value).startswith(f"{path}: {where}")
