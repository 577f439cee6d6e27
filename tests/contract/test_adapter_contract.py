"""The contract every adapter keeps, run against each adapter that has a live peer here:
capabilities are a frozen record and match what the adapter does; ping works; what is
written reads back byte for byte with a message id that survives a restart until it is
acknowledged; ``read(limit)`` takes at most ``limit``; close twice is harmless; a peer
that is not there is a ``TransientError``, never a raw driver exception; bad options are
``ConfigError`` and rejected credentials ``AuthError``.

Each row of ``PEERS`` is a factory that starts (or finds) a peer and returns a ``Peer``:
the adapter URL that reads back what it writes, a URL where no peer answers, and the
configurations that must be refused. Adding an adapter to the contract is adding one
factory and one row. REST and SOAP peers answer elsewhere than they are written to, so
they write a canonical case (``envelope``) and stay out of the read-back tests.
"""

from __future__ import annotations

import dataclasses
import socket
import uuid
from dataclasses import dataclass, field

import pytest

from adapters.base import Capabilities, Envelope
from adapters.errors import AuthError, ConfigError, TransientError
from adapters.registry import open_adapter
from tests.conftest import AMQP_URL, amqp_url, require_service


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Bad:
    """A configuration that must be refused with ``error`` — at construction
    (``op="open"``) or at the latest on ``op`` (ping, read, write)."""

    label: str
    url: str
    op: str = "open"
    options: dict = field(default_factory=dict)
    error: type = ConfigError
    known_bug: str | None = None  # a refusal known to be missing: xfails until fixed, then fails


@dataclass
class Peer:
    url: str  # an adapter that reads back what it writes, on an empty peer
    unreachable: str  # the same adapter where no peer answers
    unreachable_ops: tuple[str, ...] = ("ping", "read", "write")
    bad: list[Bad] = field(default_factory=list)
    envelope: object = None  # what this peer accepts on write (default: a small XML document)


def file_peer(request) -> Peer:
    root = request.getfixturevalue("tmp_path") / "file-peer"
    root.mkdir()
    return Peer(
        f"file://{root}",
        f"file://{root}/missing",
        ("ping", "read"),
        bad=[Bad("a host in a file URL", f"file://fileserver{root}", "read")],
    )


def fault_file_peer(request) -> Peer:
    root = request.getfixturevalue("tmp_path") / "fault-file-peer"
    root.mkdir()
    url = f"fault+file://{root}"
    return Peer(url, f"{url}?down=1", bad=[Bad("fail_writes not a number", f"{url}?fail_writes=many")])


def sftp_peer(request) -> Peer:
    server = request.getfixturevalue("sftp_server")
    empty_known_hosts = request.getfixturevalue("tmp_path") / "known_hosts"
    empty_known_hosts.write_text("")
    good = server.url("/drop", stable_seconds=0)
    return Peer(
        good,
        f"sftp://dept@127.0.0.1:{closed_port()}/drop?password=x&insecure_host_key=1&timeout=3",
        bad=[
            Bad("unknown option", good + "&patern=*.xml"),
            Bad("no credentials", f"sftp://dept@127.0.0.1:{server.port}/drop?insecure_host_key=1"),
            Bad("stable_seconds not a number", good + "&stable_seconds=soon"),
            Bad("host key fingerprint differs", server.url("/drop", host_key="SHA256:" + "A" * 43), "ping"),
            Bad(
                "host not in known_hosts",
                f"sftp://dept@127.0.0.1:{server.port}/drop?known_hosts={empty_known_hosts}",
                "ping",
                {"password": server.state.password},
            ),
            Bad("remote folder missing", server.url("/no-such-folder", stable_seconds=0), "read"),
            Bad("wrong password", server.url("/drop", password="wrong"), "ping", error=AuthError),
        ],
    )


def amqp_peer(request) -> Peer:
    require_service("RabbitMQ", AMQP_URL, 5672)
    from kombu import Connection, Exchange, Queue

    # this test's own queue and exchange (never govhub.inbound / govhub.dead: other tests use them)
    name = f"govhub.test.contract.{uuid.uuid4().hex[:12]}"
    exchange = Exchange(name, "direct", durable=False)
    queue = Queue(name, exchange, routing_key="contract", durable=False)
    with Connection(amqp_url(), connect_timeout=5) as conn:
        exchange(conn.default_channel).declare()
        queue(conn.default_channel).declare()

    def delete():
        with Connection(amqp_url(), connect_timeout=5) as conn:
            queue(conn.default_channel).delete()
            exchange(conn.default_channel).delete()

    request.addfinalizer(delete)
    base = amqp_url().split("?")[0]
    good = f"{base}?queue={name}&exchange={name}&routing_key=contract"
    host = base.split("@")[-1].split("/")[0]
    return Peer(
        good,
        good.replace(host, f"127.0.0.1:{closed_port()}") + "&timeout=3",
        bad=[
            Bad("unknown option", good + "&routing=x"),
            Bad("no queue to read from", f"{base}?exchange={name}&routing_key=contract", "read"),
            Bad("queue missing", f"{base}?queue={name}.missing", "read"),
            Bad("exchange missing", f"{base}?exchange={name}.missing&routing_key=contract", "write"),
            Bad("no queue bound for the key", f"{base}?exchange={name}&routing_key=nobody", "write"),
            Bad("wrong password", f"amqp://govhub-contract:wrong@{host}/?queue={name}", "ping", error=AuthError),
        ],
    )


def _case_envelope(fmt: str):
    def make(tag: str = "") -> Envelope:
        from synth.generator import Generator, write_xml

        token = uuid.uuid4().hex[:12]
        case = next(Generator(seed=71, departments=["常熟市行政审批局"]).records("case", 1))[0]
        case["case_no"] = f"CONTRACT{token}"
        if fmt == "json":
            import json

            body = json.dumps({"records": [case]}, ensure_ascii=False).encode()
        else:
            import io

            buf = io.BytesIO()
            write_xml(iter([case]), "case", buf, message_id=f"contract-{token}")
            body = buf.getvalue()
        return Envelope(body, f"contract-{token}", kind="case", format=fmt)

    return make


def rest_peer(request) -> Peer:
    from sandbox.dept_rest import DeptState, make_app
    from sandbox.server import run_in_thread

    base, stop = run_in_thread(make_app(DeptState(), api_key="contract-key"))
    request.addfinalizer(stop)
    mp = request.getfixturevalue("monkeypatch")
    mp.setenv("GOVHUB_CONTRACT_REST_KEY", "contract-key")
    mp.setenv("GOVHUB_CONTRACT_REST_WRONG", "wrong-key")
    hostport = base.split("://")[1]
    good = (
        f"rest://{hostport}/api?push_path=/case&pull_path=/case/results&ping_path=/case/results"
        "&api_key_env=GOVHUB_CONTRACT_REST_KEY&retries=0"
    )
    return Peer(
        good,
        f"rest://127.0.0.1:{closed_port()}/api?push_path=/case&pull_path=/x&retries=0&timeout=3",
        bad=[
            Bad("API key variable not set", f"rest://{hostport}/api?api_key_env=GOVHUB_CONTRACT_UNSET"),
            Bad("no pull path to read", f"rest://{hostport}/api?api_key_env=GOVHUB_CONTRACT_REST_KEY", "read"),
            Bad(
                "wrong API key",
                good.replace("GOVHUB_CONTRACT_REST_KEY", "GOVHUB_CONTRACT_REST_WRONG"),
                "write",
                error=AuthError,
            ),
        ],
        envelope=_case_envelope("json"),
    )


def soap_peer(request) -> Peer:
    from sandbox.province_soap import ProvinceState, make_app
    from sandbox.server import run_in_thread

    base, stop = run_in_thread(make_app(ProvinceState(username="govhub", password="contract-pw")))
    request.addfinalizer(stop)
    hostport = base.split("://")[1]
    good = f"soap://{hostport}/exchange?username=govhub&password=contract-pw&pull=GetItemCatalogue&pull.region_code=3205&timeout=10"
    return Peer(
        good,
        f"soap://127.0.0.1:{closed_port()}/exchange?username=govhub&password=x&pull=GetItemCatalogue&timeout=3",
        bad=[Bad("wrong password", good.replace("contract-pw", "wrong"), "write", error=AuthError)],
        envelope=_case_envelope("xml"),
    )


PEERS: list = [
    pytest.param(file_peer, id="file"),
    pytest.param(rest_peer, id="rest"),
    pytest.param(soap_peer, id="soap"),
    pytest.param(sftp_peer, id="sftp"),
    pytest.param(amqp_peer, id="amqp", marks=pytest.mark.rabbitmq),
    pytest.param(fault_file_peer, id="fault+file"),
]


# rows whose read returns what their write sent (a REST or SOAP peer answers elsewhere)
READS_BACK = {"file", "sftp", "amqp", "fault+file"}


@pytest.fixture(params=PEERS)
def peer(request) -> Peer:
    return request.param(request)


@pytest.fixture(params=[p for p in PEERS if p.id in READS_BACK])
def loop_peer(request) -> Peer:
    return request.param(request)


def _envelope(tag: str = "") -> Envelope:
    token = uuid.uuid4().hex[:12]
    body = f'<?xml version="1.0" encoding="utf-8"?>\n<contract id="{token}">办件 {tag}</contract>\n'.encode()
    return Envelope(body, f"contract-{token}", filename=f"contract-{token}.xml")


def _call(adapter, op: str, envelope=None):
    if op == "ping":
        return adapter.ping()
    if op == "read":
        return list(adapter.read())
    if op == "write":
        return adapter.write((envelope or _envelope)())
    raise AssertionError(op)


def test_capabilities_are_a_frozen_record(peer):
    with open_adapter(peer.url) as adapter:
        caps = type(adapter).capabilities
        assert isinstance(caps, Capabilities)
        with pytest.raises(dataclasses.FrozenInstanceError):
            caps.read = not caps.read  # type: ignore[misc]


def test_ping_works(peer):
    with open_adapter(peer.url) as adapter:
        adapter.ping()


def test_write_read_round_trip_ack(loop_peer):
    peer = loop_peer
    sent = _envelope("round trip")
    with open_adapter(peer.url) as adapter:
        receipt = adapter.write(sent)
        assert receipt.status in ("acknowledged", "sent")
        first = list(adapter.read())
    assert [e.body for e in first] == [sent.body]
    # not acknowledged: a fresh adapter (a restarted hub) gets the same bytes, same message id
    with open_adapter(peer.url) as adapter:
        again = list(adapter.read())
        assert [(e.body, e.message_id) for e in again] == [(sent.body, first[0].message_id)]
        adapter.ack(again[0])
    with open_adapter(peer.url) as adapter:
        assert list(adapter.read()) == []


def test_read_takes_at_most_limit(loop_peer):
    peer = loop_peer
    with open_adapter(peer.url) as adapter:
        for _ in range(2):
            adapter.write(_envelope("limit"))
        assert len(list(adapter.read(limit=1))) == 1
    with open_adapter(peer.url) as adapter:
        taken = list(adapter.read())
        assert len(taken) == 2
        for envelope in taken:
            adapter.ack(envelope)


def test_declared_capabilities_match_behaviour(peer):
    with open_adapter(peer.url) as adapter:
        caps = adapter.capabilities
        for op, declared in (("write", caps.write), ("read", caps.read)):
            if declared:
                _call(adapter, op, peer.envelope)
            else:
                with pytest.raises(ConfigError):
                    _call(adapter, op, peer.envelope)


def test_close_twice_is_harmless(peer):
    adapter = open_adapter(peer.url)
    adapter.ping()
    adapter.close()
    adapter.close()
    unused = open_adapter(peer.url)
    unused.close()
    unused.close()


def test_unreachable_peer_is_a_transient_error(peer):
    for op in peer.unreachable_ops:
        with open_adapter(peer.unreachable) as adapter, pytest.raises(TransientError):
            _call(adapter, op, peer.envelope)


def test_bad_options_and_credentials_are_refused(peer):
    wrong, known = [], []
    for bad in peer.bad:
        try:
            adapter = open_adapter(bad.url, **bad.options)
            if bad.op != "open":
                with adapter:
                    _call(adapter, bad.op, peer.envelope)
        except bad.error:
            if bad.known_bug:
                wrong.append(f"{bad.label}: refused now — remove its known_bug note")
            continue
        except Exception as exc:  # noqa: BLE001 — reported with the case it came from
            outcome = f"{bad.label}: {type(exc).__name__}: {exc}"
        else:
            outcome = f"{bad.label}: accepted"
        if bad.known_bug:
            known.append(f"{outcome} ({bad.known_bug})")
        else:
            wrong.append(f"{outcome} (expected {bad.error.__name__})")
    assert not wrong, f"not refused as they should be: {wrong}"
    if known:
        pytest.xfail("known bugs: " + "; ".join(known))
