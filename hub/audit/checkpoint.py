"""Signed checkpoints of the exchange log (issue #21): the chain's head, signed with the
hub's key (:mod:`hub.audit.signing`) and, with a TSA configured, time-stamped
(:mod:`hub.audit.timestamp`), kept in ``audit_checkpoint``.

``govhub audit checkpoint`` takes one now; ``govhub serve`` and ``govhub worker`` take one
every ``GOVHUB_AUDIT_CHECKPOINT_SECONDS`` (default 900; :mod:`hub.audit.schedule`) and at
shutdown. ``govhub audit verify`` checks each at its seq; ``govhub audit export`` seals an
evidence package with the first checkpoint at or after the message's entry.

| variable | default | meaning |
|---|---|---|
| ``GOVHUB_AUDIT_HUB_ID`` | the certificate's common name | the ``hub`` a checkpoint names |
| ``GOVHUB_AUDIT_CHECKPOINT_SECONDS`` | ``900`` | seconds between scheduled checkpoints (``0``: none scheduled) |
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.x509.oid import NameOID
from sqlalchemy import Connection, Engine, insert, select

from hub.audit.signing import Identity, IdentityError, load_identity, make_checkpoint
from hub.audit.timestamp import Tsa, load_tsa, seal
from hub.core import clock
from hub.core.clock import CST
from hub.db.tables import audit_checkpoint, exchange_log_head

log = logging.getLogger("govhub.audit")

INTERVAL_ENV, HUB_ENV = "GOVHUB_AUDIT_CHECKPOINT_SECONDS", "GOVHUB_AUDIT_HUB_ID"
NO_KEY = (
    "the hub has no audit key: set GOVHUB_AUDIT_KEY_FILE and GOVHUB_AUDIT_CERT_FILE (docs/exchange-log.md; "
    "for development hub.audit.signing.generate_identity writes a pair)"
)


class NoIdentity(IdentityError):
    """No signing key is configured: a checkpoint cannot be signed."""


def interval_seconds(env: Mapping[str, str] | None = None) -> float:
    env = os.environ if env is None else env
    return float(env.get(INTERVAL_ENV) or 900)


@dataclass(frozen=True)
class Sealer:
    """What a checkpoint is signed and stamped with."""

    identity: Identity
    tsa: Tsa | None
    hub: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Sealer:
        env = os.environ if env is None else env
        identity = load_identity(env)
        if identity is None:
            raise NoIdentity(NO_KEY)
        return cls(identity, load_tsa(env), env.get(HUB_ENV) or _common_name(identity))


def _common_name(identity: Identity) -> str:
    names = identity.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else "govhub"


def take(engine: Engine, sealer: Sealer, at: datetime | None = None) -> dict[str, Any] | None:
    """Sign the chain's head as it is now and keep the checkpoint; returns its row (None
    while the log is empty: there is no head to sign). The
    TSA is asked outside any transaction; a TSA that fails leaves the checkpoint signed
    but unstamped, with the reason in ``stamp_error``."""
    at = at or clock.now()
    with engine.connect() as conn:
        row = conn.execute(select(exchange_log_head.c.seq, exchange_log_head.c.hash)).first()
    if row is None or int(row[0]) == 0:
        return None
    seq, head = int(row[0]), str(row[1])
    signed, error = seal(make_checkpoint(seq, head, sealer.hub, at), sealer.identity, sealer.tsa)
    if error:
        log.warning("checkpoint at seq %d is signed but not time-stamped: %s", seq, error)
    values = {
        "seq": seq,
        "head": head,
        "at": signed["at"],
        "taken_at": at.astimezone(CST).replace(tzinfo=None) if at.tzinfo is not None else at,
        "signed": signed,
        "certificate": sealer.identity.certificate_pem.decode("ascii"),
        "tsa_certificate": None,
        "stamp_error": error,
    }
    if "timestamp" in signed and sealer.tsa is not None and sealer.tsa.certificate_pem is not None:
        values["tsa_certificate"] = sealer.tsa.certificate_pem.decode("ascii")
    with engine.begin() as conn:
        key = conn.execute(insert(audit_checkpoint).values(**values)).inserted_primary_key
        values["id"] = key[0] if key else None
    return values


def latest(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(audit_checkpoint).order_by(audit_checkpoint.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def covering(conn: Connection, seq: int) -> dict[str, Any] | None:
    """The first checkpoint taken at or after entry ``seq``: what seals it."""
    q = (
        select(audit_checkpoint)
        .where(audit_checkpoint.c.seq >= seq)
        .order_by(audit_checkpoint.c.seq, audit_checkpoint.c.id)
        .limit(1)
    )
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def in_range(conn: Connection, first: int, last: int | None) -> list[dict[str, Any]]:
    """Checkpoints whose seq falls on ``first`` … ``last`` (no upper bound: None), by seq."""
    q = select(audit_checkpoint).where(audit_checkpoint.c.seq >= first)
    if last is not None:
        q = q.where(audit_checkpoint.c.seq <= last)
    return [dict(r) for r in conn.execute(q.order_by(audit_checkpoint.c.seq, audit_checkpoint.c.id)).mappings()]
