"""An outbound delivery attempt in the exchange log (direction "out")."""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection

from hub.audit import chain
from hub.audit.objects import ObjectStore


class Sent:
    """One delivery attempt's bytes, for the exchange log: kept by digest before the attempt,
    logged (direction "out") in the transaction that records its outcome. An attempt that
    never built its message (the peer is not in the catalogue) sent nothing: no entry."""

    def __init__(self, peer: str, message_id: str):
        self.peer, self.message_id = peer, message_id
        self.body: tuple[str, int] | None = None

    def keep(self, body: bytes) -> None:
        try:
            self.body = ObjectStore().put_bytes(body)
        except OSError as exc:  # not sent without evidence: the delivery pass is tried again
            raise chain.LogUnavailable(f"the exchange log's object store cannot be written: {exc.strerror}") from exc

    def log(self, conn: Connection, status: str, receipt: str | None) -> None:
        if self.body is None:
            return
        receipt_digest = "sha256:" + hashlib.sha256(receipt.encode("utf-8")).hexdigest() if receipt else None
        chain.append(
            conn,
            direction="out",
            channel="delivery",
            system=self.peer,
            peer=self.peer,
            message_id=self.message_id,
            digest=self.body[0],
            size=self.body[1],
            outcome={"status": status, "receipt_digest": receipt_digest},
        )
