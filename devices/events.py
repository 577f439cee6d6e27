"""Canonical hall-device events (大厅设备事件): what every vendor format is normalised to.

| kind | model | what happened | routing key |
|---|---|---|---|
| ``queue`` | :class:`QueueEvent` | a ticket (号票) was ``issued`` 取号, ``called`` 叫号, ``served`` 办结, ``abandoned`` 弃号/过号, or an ID card was read for it (``id_read`` 刷身份证) | ``device.queue.{hall}`` |
| ``window`` | :class:`WindowEvent` | a window terminal changed status: 未登录 / 空闲 / 正在办理 / 暂停 / 考勤异常 | ``device.window.{hall}`` |
| ``evaluation`` | :class:`EvaluationEvent` | a satisfaction rating (满意度评价, 好差评 channel ``4`` 大厅评价器), 1 非常不满意 … 5 非常满意 | ``device.evaluation.{hall}`` |

Common fields: ``event_id`` (deterministic, so a resent event dedupes), ``hall``,
``device_id``, ``vendor``, ``seq`` (the vendor's sequence number), ``occurred_at`` (naive
China Standard Time, to the second), ``received_at`` (the hub's clock).

Personal data: an ID number read by a card reader never enters an event. ``person`` holds
the masked number and a keyed hash (HMAC-SHA256 with the hub's person key), so the same
person links across events and days without the number being exposed. The key is
``$GOVHUB_PERSON_KEY``, else ``$GOVHUB_HOME/person.key`` (made on first use); every hub
process that links people must use the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    field_serializer,
    field_validator,
    model_validator,
)

from hub.core.config import load_settings
from hub.model.codes import idcard
from hub.model.masking import mask_id, mask_text

QueueAction = Literal["issued", "called", "served", "abandoned", "id_read"]
WindowStatus = Literal["未登录", "空闲", "正在办理", "暂停", "考勤异常"]
QUEUE_ACTIONS: tuple[QueueAction, ...] = get_args(QueueAction)
WINDOW_STATUSES: tuple[WindowStatus, ...] = get_args(WindowStatus)
HALL_PAD_CHANNEL: Final = "4"  # 好差评 评价渠道: 4 = 政务服务大厅评价器
PERSON_KEY_ENV = "GOVHUB_PERSON_KEY"

# Fields that say where an event came from rather than what happened: the same happening
# reported through two vendor formats differs only in these.
SOURCE_FIELDS = frozenset({"event_id", "vendor", "seq", "received_at"})

Ident = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
]
TicketNo = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16, pattern=r"^[A-Za-z0-9\-]+$")
]
StaffId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
]
# Printable text: control characters in a name or number mean a garbled frame.
Text16 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Text64 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
]


def event_id(vendor: str, hall: str, device_id: str, seq: str, occurred_at: datetime) -> str:
    """``dev-`` + 32 hex digits. The time is part of the identity because many devices
    restart their sequence daily or on reboot; a resend repeats both, so it still dedupes."""
    raw = "\x1f".join((vendor, hall, device_id, seq, occurred_at.strftime("%Y-%m-%d %H:%M:%S")))
    return "dev-" + hashlib.blake2b(raw.encode("utf-8"), digest_size=16).hexdigest()


def person_key(home: Path) -> bytes:
    """The person-hash key: ``$GOVHUB_PERSON_KEY``, else ``home/person.key``, created once."""
    env = load_settings().person_key  # PERSON_KEY_ENV
    if env:
        return env.encode("utf-8")
    path = home / "person.key"
    home.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip().encode("ascii")
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip().encode("ascii")


class PersonRef(BaseModel):
    """A person identified by an ID card, without the number: links, never reveals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    id_masked: str

    @classmethod
    def from_id_number(cls, number: str, key: bytes) -> PersonRef:
        """Validate (GB 11643; raises ``hub.model.codes.CodeError``, message masked) and hash."""
        v = idcard.validate(number)
        return cls(id_hash=hmac.new(key, v.encode("ascii"), hashlib.sha256).hexdigest()[:32], id_masked=mask_id(v))


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str
    hall: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,32}$")]
    device_id: Ident
    vendor: str
    seq: Ident
    occurred_at: datetime
    received_at: datetime
    if TYPE_CHECKING:
        # each event model declares its kind as a Literal field; declared here only for the type
        # checker, so the field keeps its place in the subclass (and in the wire JSON)
        kind: str

    @property
    def routing_key(self) -> str:
        return f"device.{self.kind}.{self.hall}"

    def happening(self) -> dict:
        """What happened, without where the report came from (see ``SOURCE_FIELDS``)."""
        return {k: v for k, v in self.wire().items() if k not in SOURCE_FIELDS}

    def wire(self) -> dict:
        """The JSON body published on the bus and stored in ``device_event``."""
        return self.model_dump(mode="json", exclude_none=True)

    @field_serializer("occurred_at", "received_at", when_used="json")
    def _cst(self, value: datetime) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S")  # the hub's canonical time form (naive CST)


class QueueEvent(_Event):
    """取号 / 叫号 / 办结 / 弃号 / 刷身份证 for one ticket."""

    kind: Literal["queue"] = "queue"
    action: QueueAction
    ticket_no: TicketNo
    item_code: Text64 | None = None  # 事项编码 or the queue's name (业务类型)
    window_no: Text16 | None = None
    person: PersonRef | None = None  # the card read at id_read, or swiped to take the ticket

    @model_validator(mode="after")
    def _per_action(self):
        if self.action == "issued" and not self.item_code:
            raise ValueError("item_code: an issued ticket names its item or queue")
        if self.action in ("called", "served") and not self.window_no:
            raise ValueError(f"window_no: a {self.action} ticket names its window")
        if self.action == "id_read" and self.person is None:
            raise ValueError("person: an id_read event carries the ID number read")
        if self.person is not None and self.action not in ("issued", "id_read"):
            # 刷身份证取号: a ticket can be issued by swiping a card; later steps never read one.
            raise ValueError(f"person: a {self.action} event carries no ID number")
        return self


class WindowEvent(_Event):
    """窗口终端状态: the status a window terminal reports."""

    kind: Literal["window"] = "window"
    window_no: Text16
    staff_id: StaffId | None = None  # 工号; none while 未登录
    status: WindowStatus


class EvaluationEvent(_Event):
    """满意度评价 from a hall evaluation pad: one 好差评 rating (channel 4)."""

    kind: Literal["evaluation"] = "evaluation"
    window_no: Text16
    staff_id: StaffId | None = None
    ticket_no: TicketNo | None = None
    case_no: Text64 | None = None  # 办件编号, when the pad knows the case
    satisfaction: Annotated[int, Field(ge=1, le=5)]  # 1 非常不满意 … 5 非常满意
    channel: Literal["4"] = HALL_PAD_CHANNEL
    comment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] | None = None

    @model_validator(mode="after")
    def _subject(self):
        if not (self.ticket_no or self.case_no):
            raise ValueError("ticket_no: an evaluation names the ticket or the case it rates")
        return self

    @field_validator("comment")
    @classmethod
    def _masked(cls, v):
        # Free text goes upward in 好差评 reports; an ID or phone number typed into it must not.
        return None if v is None else mask_text(v)


MODELS: dict[str, type[_Event]] = {"queue": QueueEvent, "window": WindowEvent, "evaluation": EvaluationEvent}
DeviceEvent = Annotated[QueueEvent | WindowEvent | EvaluationEvent, Field(discriminator="kind")]
EVENT_ADAPTER: TypeAdapter[DeviceEvent] = TypeAdapter(DeviceEvent)
