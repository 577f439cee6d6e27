"""RFC 3161 time-stamp tokens: read one, and check it stamps given bytes and is signed by
a time-stamping authority's certificate (asn1crypto for the ASN.1, cryptography for the
signature). Also what the hub's client reads a TSA's answer with.

A token is a CMS SignedData whose content is a TSTInfo: the TSA says "I saw this SHA-256
imprint at genTime". It holds when the imprint is the hash of the bytes stamped, the
signed attributes name the TSTInfo (content type) and carry its digest (message digest),
their signature verifies with the TSA certificate's key, that certificate is the signer
(issuer and serial, or key identifier, and the ESS signing-certificate hash when present),
is meant for time-stamping (extended key usage) and was valid at genTime.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from asn1crypto import cms, core, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class TimestampError(ValueError):
    """The token is malformed, refused, or does not verify."""


class TimeStampResp(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type information
    """RFC 3161 §2.4.2; asn1crypto's own makes the token mandatory, but a refusal has none."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


@dataclass(frozen=True)
class Stamp:
    gen_time: datetime  # timezone-aware UTC
    serial: int
    nonce: int | None
    tsa: x509.Certificate
    token: bytes  # the TimeStampToken (CMS ContentInfo), DER


def token_from_response(data: bytes) -> bytes:
    """The token of a TimeStampResp, or TimestampError with the TSA's status when it refused."""
    try:
        resp = TimeStampResp.load(data, strict=True)
        status = resp["status"]["status"].native
        token = resp["time_stamp_token"]
    except (ValueError, TypeError) as exc:
        raise TimestampError(f"not an RFC 3161 TimeStampResp ({exc})") from None
    if status not in ("granted", "granted_with_mods"):
        text = "; ".join(resp["status"]["status_string"].native or [])
        fail = resp["status"]["fail_info"].native
        raise TimestampError(
            f"the TSA refused: {status}{f' ({text})' if text else ''}{f' {sorted(fail)}' if fail else ''}"
        )
    if isinstance(token, core.Void):
        raise TimestampError("the TSA granted but sent no token")
    return bytes(token.dump())


def _load_token(data: bytes) -> cms.ContentInfo:
    """A TimeStampToken, or a whole TimeStampResp (then its token)."""
    try:
        token = cms.ContentInfo.load(data, strict=True)
        content_type = token["content_type"].native
    except (ValueError, TypeError):
        token = cms.ContentInfo.load(token_from_response(data))
        content_type = token["content_type"].native
    if content_type != "signed_data":
        raise TimestampError(f"the token is {content_type}, not CMS signed data")
    return token


def _attribute(signed_attrs: cms.CMSAttributes, name: str) -> Any:
    values = [a["values"] for a in signed_attrs if a["type"].native == name]
    if len(values) != 1 or len(values[0]) != 1:
        return None
    return values[0][0]


def _check_signer(signer: cms.SignerInfo, cert: x509.Certificate) -> None:
    sid = signer["sid"]
    if sid.name == "issuer_and_serial_number":
        issuer, serial = sid.chosen["issuer"].dump(), sid.chosen["serial_number"].native
        if issuer != cert.issuer.public_bytes() or serial != cert.serial_number:
            raise TimestampError(
                "the token was signed by another certificate than the TSA's (issuer and serial differ)"
            )
    else:
        try:
            ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        except x509.ExtensionNotFound:
            ski = b""
        if sid.chosen.native != ski:
            raise TimestampError("the token was signed by another certificate than the TSA's (key identifier differs)")


def _check_ess(signed_attrs: cms.CMSAttributes, cert: x509.Certificate) -> None:
    """RFC 5816/2634: the signed attributes may name the signing certificate by hash."""
    der = cert.public_bytes(Encoding.DER)
    v2 = _attribute(signed_attrs, "signing_certificate_v2")
    if v2 is not None:
        first = v2["certs"][0]
        algo = first["hash_algorithm"]["algorithm"].native
        if algo not in _HASHES or hashlib.new(algo, der).digest() != first["cert_hash"].native:
            raise TimestampError("the token's signing-certificate attribute names another certificate")
    v1 = _attribute(signed_attrs, "signing_certificate")  # RFC 2634 names SHA-1
    if v1 is not None and hashlib.sha1(der).digest() != v1["certs"][0]["cert_hash"].native:
        raise TimestampError("the token's signing-certificate attribute names another certificate")


def _verify_signature(signer: cms.SignerInfo, data: bytes, cert: x509.Certificate) -> None:
    digest_name = signer["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise TimestampError(f"unsupported digest algorithm {digest_name}")
    algo, signature, key = signer["signature_algorithm"].signature_algo, signer["signature"].native, cert.public_key()
    chosen = _HASHES[digest_name]()
    try:
        if algo == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(chosen))
        elif algo == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), chosen)
        else:
            raise TimestampError(f"unsupported signature algorithm {algo} for the TSA certificate's key")
    except InvalidSignature:
        raise TimestampError("the token's signature does not verify with the TSA certificate") from None


def _embedded(signed_data: cms.SignedData) -> x509.Certificate | None:
    certs = signed_data["certificates"]
    if isinstance(certs, core.Void) or not len(certs):
        return None
    return x509.load_der_x509_certificate(certs[0].chosen.dump())


def verify_token(data: bytes, stamped: bytes, tsa_cert: x509.Certificate | None = None) -> Stamp:
    """Check that ``data`` (a token or a TimeStampResp) stamps ``stamped`` (its SHA-256) and
    is signed by ``tsa_cert`` (or, without one, by the certificate the token carries: then
    nothing says who the TSA is, and the caller must say so). Raise :class:`TimestampError`."""
    try:
        return _verify(data, stamped, tsa_cert)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        if isinstance(exc, TimestampError):
            raise
        raise TimestampError(f"the time-stamp token is malformed ({exc})") from None


def _verify(data: bytes, stamped: bytes, tsa_cert: x509.Certificate | None) -> Stamp:
    token = _load_token(data)
    signed_data = token["content"]
    encap = signed_data["encap_content_info"]
    if encap["content_type"].native != "tst_info":
        raise TimestampError("the token does not hold a TSTInfo")
    tst_der = bytes(encap["content"])
    tst = tsp.TSTInfo.load(tst_der, strict=True)
    imprint = tst["message_imprint"]
    if imprint["hash_algorithm"]["algorithm"].native != "sha256":
        raise TimestampError("the token's imprint is not SHA-256")
    if imprint["hashed_message"].native != hashlib.sha256(stamped).digest():
        raise TimestampError(
            "the token's imprint is not the SHA-256 of the stamped signature: it stamps something else"
        )
    signers = signed_data["signer_infos"]
    if len(signers) != 1:
        raise TimestampError(f"the token has {len(signers)} signers, not one")
    signer = signers[0]
    signed_attrs = signer["signed_attrs"]
    if isinstance(signed_attrs, core.Void):
        raise TimestampError("the token has no signed attributes")
    if (
        _attribute(signed_attrs, "content_type") is None
        or _attribute(signed_attrs, "content_type").native != "tst_info"
    ):
        raise TimestampError("the token's signed content type is not TSTInfo")
    digest_name = signer["digest_algorithm"]["algorithm"].native
    message_digest = _attribute(signed_attrs, "message_digest")
    if (
        digest_name not in _HASHES
        or message_digest is None
        or message_digest.native != hashlib.new(digest_name, tst_der).digest()
    ):
        raise TimestampError("the token's TSTInfo was altered: its digest is not the signed one")
    cert = tsa_cert or _embedded(signed_data)
    if cert is None:
        raise TimestampError("no TSA certificate: neither given nor carried in the token")
    _check_signer(signer, cert)
    _check_ess(signed_attrs, cert)
    # a SET OF under an implicit [0] tag in SignerInfo; signed as a universal SET (RFC 5652 §5.4)
    _verify_signature(signer, b"\x31" + signed_attrs.dump()[1:], cert)
    gen_time = tst["gen_time"].native
    _check_certificate(cert, gen_time)
    return Stamp(gen_time, tst["serial_number"].native, tst["nonce"].native, cert, bytes(token.dump()))


def _check_certificate(cert: x509.Certificate, gen_time: datetime) -> None:
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = None
    if usages is None or ExtendedKeyUsageOID.TIME_STAMPING not in usages:
        raise TimestampError("the TSA certificate is not for time-stamping (extended key usage)")
    if not _valid_from(cert) <= gen_time <= _valid_until(cert):
        raise TimestampError(f"the TSA certificate was not valid at the token's time {gen_time.isoformat()}")


# cryptography before 42 has only the naive (UTC) properties: a third party may run an older one
def _valid_from(cert: x509.Certificate) -> datetime:
    aware = getattr(cert, "not_valid_before_utc", None)
    return aware if aware is not None else cert.not_valid_before.replace(tzinfo=timezone.utc)  # noqa: UP017 (datetime.UTC is 3.11+)


def _valid_until(cert: x509.Certificate) -> datetime:
    aware = getattr(cert, "not_valid_after_utc", None)
    return aware if aware is not None else cert.not_valid_after.replace(tzinfo=timezone.utc)  # noqa: UP017 (datetime.UTC is 3.11+)
