"""RFC 3161 time-stamps on checkpoint signatures, against the sandbox TSA over real HTTP:
a stamped checkpoint's package holds offline; a tampered token, a token over another
signature, another TSA's token, a refusing, unreachable or replaying TSA are each refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
import requests
from asn1crypto import cms, tsp

from govhub_verify import verify_package
from govhub_verify.tsp import TimestampError, verify_token
from hub.audit.signing import make_checkpoint, sign_checkpoint, verify_checkpoint
from hub.audit.timestamp import Tsa, load_tsa, request_timestamp, seal, timestamp_checkpoint
from sandbox.server import free_port, run_in_thread
from sandbox.tsa import TsaState, make_app
from tests.evidence import Evidence, replace_member

STAMPED_AT = datetime(2026, 11, 22, 2, 0, 31, tzinfo=UTC)


@pytest.fixture(scope="module")
def tsa_server():
    state = TsaState(now=lambda: STAMPED_AT)
    base, stop = run_in_thread(make_app(state))
    try:
        yield state, base + "/tsa"
    finally:
        stop()


@pytest.fixture
def tsa(tsa_server):
    state, url = tsa_server
    state.mode = "up"
    return state, Tsa(url, state.certificate)


def _stamped(ev: Evidence, tsa_config: Tsa) -> dict:
    return timestamp_checkpoint(ev.checkpoint, tsa_config)


def test_a_stamped_checkpoint_holds_in_a_package_checked_offline(tsa):
    state, config = tsa
    ev = Evidence(n=5)
    issued = state.issued
    stamped = _stamped(ev, config)
    assert state.issued == issued + 1
    stamp = verify_token(
        base64.b64decode(stamped["timestamp"]), base64.b64decode(stamped["signature"]), state.certificate
    )
    assert stamp.gen_time == STAMPED_AT
    report = verify_package(ev.package(2, checkpoint=stamped, tsa_pem=state.certificate_pem), require_timestamp=True)
    assert report.ok, report.text()
    assert "time-stamp: the signature existed at 2026-11-22T02:00:31+00:00" in report.text()
    assert "tsa.pem" in report.text()
    # without tsa.pem the token's own certificate is used, and the report says nothing pins it
    loose = verify_package(ev.package(2, checkpoint=stamped))
    assert loose.ok and "nothing in the package names the TSA" in loose.text()


def test_the_tsa_answers_the_real_protocol(tsa):
    state, config = tsa
    wrong = requests.post(config.url, data=b"x", headers={"Content-Type": "application/json"}, timeout=10)
    assert wrong.status_code == 415
    answer = requests.post(
        config.url, data=b"not DER", headers={"Content-Type": "application/timestamp-query"}, timeout=10
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/timestamp-reply"
    with pytest.raises(TimestampError, match="rejection.*bad_data_format"):
        verify_token(answer.content, b"", state.certificate)


def _retime(token_b64: str) -> str:
    """The token with its TSTInfo's genTime moved a year on, not re-signed."""
    info = cms.ContentInfo.load(base64.b64decode(token_b64))
    encap = info["content"]["encap_content_info"]
    tst = tsp.TSTInfo.load(bytes(encap["content"]))
    tst["gen_time"] = STAMPED_AT.replace(year=2027)
    encap["content"] = cms.ParsableOctetString(tst.dump(force=True))
    return base64.b64encode(info.dump(force=True)).decode()


def test_a_tampered_or_misplaced_token_is_refused_offline(tsa):
    state, config = tsa
    ev = Evidence(n=4)
    stamped = _stamped(ev, config)

    def broken(checkpoint, tsa_pem=state.certificate_pem):
        report = verify_package(ev.package(1, checkpoint=checkpoint, tsa_pem=tsa_pem))
        assert report.broken is not None and report.broken.check == "timestamp", report.text()
        assert any(h.startswith("signature:") for h in report.holds)  # the signature itself held
        return report.broken.reason

    assert "TSTInfo was altered" in broken({**stamped, "timestamp": _retime(stamped["timestamp"])})
    # a genuine token, but over another checkpoint's signature
    other = _stamped(Evidence(n=4, identity=ev.identity), config)
    assert "stamps something else" in broken({**stamped, "timestamp": other["timestamp"]})
    # a genuine token from another TSA than the one named in tsa.pem
    assert "another certificate" in broken(stamped, tsa_pem=TsaState().certificate_pem)
    raw = bytearray(base64.b64decode(stamped["timestamp"]))
    raw[-5] ^= 0x01  # inside the TSA's signature
    assert "does not verify" in broken({**stamped, "timestamp": base64.b64encode(bytes(raw)).decode()})
    assert "base64" in broken({**stamped, "timestamp": "%%%"})


def test_re_signing_a_stamped_checkpoint_needs_a_new_stamp(tsa):
    state, config = tsa
    ev = Evidence(n=3)
    stamped = _stamped(ev, config)
    resigned = {**sign_checkpoint(stamped, ev.identity.key), "timestamp": stamped["timestamp"]}
    # ECDSA signatures differ each time: the old token stamps the old signature bytes
    report = verify_package(ev.package(1, checkpoint=resigned, tsa_pem=state.certificate_pem))
    assert report.broken.check == "timestamp"


@pytest.mark.parametrize("mode,match", [("refuse", "refused: rejection"), ("down", "HTTP 503")])
def test_a_refusing_or_failing_tsa_gives_no_stamp(tsa, mode, match):
    state, config = tsa
    state.mode = mode
    with pytest.raises(TimestampError, match=match):
        _stamped(Evidence(n=2), config)


def test_a_replayed_answer_is_refused_by_its_nonce(tsa):
    state, config = tsa
    request_timestamp(b"the same signature", config)
    state.mode = "replay"  # the old answer is right about the bytes, but not this request's
    with pytest.raises(TimestampError, match="nonce"):
        request_timestamp(b"the same signature", config)


def test_an_unreachable_tsa_or_another_tsas_token_gives_no_stamp(tsa):
    state, config = tsa
    with pytest.raises(TimestampError, match="cannot be reached"):
        request_timestamp(b"sig", Tsa(f"http://127.0.0.1:{free_port()}/tsa", state.certificate, timeout=2))
    with pytest.raises(TimestampError, match="another certificate"):
        request_timestamp(b"sig", Tsa(config.url, TsaState().certificate))


def test_the_tsa_is_configured_from_the_environment(tmp_path, tsa):
    state, config = tsa
    assert load_tsa({}) is None
    (tmp_path / "tsa.pem").write_bytes(state.certificate_pem)
    loaded = load_tsa({"GOVHUB_AUDIT_TSA_URL": config.url, "GOVHUB_AUDIT_TSA_CERT_FILE": str(tmp_path / "tsa.pem")})
    assert loaded.url == config.url and loaded.certificate == state.certificate
    stamp = request_timestamp(b"signature bytes", loaded)
    assert stamp.gen_time == STAMPED_AT and json.dumps(stamp.serial)


def test_sealing_signs_and_stamps_and_keeps_the_checkpoint_when_the_tsa_fails(tsa):
    state, config = tsa
    ev = Evidence(n=3)
    body = make_checkpoint(3, ev.entries[-1]["hash"], "govhub-test", datetime(2026, 11, 22, 10, 0, 30))
    sealed, problem = seal(body, ev.identity, config)
    assert problem is None and "timestamp" in sealed
    assert verify_package(ev.package(1, checkpoint=sealed, tsa_pem=state.certificate_pem), require_timestamp=True).ok
    state.mode = "down"
    sealed, problem = seal(body, ev.identity, config)
    assert "HTTP 503" in problem and "timestamp" not in sealed
    assert verify_checkpoint(sealed, ev.identity.certificate_pem)
    unstamped, problem = seal(body, ev.identity, None)
    assert problem is None and "timestamp" not in unstamped
