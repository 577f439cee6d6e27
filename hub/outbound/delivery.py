"""Reliable outbound delivery: records routed to a peer (reporting upward, dispatch to a
department) wait in the ``delivery`` table and go out through the peer's adapter.

- **Order**: per peer, strictly oldest first; a batch that fails holds back everything
  after it for that peer, so records of one case always arrive in order.
- **Retry**: transient failures back off exponentially (``base_backoff`` × 2^attempts,
  capped at ``max_backoff``); after ``max_attempts`` the records are dead letters with
  the last error, until ``govhub replay`` sends them again.
- **Rejection**: a batch the peer refuses as such is retried one record at a time, so
  one bad record does not sink its neighbours; a record refused alone is a dead letter.
- **Circuit breaker** per peer: after ``breaker_threshold`` consecutive failures the peer
  is left alone for ``breaker_cooldown`` seconds, then probed with one batch.
- **Receipts**: each record's status (pending, acknowledged, sent, dead), attempts, the
  message it went out in, the peer's receipt id and times; ``govhub deliveries`` shows them.
- **Current state, once**: a queued version superseded by a newer queued version of the
  same record is marked ``superseded`` and not sent; the newer one carries the record.
- **Idempotent**: a batch's message id is derived from its delivery ids, so a batch sent
  again after a crash is the same message to the peer.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, RowMapping, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from adapters.base import Adapter, Envelope
from adapters.errors import AdapterError, TerminalError
from adapters.registry import open_adapter
from hub.audit.sent import Sent
from hub.catalog.systems import System, systems
from hub.core import clock, correlation
from hub.db.tables import delivery
from hub.model.dictionary import kind as dictionary_kind
from hub.model.masking import mask_key, mask_text
from hub.model.outcomes import DELIVERED, DeliveryStatus
from hub.model.outmapping import OutboundMapping
from hub.outbound import peerformat
from hub.outbound.serialize import load_records, to_json, to_xml

if TYPE_CHECKING:
    from hub.ingest.store import BatchContext

log = logging.getLogger("govhub.delivery")


def enqueue(
    conn: Connection, peer: str, kind: str, items: list[tuple[Any, ...]], now: datetime, reason: str = "route"
) -> None:
    """Queue records for ``peer``: items are (source_system, record_key, version, ordering_key)
    and optionally (…, record_id, record_updated_at). The same record version queued twice
    for the same reason is queued once."""
    if not items:
        return
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(delivery)
    conn.execute(
        ins.on_conflict_do_nothing(),
        [
            {
                "peer": peer,
                "source_system": it[0],
                "kind": kind,
                "record_key": it[1],
                "record_version": it[2],
                "ordering_key": it[3],
                "record_id": it[4] if len(it) > 4 else None,
                "record_updated_at": it[5] if len(it) > 5 else None,
                "reason": reason,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
                "correlation_id": correlation.current(),
            }
            for it in items
        ],
    )


def enqueue_reports(conn: Connection, ctx: BatchContext, events: list[dict[str, Any]]) -> None:
    """The store's observer (``hub.ingest.store.BatchObserver``): queue the records a
    batch stored for every ``report_to`` peer of their source system, inside the batch's
    transaction (``events`` are the outbox rows the batch wrote)."""
    if not events or not ctx.report_to:
        return
    items = [(e["body"]["source_system"], e["record_key"], e["body"]["version"], e["record_key"]) for e in events]
    for peer in ctx.report_to:
        enqueue(conn, peer, ctx.kind.kind, items, events[0]["created_at"])


@dataclass
class Breaker:
    failures: int = 0
    open_until: float = 0.0


@dataclass
class Deliverer:
    engine: Engine
    batch_size: int = 100
    max_attempts: int = 8
    base_backoff: float = 1.0
    max_backoff: float = 600.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    adapters: dict[str, Adapter] = field(default_factory=dict)  # peer id → open adapter (reused between passes)
    resolve: Callable[[str], str | None] | None = None  # peer id → adapter URL (default: the catalogue's endpoint)
    breakers: dict[str, Breaker] = field(default_factory=dict)

    def adapter_for(self, peer: System) -> Adapter:
        if peer.id not in self.adapters:
            url = self.resolve(peer.id) if self.resolve else peer.endpoint
            if not url:
                raise TerminalError(f"system {peer.id} has no endpoint in the catalogue; add one to deliver to it")
            self.adapters[peer.id] = open_adapter(url)
        return self.adapters[peer.id]

    def close(self) -> None:
        for a in self.adapters.values():
            a.close()
        self.adapters.clear()

    def run_once(self, peer_id: str | None = None) -> Counter[str]:
        """One pass over every peer with due deliveries; returns counts by new status."""
        done: Counter[str] = Counter()
        with self.engine.connect() as conn:
            q = select(delivery.c.peer).where(delivery.c.status == DeliveryStatus.PENDING).distinct()
            peers = [r[0] for r in conn.execute(q)]
        for pid in peers:
            if peer_id is None or pid == peer_id:
                done.update(self._deliver_peer(pid))
        return done

    def _deliver_peer(self, peer_id: str) -> Counter[str]:
        done: Counter[str] = Counter()
        breaker = self.breakers.setdefault(peer_id, Breaker())
        while time.monotonic() >= breaker.open_until:
            now = clock.now()
            with self.engine.connect() as conn:
                rows = (
                    conn.execute(
                        select(delivery)
                        .where(delivery.c.peer == peer_id, delivery.c.status == DeliveryStatus.PENDING)
                        .order_by(delivery.c.id)
                        .limit(self.batch_size)
                    )
                    .mappings()
                    .all()
                )
            if not rows or rows[0]["next_attempt_at"] > now:
                break  # the oldest is backing off: everything behind it waits (order per case)
            rows = [r for r in rows if r["kind"] == rows[0]["kind"]]
            rows = self._drop_superseded(peer_id, rows)
            if not rows:
                continue
            with correlation.bound(_correlation_ids(rows)):
                outcome = self._send(peer_id, rows)
                log.info(
                    "delivery to %s of %d %s records (ids %d-%d): %s",
                    peer_id,
                    len(rows),
                    rows[0]["kind"],
                    rows[0]["id"],
                    rows[-1]["id"],
                    dict(outcome),
                )
            done.update(outcome)
            if outcome.get("retry"):
                break
        return done

    def _drop_superseded(self, peer_id: str, rows: Sequence[RowMapping]) -> list[RowMapping]:
        """A record version still waiting when a newer version of the same record is
        queued behind it is not sent: what goes out is the current record, once."""
        keys = {(r["source_system"], r["record_key"]) for r in rows}
        with self.engine.begin() as conn:
            latest: dict[tuple[str, str], int] = {}
            for src, key, rid in conn.execute(
                select(delivery.c.source_system, delivery.c.record_key, func.max(delivery.c.id))
                .where(
                    delivery.c.peer == peer_id,
                    delivery.c.kind == rows[0]["kind"],
                    delivery.c.status == DeliveryStatus.PENDING,
                    delivery.c.record_key.in_([k for _, k in keys]),
                )
                .group_by(delivery.c.source_system, delivery.c.record_key)
            ):
                latest[(src, key)] = rid
            stale = [r for r in rows if latest.get((r["source_system"], r["record_key"]), r["id"]) != r["id"]]
            for r in stale:
                conn.execute(
                    update(delivery)
                    .where(delivery.c.id == r["id"])
                    .values(
                        status=DeliveryStatus.SUPERSEDED,
                        peer_ref=f"delivery #{latest[(r['source_system'], r['record_key'])]}",
                        updated_at=clock.now(),
                    )
                )
        return [r for r in rows if r not in stale]

    def _send(self, peer_id: str, rows: Sequence[RowMapping]) -> Counter[str]:
        peer = systems().get(peer_id)
        breaker = self.breakers[peer_id]
        kind = rows[0]["kind"]
        message_id = f"govhub:{peer_id}:{kind}:{rows[0]['id']}-{rows[-1]['id']}"
        sent = Sent(peer_id, message_id)
        fmt: OutboundMapping | None = None
        try:
            if peer is None:
                raise TerminalError(f"peer {peer_id} is not in the catalogue")
            adapter = self.adapter_for(peer)
            fmt = peerformat.format_of(peer, kind)
            if fmt is not None:  # the peer's own format: records it cannot express are defects now
                prepared = peerformat.prepare(self.engine, fmt, peer_id, kind, rows, message_id)
                defects: Counter[str] = Counter({DeliveryStatus.DEFECT: len(prepared.rendered.defects)})
                rows = [r for r in rows if str(r["id"]) not in prepared.rendered.defects]
                if prepared.envelope is None or not rows:
                    return defects
                envelope = prepared.envelope
            else:
                envelope = self._envelope(peer, adapter, kind, rows, message_id)
            sent.keep(envelope.body)  # the exact bytes, by digest, before the attempt's outcome commits
            receipt = adapter.write(envelope)
        except TerminalError as exc:
            if len(rows) > 1:  # find the record the peer objects to: one at a time
                out: Counter[str] = Counter()
                for r in rows:
                    out.update(self._send(peer_id, [r]))
                    if out.get("retry"):
                        break
                return out
            self._mark(
                rows, status=DeliveryStatus.DEAD, error=f"refused: {exc.message}", message_id=message_id, sent=sent
            )
            log.error(
                "delivery %s to %s refused: %s", mask_key(kind, rows[0]["record_key"]), peer_id, mask_text(exc.message)
            )
            return Counter(dead=1)
        except AdapterError as exc:
            breaker.failures += 1
            if breaker.failures >= self.breaker_threshold:
                breaker.open_until = time.monotonic() + self.breaker_cooldown
                log.warning(
                    "peer %s failed %d times in a row; circuit open for %.0fs",
                    peer_id,
                    breaker.failures,
                    self.breaker_cooldown,
                )
            self._backoff(rows, f"{type(exc).__name__}: {exc.message}", message_id, sent)
            return Counter(retry=len(rows))
        breaker.failures, breaker.open_until = 0, 0.0
        if fmt is not None:
            return +(defects + peerformat.settle(self.engine, prepared, rows, receipt, message_id, sent))
        self._mark(rows, status=receipt.status, message_id=message_id, peer_ref=receipt.peer_ref, sent=sent)
        return Counter({receipt.status: len(rows)})

    def _envelope(
        self, peer: System, adapter: Adapter, kind: str, rows: Sequence[RowMapping], message_id: str
    ) -> Envelope:
        with self.engine.connect() as conn:
            by_source: dict[str, list[str]] = {}
            for r in rows:
                by_source.setdefault(r["source_system"], []).append(r["record_key"])
            current: dict[tuple[str, str], dict[str, Any]] = {}
            for src, keys in by_source.items():
                current.update({(src, k): v for k, v in load_records(conn, kind, keys, src).items()})
        records = [
            current[(r["source_system"], r["record_key"])]
            for r in rows
            if (r["source_system"], r["record_key"]) in current
        ]
        fmt = "json" if adapter.scheme == "rest" else "xml"
        body = to_json(kind, records, message_id) if fmt == "json" else to_xml(kind, records, message_id)
        name = f"{message_id.replace(':', '_')}.{fmt}"
        return Envelope(
            body,
            message_id,
            system="govhub",
            kind=kind,
            format=fmt,
            filename=name,
            headers={"operation": f"Report{dictionary_kind(kind).batch.capitalize()}"},
        )

    def _backoff(self, rows: Sequence[RowMapping], error: str, message_id: str, sent: Sent) -> None:
        now = clock.now()
        with self.engine.begin() as conn:
            for r in rows:
                attempts = r["attempts"] + 1
                values: dict[str, Any]
                if attempts >= self.max_attempts:
                    values = {"status": DeliveryStatus.DEAD}
                else:
                    delay = min(self.base_backoff * 2 ** (attempts - 1), self.max_backoff)
                    values = {"next_attempt_at": now + timedelta(seconds=delay)}
                conn.execute(
                    update(delivery)
                    .where(delivery.c.id == r["id"])
                    .values(
                        attempts=attempts,
                        last_error=mask_text(error)[:2000],
                        message_id=message_id,
                        updated_at=now,
                        **values,
                    )
                )
            sent.log(conn, "retry", None)  # after the delivery rows, as the store does: one lock order

    def _mark(
        self,
        rows: Sequence[RowMapping],
        status: str,
        message_id: str,
        error: str | None = None,
        peer_ref: str | None = None,
        sent: Sent | None = None,
    ) -> None:
        now = clock.now()
        with self.engine.begin() as conn:
            conn.execute(
                update(delivery)
                .where(delivery.c.id.in_([r["id"] for r in rows]))
                .values(
                    status=status,
                    attempts=delivery.c.attempts + 1,
                    message_id=message_id,
                    peer_ref=peer_ref,
                    last_error=mask_text(error)[:2000] if error else None,
                    updated_at=now,
                    delivered_at=now if status in DELIVERED else None,
                )
            )
            if sent is not None:  # after the delivery rows, as the store does: one lock order
                sent.log(conn, "refused" if status == DeliveryStatus.DEAD else status, peer_ref)


def _correlation_ids(rows: Sequence[RowMapping]) -> str:
    """The ingress ids of a batch, for its log lines (a batch may gather several pushes)."""
    ids = sorted({r["correlation_id"] for r in rows if r.get("correlation_id")})
    return ",".join(ids[:20]) + (f",+{len(ids) - 20}" if len(ids) > 20 else "") if ids else correlation.new_id()


def replay(engine: Engine, peer: str | None = None, ids: list[int] | None = None, status: str = "dead") -> int:
    """Send dead letters (or, ``status="defect"``, defects) again, after the peer, the
    mapping or the data was fixed; a defect is written anew from the current record."""
    cond = [delivery.c.status == status]
    if peer:
        cond.append(delivery.c.peer == peer)
    if ids:
        cond.append(delivery.c.id.in_(ids))
    now = clock.now()
    with engine.begin() as conn:
        return conn.execute(
            update(delivery)
            .where(and_(*cond))
            .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now)
        ).rowcount


def summary(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(delivery.c.peer, delivery.c.status, func.count(), func.min(delivery.c.created_at))
            .group_by(delivery.c.peer, delivery.c.status)
            .order_by(delivery.c.peer)
        ).all()
    return [{"peer": p, "status": s, "count": n, "oldest": o} for p, s, n, o in rows]


def listing(
    engine: Engine, peer: str | None = None, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    q = select(delivery).order_by(delivery.c.id.desc()).limit(limit)
    if peer:
        q = q.where(delivery.c.peer == peer)
    if status:
        q = q.where(delivery.c.status == status)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]
