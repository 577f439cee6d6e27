"""Queue statistics (排队统计) by hour, per window and per item, from stored queue events.

Each ticket is followed through its day, keyed by hall and ticket number (numbers
restart every day), and counted in the hour it was **issued**, so that every figure of
a row describes the same tickets:

| figure | meaning |
|---|---|
| ``tickets`` | item rows: tickets issued; window rows: those of them the window called or served |
| ``called``, ``served`` | of those, how many were called / served |
| ``abandoned`` | of those, how many were abandoned (弃号 / 过号) and never served |
| ``abandon_rate`` | ``abandoned / tickets`` |
| ``wait_avg_s``, ``wait_max_s`` | waiting time: issued → first call, seconds |
| ``service_avg_s``, ``service_max_s`` | service time: last call before service → served, seconds |

A ticket's window is the one that last called (or served) it: a ticket sent on to
another window counts for the window that finished it. Tickets seen without their
``issued`` event cannot be placed in an hour or an item and are only counted
(``unmatched``). A negative duration (two devices' clocks disagreeing) is left out of
the averages.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine, select

from devices.store import device_event


@dataclass
class _Ticket:
    issued_at: datetime | None = None
    item: str | None = None
    first_call: datetime | None = None
    last_call: datetime | None = None
    window: str | None = None
    served_at: datetime | None = None
    service_from: datetime | None = None
    abandoned_at: datetime | None = None


@dataclass(frozen=True)
class StatRow:
    hall: str
    hour: int  # 0–23, the hour the tickets were issued (CST)
    dimension: str  # window | item
    key: str
    tickets: int
    called: int
    served: int
    abandoned: int
    abandon_rate: float
    wait_avg_s: int | None
    wait_max_s: int | None
    service_avg_s: int | None
    service_max_s: int | None


@dataclass(frozen=True)
class QueueStats:
    day: date
    hall: str | None
    rows: list[StatRow]
    unmatched: dict[str, int] = field(default_factory=dict)  # hall → tickets without an issued event

    def as_dict(self) -> dict:
        """JSON-ready: ``{"date", "hall", "by_window": [...], "by_item": [...], "unmatched"}``."""

        def row(r: StatRow) -> dict:
            d = asdict(r)
            d["hour"] = f"{r.hour:02d}:00"
            del d["dimension"]
            return d

        return {
            "date": self.day.isoformat(),
            "hall": self.hall,
            "by_window": [row(r) for r in self.rows if r.dimension == "window"],
            "by_item": [row(r) for r in self.rows if r.dimension == "item"],
            "unmatched": dict(self.unmatched),
        }


def queue_stats(engine: Engine, day: date, hall: str | None = None) -> QueueStats:
    start = datetime.combine(day, time())
    q = (
        select(
            device_event.c.hall,
            device_event.c.action,
            device_event.c.ticket_no,
            device_event.c.item_code,
            device_event.c.window_no,
            device_event.c.occurred_at,
        )
        .where(
            device_event.c.kind == "queue",
            device_event.c.occurred_at >= start,
            device_event.c.occurred_at < start + timedelta(days=1),
        )
        .order_by(device_event.c.occurred_at, device_event.c.id)
    )
    if hall is not None:
        q = q.where(device_event.c.hall == hall)
    tickets: dict[tuple[str, str], _Ticket] = {}
    with engine.connect() as conn:
        for r in conn.execute(q):
            _follow(tickets.setdefault((r.hall, r.ticket_no), _Ticket()), r)
    groups: dict[tuple[str, int, str, str], list[_Ticket]] = {}
    unmatched: dict[str, int] = {}
    for (h, _no), t in tickets.items():
        if t.issued_at is None:
            unmatched[h] = unmatched.get(h, 0) + 1
            continue
        groups.setdefault((h, t.issued_at.hour, "item", t.item or "?"), []).append(t)
        if t.window is not None:
            groups.setdefault((h, t.issued_at.hour, "window", t.window), []).append(t)
    rows = [_row(key, ts) for key, ts in sorted(groups.items())]
    return QueueStats(day, hall, rows, unmatched)


def _follow(t: _Ticket, r) -> None:
    if r.action == "issued" and t.issued_at is None:
        t.issued_at, t.item = r.occurred_at, r.item_code
    elif r.action == "called" and t.served_at is None:
        t.first_call = t.first_call or r.occurred_at
        t.last_call, t.window = r.occurred_at, r.window_no
    elif r.action == "served" and t.served_at is None:
        t.served_at, t.service_from = r.occurred_at, t.last_call
        t.window = r.window_no or t.window
    elif r.action == "abandoned" and t.abandoned_at is None:
        t.abandoned_at = r.occurred_at


def _seconds(pairs) -> list[int]:
    return [int((b - a).total_seconds()) for a, b in pairs if a is not None and b is not None and b >= a]


def _row(key: tuple[str, int, str, str], ts: list[_Ticket]) -> StatRow:
    hall, hour, dimension, k = key
    waits = _seconds((t.issued_at, t.first_call) for t in ts)
    services = _seconds((t.service_from, t.served_at) for t in ts)
    abandoned = sum(1 for t in ts if t.abandoned_at is not None and t.served_at is None)
    return StatRow(
        hall=hall,
        hour=hour,
        dimension=dimension,
        key=k,
        tickets=len(ts),
        called=sum(1 for t in ts if t.first_call is not None),
        served=sum(1 for t in ts if t.served_at is not None),
        abandoned=abandoned,
        abandon_rate=round(abandoned / len(ts), 4),
        wait_avg_s=round(sum(waits) / len(waits)) if waits else None,
        wait_max_s=max(waits, default=None),
        service_avg_s=round(sum(services) / len(services)) if services else None,
        service_max_s=max(services, default=None),
    )
