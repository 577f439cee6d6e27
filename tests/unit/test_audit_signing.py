"""hub.audit.signing: the hub signs checkpoints with its own key (from a file, never the
catalogue); a checkpoint changed after signing, or signed by another key, is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hub.audit.signing import (
    IdentityError,
    generate_identity,
    load_identity,
    make_checkpoint,
    sign_checkpoint,
    utc_text,
    verify_checkpoint,
)

HEAD = "ab" * 32


@pytest.fixture(scope="module")
def hub_identity():
    return generate_identity("govhub-test")


@pytest.fixture(scope="module")
def signed(hub_identity):
    return sign_checkpoint(make_checkpoint(42, HEAD, "govhub-test", datetime(2026, 11, 22, 10, 0)), hub_identity.key)


def test_a_checkpoint_is_signed_over_its_canonical_json_and_verifies(hub_identity, signed):
    assert signed["at"] == "2026-11-22T02:00:00Z"  # the hub's time is CST; the log's is UTC
    assert signed["algorithm"] == "ecdsa-p256-sha256"
    body = {k: signed[k] for k in ("seq", "head", "at", "hub")}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    # the spec's bytes, checked with the certificate's public key alone
    hub_identity.certificate.public_key().verify(
        base64.b64decode(signed["signature"]), canonical, ec.ECDSA(hashes.SHA256())
    )
    assert verify_checkpoint(signed, hub_identity.certificate_pem)


@pytest.mark.parametrize(
    "change",
    [
        {"head": "cd" * 32},
        {"seq": 43},
        {"seq": 41},
        {"at": "2026-11-23T02:00:00Z"},
        {"hub": "another-hub"},
        {"extra": "added after signing"},
        {"algorithm": "sm2-sm3"},
        {"signature": base64.b64encode(b"\x30\x06\x02\x01\x01\x02\x01\x01").decode()},
        {"signature": "not base64!"},
        {"seq": True},
    ],
    ids=["head", "seq+1", "seq-1", "at", "hub", "extra-key", "algorithm", "bad-signature", "not-base64", "bool-seq"],
)
def test_a_checkpoint_changed_after_signing_is_refused(hub_identity, signed, change):
    assert not verify_checkpoint({**signed, **change}, hub_identity.certificate_pem)


def test_a_checkpoint_without_its_signature_is_refused(hub_identity, signed):
    for key in ("signature", "algorithm", "head", "seq"):
        assert not verify_checkpoint({k: v for k, v in signed.items() if k != key}, hub_identity.certificate_pem)


def test_a_checkpoint_signed_by_another_key_is_refused(hub_identity, signed):
    forger = generate_identity("govhub-test")  # same name, another key
    forged = sign_checkpoint({**signed, "head": "cd" * 32}, forger.key)
    assert verify_checkpoint(forged, forger.certificate_pem)
    assert not verify_checkpoint(forged, hub_identity.certificate_pem)


def test_re_signing_drops_an_earlier_time_stamp(hub_identity, signed):
    again = sign_checkpoint({**signed, "timestamp": "AAAA", "seq": 43}, hub_identity.key)
    assert "timestamp" not in again and again["seq"] == 43
    assert verify_checkpoint(again, hub_identity.certificate_pem)


def test_utc_text_takes_naive_times_as_the_hubs_and_keeps_aware_ones():
    assert utc_text(datetime(2026, 1, 1, 7, 30)) == "2025-12-31T23:30:00Z"
    assert utc_text(datetime(2026, 1, 1, 7, 30, 0, 250000, tzinfo=UTC)) == "2026-01-01T07:30:00Z"


def test_the_identity_comes_from_the_files_the_environment_names(tmp_path, signed, hub_identity):
    made = generate_identity("govhub-prod", tmp_path)
    key_file, cert_file = tmp_path / "audit-key.pem", tmp_path / "audit-cert.pem"
    assert key_file.stat().st_mode & 0o077 == 0  # the key is readable by its owner only
    env = {"GOVHUB_AUDIT_KEY_FILE": str(key_file), "GOVHUB_AUDIT_CERT_FILE": str(cert_file)}
    loaded = load_identity(env)
    assert loaded is not None and loaded.certificate == made.certificate
    mine = sign_checkpoint(make_checkpoint(1, HEAD, "govhub-prod", datetime(2026, 11, 22)), loaded.key)
    assert verify_checkpoint(mine, cert_file.read_bytes())
    assert not verify_checkpoint(mine, hub_identity.certificate_pem)
    # the PEM itself in the environment works too (a secret injected as a variable)
    inline = {"GOVHUB_AUDIT_KEY": key_file.read_text(), "GOVHUB_AUDIT_CERT": cert_file.read_text()}
    assert load_identity(inline).certificate == made.certificate


def test_no_identity_configured_is_none_and_half_a_one_is_an_error(tmp_path):
    generate_identity("govhub-prod", tmp_path)
    assert load_identity({}) is None
    with pytest.raises(IdentityError, match="GOVHUB_AUDIT_CERT"):
        load_identity({"GOVHUB_AUDIT_KEY_FILE": str(tmp_path / "audit-key.pem")})
    with pytest.raises(IdentityError, match="cannot be read"):
        load_identity({"GOVHUB_AUDIT_KEY_FILE": str(tmp_path / "nope.pem"), "GOVHUB_AUDIT_CERT_FILE": "x"})


def test_a_certificate_of_another_key_or_a_key_of_another_kind_is_refused(tmp_path, hub_identity):
    generate_identity("govhub-prod", tmp_path)
    env = {
        "GOVHUB_AUDIT_KEY_FILE": str(tmp_path / "audit-key.pem"),
        "GOVHUB_AUDIT_CERT": hub_identity.certificate_pem.decode(),
    }
    with pytest.raises(IdentityError, match="does not hold the audit key"):
        load_identity(env)
    rsa_pem = rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(IdentityError, match="P-256"):
        load_identity(
            {"GOVHUB_AUDIT_KEY": rsa_pem.decode(), "GOVHUB_AUDIT_CERT": hub_identity.certificate_pem.decode()}
        )
    with pytest.raises(IdentityError, match="not an unencrypted PEM"):
        load_identity({"GOVHUB_AUDIT_KEY": "garbage", "GOVHUB_AUDIT_CERT": "garbage"})
