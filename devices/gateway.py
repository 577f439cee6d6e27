"""The hall-device gateway: vendor payload → canonical events → stored once → on the bus.

- :func:`read` / :func:`normalise`: a payload in a vendor format (``devices/vendors``)
  becomes canonical events (``devices.events``); malformed input raises
  :class:`DeviceInputError` with a reason (see ``devices.framing.REASONS``).
- :func:`publish`: events onto ``govhub.events`` with routing key
  ``device.{kind}.{hall}``, JSON body = ``event.wire()``, ``message_id`` = ``event_id``.
- :class:`Gateway`: what the HTTP endpoint and the line listener call. Per payload it
  normalises, stores new events in ``device_event`` (a resend is a ``duplicate``),
  quarantines every malformed event — or the whole payload when it is unreadable — with
  its reason and original bytes (kind ``device``, system ``hall:<hall>``), then publishes
  what is not published yet. Delivery on the bus is at least once: subscribers dedupe
  by ``message_id``. If the bus is away, stored events wait and go out with a later
  payload or :meth:`Gateway.flush`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from kombu import Connection, Producer
from kombu.exceptions import KombuError
from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from devices.events import MODELS, DeviceEvent, PersonRef, event_id, person_key
from devices.framing import DeviceInputError, pieces
from devices.store import insert_new, mark_published, take_unpublished
from devices.vendors import UnknownVendor, Vendor, get_vendor, vendors
from hub.bus import topology as bus
from hub.core import clock
from hub.core.clock import CST
from hub.core.config import Settings
from hub.db.tables import quarantine
from hub.model.codes import CodeError
from hub.model.outcomes import RECORD_OUTCOMES, Outcome, QuarantineStatus
from hub.worker.process import quarantine_message

__all__ = ["DeviceInputError", "Gateway", "Item", "Receipt", "Result", "normalise", "publish", "read"]

log = logging.getLogger("govhub.devices")
# A device is waiting for the answer: when the bus is away, give up quickly; the events
# are stored and go out with a later flush.
_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}
_CONNECT = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.3, "interval_max": 0.5}


@dataclass(frozen=True)
class Item:
    """One event's worth of a payload: the canonical event, or why there is none."""

    position: int  # line number (lines) or index from 1 (json, xml)
    fragment: bytes  # the event as received (UTF-8 when it could be decoded), for the quarantine
    event: DeviceEvent | None
    error: DeviceInputError | None


def read(
    vendor: str, payload: bytes, *, hall: str, person_key: bytes, received_at: datetime | None = None
) -> list[Item]:
    """Every event of ``payload``, each normalised or with its error. Raises
    ``DeviceInputError`` only when the payload as a whole is unreadable."""
    try:
        v = get_vendor(vendor)
    except UnknownVendor as exc:
        raise DeviceInputError("vendor_unknown", str(exc)) from None
    received_at = (received_at or clock.now()).replace(microsecond=0)
    items = []
    for position, fragment, fields in pieces(v, payload):
        if isinstance(fields, DeviceInputError):
            items.append(Item(position, fragment, None, fields))
            continue
        try:
            items.append(Item(position, fragment, _event(v, fields, hall, person_key, received_at), None))
        except DeviceInputError as exc:
            where = "line" if v.format == "lines" else "event"
            items.append(
                Item(position, fragment, None, DeviceInputError(exc.reason, f"{where} {position}: {exc.message}"))
            )
    return items


def normalise(
    vendor: str, payload: bytes, *, hall: str, person_key: bytes, received_at: datetime | None = None
) -> list[DeviceEvent]:
    """All canonical events of ``payload``; the first malformed one raises ``DeviceInputError``."""
    items = read(vendor, payload, hall=hall, person_key=person_key, received_at=received_at)
    events: list[DeviceEvent] = []
    for it in items:
        if it.error:
            raise it.error
        assert it.event is not None  # an item holds its event or its error
        events.append(it.event)
    return events


def _event(v: Vendor, fields: dict, hall: str, key: bytes, received_at: datetime):
    code = fields.get(v.type_field)
    if code is None or code == "":
        raise DeviceInputError("field_missing", f"{v.type_field!r} (what happened) is missing")
    etype = v.types.get(str(code).strip())
    if etype is None:
        raise DeviceInputError(
            "type_unknown", f"{v.type_field}={str(code)[:40]!r} is not a type of {v.name}; known: {', '.join(v.types)}"
        )
    model = MODELS[etype.kind]
    data: dict = {"kind": etype.kind, "hall": hall, "vendor": v.name, "received_at": received_at}
    if etype.action:
        data["action"] = etype.action
    for canon, name in v.fields.items():
        raw = fields.get(name)
        if (canon == "id_number" and "person" not in model.model_fields) or (
            canon != "id_number" and canon not in model.model_fields
        ):
            continue  # another kind's field (a vendor may send its whole record every time)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if isinstance(raw, (bool, float)):
            raise DeviceInputError(
                "field_format", f"{canon} ({v.name} field {name!r}) is a {type(raw).__name__}, not text or an integer"
            )
        value = str(raw).strip()
        # code tables exist only for status and satisfaction (devices.vendors.CODED)
        if canon in v.code_tables:
            table = v.code_tables[canon]
            if value not in table:
                raise DeviceInputError(
                    "code_unknown",
                    f"{canon} ({v.name} field {name!r}): code {value[:20]!r} is not in "
                    f"the {v.name} table; known: {', '.join(table)}",
                )
            data[canon] = table[value]
        elif canon == "occurred_at":
            data[canon] = _time(v, name, value)
        elif canon == "id_number":
            data["person"] = _person(name, value, key)
        else:
            data[canon] = value
    missing = [f"{c} ({v.name} field {v.fields[c]!r})" for c in ("device_id", "seq", "occurred_at") if c not in data]
    if missing:
        raise DeviceInputError("field_missing", f"{', '.join(missing)} missing")
    data["event_id"] = event_id(v.name, hall, data["device_id"], data["seq"], data["occurred_at"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(v, etype.kind, exc) from None


def _invalid(v: Vendor, kind: str, exc: ValidationError) -> DeviceInputError:
    """The first problem, named by canonical and vendor field; never the value."""
    err = exc.errors(include_input=False)[0]
    msg = err["msg"].removeprefix("Value error, ")
    # Field errors carry the field in loc; the models' cross-field checks start their message with it.
    canon = str(err["loc"][0]) if err["loc"] else msg.split(":", 1)[0]
    msg = msg.removeprefix(canon + ":").strip()
    name = v.fields.get("id_number" if canon == "person" else canon)
    where = f"{canon} ({v.name} field {name!r})" if name else canon
    reason = "field_missing" if err["type"] in ("missing", "value_error") else "field_format"
    return DeviceInputError(reason, f"{kind}: {where}: {msg}")


def _time(v: Vendor, name: str, value: str) -> datetime:
    fmt = v.time_format
    try:
        if fmt in ("epoch_ms", "epoch_s"):
            if not value.isdigit():
                raise ValueError
            dt = datetime.fromtimestamp(int(value) / (1000 if fmt == "epoch_ms" else 1), CST)
        elif fmt == "iso":
            dt = datetime.fromisoformat(value)
        else:
            dt = datetime.strptime(value, fmt)
    except (ValueError, OverflowError, OSError):
        raise DeviceInputError("time_invalid", f"occurred_at ({v.name} field {name!r}) is not {fmt}") from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(CST).replace(tzinfo=None)  # canonical times are naive CST
    return dt.replace(microsecond=0)


def _person(name: str, value: str, key: bytes) -> PersonRef:
    try:
        return PersonRef.from_id_number(value, key)
    except CodeError as exc:  # its message is masked already
        raise DeviceInputError("id_invalid", f"{name}: {exc.message} ({exc.reason})") from None


def publish(conn: Connection, events) -> None:
    """Put canonical events on ``govhub.events`` (confirmed on RabbitMQ)."""
    _send(conn, [(e.event_id, e.kind, e.hall, e.wire()) for e in events])


def _send(conn: Connection, messages: list[tuple[str, str, str, dict]]) -> None:
    producer = Producer(conn.default_channel)
    for eid, kind, hall, body in messages:
        producer.publish(
            body,
            exchange=bus.EVENTS,
            routing_key=f"device.{kind}.{hall}",
            serializer="json",
            message_id=eid,
            headers={"kind": f"device.{kind}", "hall": hall},
            delivery_mode=2,
            declare=[bus.EVENTS],
            retry=True,
            retry_policy=_RETRY,
        )


@dataclass(frozen=True)
class Result:
    position: int
    outcome: Outcome  # stored | duplicate | quarantined
    event_id: str | None = None
    kind: str | None = None
    reason: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Receipt:
    """What became of one payload. ``refused``: it was unreadable as a whole (and is
    quarantined as a whole); otherwise one result per event, in payload order."""

    hall: str
    vendor: str
    results: tuple[Result, ...]
    refused: DeviceInputError | None = None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {o: 0 for o in RECORD_OUTCOMES}
        for r in self.results:
            out[r.outcome] += 1
        if self.refused:
            out[Outcome.QUARANTINED] += 1
        return out


class Gateway:
    """Normalise, dedupe, store, publish; quarantine what is malformed. Thread-safe."""

    def __init__(self, settings: Settings, engine: Engine, key: bytes | None = None):
        vendors()  # a broken vendor file stops the service at start, not at the first event
        self.settings, self.engine = settings, engine
        self.person_key = key or person_key(settings.home)
        self._lock = threading.Lock()  # one kombu connection, used by one thread at a time
        self._conn: Connection | None = None

    def receive(self, hall: str, vendor: str, payload: bytes) -> Receipt:
        """Raises only ``SQLAlchemyError`` (database away): then nothing is kept, the device
        must send again."""
        try:
            items = read(vendor, payload, hall=hall, person_key=self.person_key)
        except DeviceInputError as exc:
            self._quarantine(hall, vendor, payload, exc)
            return Receipt(hall, vendor, (), exc)
        with self.engine.begin() as db:
            new = insert_new(db, [it.event for it in items if it.event is not None])
        results = []
        for it in items:
            if it.error:
                self._quarantine(hall, vendor, it.fragment, it.error)
                results.append(
                    Result(it.position, Outcome.QUARANTINED, reason=it.error.reason, message=it.error.message)
                )
                continue
            e = it.event
            assert e is not None  # an item holds its event or its error
            results.append(
                Result(it.position, Outcome.STORED if e.event_id in new else Outcome.DUPLICATE, e.event_id, e.kind)
            )
            new.discard(e.event_id)  # a repeat later in the same payload is a duplicate
        self.flush()
        return Receipt(hall, vendor, tuple(results))

    def flush(self, limit: int = 500) -> int:
        """Publish stored events not published yet (oldest first); return how many."""
        with self._lock:
            conn = self._connection()  # lazy: nothing connects before the first publish
            try:
                with self.engine.begin() as db:
                    rows = take_unpublished(db, limit)
                    if rows:
                        _send(conn, [(r["event_id"], r["kind"], r["hall"], r["body"]) for r in rows])
                        mark_published(db, [r["id"] for r in rows], clock.now())
                return len(rows)
            except (*conn.connection_errors, *conn.channel_errors, KombuError, SQLAlchemyError, OSError) as exc:
                # bus or database away: the events stay stored, unpublished
                log.warning(
                    "device events not published yet (%s: %s); they go out with the next flush",
                    type(exc).__name__,
                    str(exc)[:200],
                )
                self._close()
                return 0

    def close(self) -> None:
        with self._lock:
            self._close()

    def _connection(self) -> Connection:
        if self._conn is None:
            # Only the events exchange is needed (declared on publish); the hub's own queues
            # are the worker's business.
            self._conn = bus.connect(self.settings, **_CONNECT)
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.release()
            finally:
                self._conn = None

    def _quarantine(self, hall: str, vendor: str, body: bytes, error: DeviceInputError) -> None:
        """Quarantine once: a device that resends the same malformed bytes adds no row."""
        system = f"hall:{hall}"
        vendor = vendor if vendor in vendors() else "unknown"  # the URL's word, of any length
        message_id = f"{vendor}-{hashlib.blake2b(body, digest_size=12).hexdigest()}"
        with self.engine.connect() as db:
            seen = db.execute(
                select(quarantine.c.id)
                .where(
                    quarantine.c.source_system == system,
                    quarantine.c.message_id == message_id,
                    quarantine.c.status == QuarantineStatus.OPEN,
                )
                .limit(1)
            ).first()
        if seen is None:
            quarantine_message(
                self.engine, system, "device", message_id, body, error.reason, error.message, f"devices/{vendor}"
            )
        log.info("device input from hall %s (%s) quarantined: %s: %s", hall, vendor, error.reason, error.message)
