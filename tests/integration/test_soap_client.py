"""The SOAP client adapter (``soap://``) against a sandbox provincial platform serving a
real WSDL: pull the item catalogue and ingest it, report cases and see them arrive;
outages, slowness and wrong passwords become the right adapter errors. Then against the
hub's own SOAP service, so that both ends of the hub's contract meet."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
import yaml
from sqlalchemy import select
from starlette.applications import Starlette

from adapters.base import Envelope
from adapters.errors import AuthError, ConfigError, RejectedError, TransientError
from adapters.registry import open_adapter
from hub.api.soap.service import routes
from hub.catalog.authn import hash_password
from hub.catalog.systems import System
from hub.core.config import ROOT
from hub.db.tables import LIBRARY
from hub.wiring import standard_pipeline
from sandbox.province_soap import ProvinceState, make_app
from sandbox.server import run_in_thread
from synth.generator import Generator
from tests.helpers import library_count, xml_doc

PROVINCE_USER, PROVINCE_PW = "govhub-suzhou", "Js-exchange-pw"
PROVINCE = System(
    id="js-province", name="江苏省一体化政务服务平台", level="province", region_code="320000", may_push=("item",)
)
DEPT = "常熟市行政审批局"


@pytest.fixture
def province(monkeypatch):
    """The sandbox province on a free port; yields (state, soap:// URL)."""
    state = ProvinceState(username=PROVINCE_USER, password=PROVINCE_PW)
    base, stop = run_in_thread(make_app(state))
    monkeypatch.setenv("GOVHUB_TEST_PROVINCE_PW", PROVINCE_PW)
    yield state, base.replace("http://", "soap://") + "/exchange"
    stop()


def adapter(url: str, **options):
    options = {"username": PROVINCE_USER, "password_env": "GOVHUB_TEST_PROVINCE_PW", "timeout": 5, **options}
    return open_adapter(url, **options)


def cases_envelope(n: int, message_id: str, seed: int = 2, **headers) -> tuple[Envelope, list[str]]:
    recs = [r for r, _ in Generator(seed=seed).records("case", n)]
    body = xml_doc(recs, message_id=message_id)
    return Envelope(body, message_id, kind="case", format="xml", headers=headers), [r["case_no"] for r in recs]


def test_pull_the_item_catalogue_and_ingest_it(province, engine):
    state, url = province
    state.encoding = "gbk"  # provincial platforms often answer in GBK
    with adapter(url, pull="GetItemCatalogue", **{"pull.region_code": "320581"}) as soap:
        soap.ping()
        (envelope,) = list(soap.read())
        expected = state.items_of("320581")
        assert expected and envelope.kind == "item" and envelope.format == "xml"
        summary = standard_pipeline(engine).ingest(
            io.BytesIO(envelope.body), PROVINCE, fmt="xml", kind=envelope.kind, message_id=envelope.message_id
        )
        assert summary.counts["stored"] == len(expected) == summary.received
        t = LIBRARY["item"]
        with engine.connect() as conn:
            names = dict(conn.execute(select(t.c.item_code, t.c.item_name)).all())
        assert names == {r["item_code"]: r["item_name"] for r in expected}  # GBK in, UTF-8 stored
        state.encoding = "utf-8"
        (again,) = list(soap.read())  # the daily pull of an unchanged catalogue
        repeat = standard_pipeline(engine).ingest(
            io.BytesIO(again.body), PROVINCE, fmt="xml", kind="item", message_id=again.message_id
        )
        assert repeat.counts["duplicate"] == len(expected) and library_count(engine, "item") == len(expected)


def test_reported_cases_arrive_at_the_province_once(province):
    state, url = province
    envelope, numbers = cases_envelope(5, "govhub:js-province:case:1-5", operation="ReportCases")
    with adapter(url) as soap:
        receipt = soap.write(envelope)
        assert receipt.status == "acknowledged" and receipt.peer_ref.startswith("JS-ACK-")
        assert state.received == {envelope.message_id: numbers}
        envelope.headers.clear()  # no operation named: the one taking <cases> is found in the WSDL
        assert soap.write(envelope).peer_ref == receipt.peer_ref  # a redelivery is the same message
    assert state.deliveries[envelope.message_id] == 2 and state.case_numbers() == numbers


def test_province_outage_and_slowness_are_transient(province):
    state, url = province
    envelope, _ = cases_envelope(2, "outage-1")
    state.mode = "fault"
    with adapter(url) as soap, pytest.raises(TransientError) as exc:
        soap.write(envelope)
    assert "Server" in exc.value.message
    state.mode, state.delay = "up", 1.0
    with adapter(url, timeout=0.3) as soap, pytest.raises(TransientError) as exc:
        soap.write(envelope)
    assert "no answer within 0.3s" in exc.value.message
    with adapter("soap://127.0.0.1:9/exchange", timeout=1) as soap, pytest.raises(TransientError):
        soap.ping()
    assert state.received == {}


@pytest.mark.parametrize("digest", ["0", "1"], ids=["PasswordText", "PasswordDigest"])
def test_wrong_password_is_an_auth_error(province, monkeypatch, digest):
    state, url = province
    envelope, _ = cases_envelope(1, "auth-1")
    monkeypatch.setenv("GOVHUB_TEST_PROVINCE_PW", "wrong")
    with adapter(url, digest=digest) as soap, pytest.raises(AuthError) as exc:
        soap.write(envelope)
    assert "FailedAuthentication" in exc.value.message
    monkeypatch.setenv("GOVHUB_TEST_PROVINCE_PW", PROVINCE_PW)
    with adapter(url, digest=digest) as soap:
        assert soap.write(envelope).status == "acknowledged"
    assert list(state.received) == ["auth-1"]


def test_configuration_mistakes_are_config_errors(province, monkeypatch):
    _state, url = province
    for bad in ("pul=GetItemCatalogue", "timeout=soon", "digest=yes"):
        with pytest.raises(ConfigError):
            open_adapter(f"{url}?{bad}")
    licences = Envelope(
        xml_doc([r for r, _ in Generator(seed=1).records("licence", 1)], kind="licence"),
        "l-1",
        kind="licence",
        format="xml",
    )
    with adapter(url) as soap, pytest.raises(ConfigError, match="ReportCases"):
        soap.write(licences)  # the province has no operation taking <licences>
    with adapter(url, pull="GetWeather") as soap, pytest.raises(ConfigError, match="GetItemCatalogue"):
        list(soap.read())
    monkeypatch.delenv("GOVHUB_TEST_PROVINCE_PW")
    with adapter(url) as soap, pytest.raises(ConfigError, match="GOVHUB_TEST_PROVINCE_PW"):
        soap.write(licences)


def test_importing_the_adapter_loads_no_driver():
    code = "import sys, adapters.soap; sys.exit(sorted({'zeep', 'requests', 'lxml'} & set(sys.modules)) or 0)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------ against the hub itself


@pytest.fixture
def hub_soap(tmp_path, monkeypatch, engine):
    """The hub's SOAP service with one department system; yields its soap:// URL."""
    _name, code, region = Generator(seed=0, departments=[DEPT]).departments[0]
    entry = {
        "id": "cs-approval-soap",
        "name": "常熟市行政审批局业务系统",
        "level": "department",
        "region_code": region,
        "dept_code": code,
        "may_push": ["case"],
        "credentials": {"username": "cs-approval", "password_pbkdf2": hash_password("Cs-pw-2024", iterations=1000)},
    }
    path = tmp_path / "systems.yaml"
    path.write_text(yaml.safe_dump({"systems": [entry]}, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("GOVHUB_CATALOG", str(path))
    monkeypatch.setenv("GOVHUB_TEST_HUB_PW", "Cs-pw-2024")
    app = Starlette(routes=routes())
    app.state.pipeline = standard_pipeline(engine)
    base, stop = run_in_thread(app)
    yield base.replace("http://", "soap://") + "/soap/push"
    stop()
    from hub.catalog.systems import _systems_at

    _systems_at.cache_clear()


def test_the_adapter_pushes_to_the_hubs_own_soap_service(hub_soap, engine, monkeypatch):
    recs = [r for r, _ in Generator(seed=6, departments=[DEPT]).records("case", 4)]
    own = Envelope(xml_doc(recs, message_id="cs-via-adapter"), "cs-via-adapter", kind="case", format="xml")
    with open_adapter(hub_soap, username="cs-approval", password_env="GOVHUB_TEST_HUB_PW") as soap:
        receipt = soap.write(own)  # PushCases found by its input element <cases>
        assert (receipt.status, receipt.peer_ref) == ("acknowledged", "cs-via-adapter")
        # a kind the catalogue does not let it push: a Client fault, so the adapter gives up
        lic = [r for r, _ in Generator(seed=6, departments=[DEPT]).records("licence", 1)]
        with pytest.raises(RejectedError, match="Client.Forbidden"):
            soap.write(
                Envelope(xml_doc(lic, kind="licence", message_id="not-mine"), "not-mine", kind="licence", format="xml")
            )
    monkeypatch.setenv("GOVHUB_TEST_HUB_PW", "wrong")
    with open_adapter(hub_soap, username="cs-approval", password_env="GOVHUB_TEST_HUB_PW") as soap:
        with pytest.raises(AuthError, match="Client.Authentication"):
            soap.write(own)
    assert library_count(engine, "case") == 4
