"""The bus contract for department systems that are not govhub (README, "The bus
contract"): a plain AMQP client (pika, not kombu) publishes to ``govhub.inbound`` as soon
as ``govhub init`` has run — before any worker — and a GBK document sent with
``content_encoding: gbk`` is stored from the bytes that were sent, not from a decoded
and re-encoded copy (the worker, and the amqp:// adapter for department brokers)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter

import pika
import pytest
from pika.exceptions import ChannelClosedByBroker

from adapters.amqp import body_message_id
from adapters.registry import open_adapter
from hub.core.config import ROOT, load_settings
from hub.db.engine import engine_for
from hub.worker.process import Worker
from synth.generator import Generator
from tests.conftest import AMQP_URL, CI, _private_vhost, require_service
from tests.helpers import outcomes, quarantine_rows, xml_doc

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]


@pytest.fixture
def vhost_url():
    """A RabbitMQ virtual host of this test's own: nothing declared on it yet."""
    require_service("RabbitMQ", AMQP_URL, 5672)
    url = _private_vhost(AMQP_URL)
    if url == AMQP_URL:
        (pytest.fail if CI else pytest.skip)("a fresh vhost needs rabbitmqctl on this machine (as root)")
    return url


@pytest.fixture
def hub_env(tmp_path, pg_database, vhost_url):
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GOVHUB_HOME": str(tmp_path / "home"),
        "GOVHUB_DB_URL": pg_database,
        "GOVHUB_BROKER_URL": vhost_url,
    }


def _init(env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "hub.cli", "init"], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def _pika(url: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(url))


def _publish(url: str, body: bytes, **properties) -> None:
    """As a department would: pika, persistent, mandatory, with publisher confirms."""
    with _pika(url) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        ch.basic_publish(
            "govhub.inbound",
            "inbound.0",
            body,
            pika.BasicProperties(delivery_mode=2, **properties),
            mandatory=True,
        )


def _gbk_document(n: int, message_id: str) -> bytes:
    cases = [r for r, _ in Generator(seed=7, departments=["常熟市行政审批局"]).records("case", n)]
    body = xml_doc(cases, encoding="gbk", message_id=message_id)
    assert b"gbk" in body[:60].lower()
    body.decode("gbk")  # really GBK, and not UTF-8:
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    return body


def test_init_declares_the_bus_so_a_plain_client_publishes_before_any_worker(hub_env, vhost_url):
    with pytest.raises(ChannelClosedByBroker) as refused:
        _publish(vhost_url, b"<cases/>")
    assert refused.value.reply_code == 404
    out = _init(hub_env).stdout
    assert "bus ready" in out and "govhub.inbound.0" in out and "guest:guest" not in out
    _publish(vhost_url, b"<cases/>", headers={"system": "cs-approval", "message_id": "m-1"})  # routed, confirmed
    with _pika(vhost_url) as conn:
        ch = conn.channel()
        assert ch.queue_declare("govhub.inbound.0", passive=True).method.message_count == 1
        ch.exchange_declare("govhub.dlx", passive=True)
        ch.queue_declare("govhub.dead", passive=True)


def test_gbk_document_published_with_pika_is_stored_from_its_bytes(hub_env, vhost_url):
    _init(hub_env)
    body = _gbk_document(20, "gbk-1")
    _publish(
        vhost_url,
        body,
        content_type="application/xml",
        content_encoding="gbk",
        message_id="gbk-1",
        headers={"system": "cs-approval", "message_id": "gbk-1", "kind": "case", "format": "xml"},
    )
    settings = load_settings(hub_env)
    engine = engine_for(settings.db_url)
    assert Worker(settings, engine).run(idle_exit=1.5) == Counter(stored=20)
    assert outcomes(engine) == {"stored": 20}
    assert quarantine_rows(engine) == []


def _readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### The bus contract", 1)[1]
    return re.search(r"^```python\n(.*?)^```", section, re.S | re.M).group(1)


def test_the_readme_pika_example_publishes_what_the_worker_stores(hub_env, vhost_url, tmp_path, monkeypatch):
    _init(hub_env)
    (tmp_path / "cases-gbk.xml").write_bytes(_gbk_document(5, "cs-20261120-0001"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOVHUB_BROKER_URL", vhost_url)
    exec(compile(_readme_example(), "README.md", "exec"), {})
    settings = load_settings(hub_env)
    engine = engine_for(settings.db_url)
    assert Worker(settings, engine).run(idle_exit=1.5) == Counter(stored=5)
    assert outcomes(engine, "cs-approval") == {"stored": 5}


def test_amqp_adapter_reads_a_gbk_body_as_sent(vhost_url):
    with _pika(vhost_url) as conn:
        conn.channel().queue_declare("dept.to-hub", durable=True)
    body = _gbk_document(3, "gbk-2")
    _publish_to_queue(vhost_url, "dept.to-hub", body)
    adapter = open_adapter(f"{vhost_url}?queue=dept.to-hub")
    try:
        (envelope,) = list(adapter.read(limit=5))
        assert envelope.body == body
        assert envelope.message_id == body_message_id(body)
        adapter.ack(envelope)
    finally:
        adapter.close()


def _publish_to_queue(url: str, queue: str, body: bytes) -> None:
    with _pika(url) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        ch.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2, content_encoding="gbk"))
