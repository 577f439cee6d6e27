"""The line-protocol listener: devices that write one event per line over TCP (vendor
formats with ``format: lines``, e.g. ``qline``), on a port of their own.

A session::

    → HELLO <hall> <api key>                 the hall's key, as for X-Api-Key
    ← OK <hall>                              (else NAK 0 bad_credentials, and the connection closes)
    → LX=QH;SB=QM01;XH=1001;SJ=…;PH=A012     one event per line, in the vendor's encoding
    ← ACK <n> stored|duplicate <event_id>    n counts the event lines from 1
    ← NAK <n> <reason>                       the line is quarantined: do not resend it
    ← ERR <n> unavailable                    the hub cannot store now: nothing kept, the
                                             connection closes; resend from line n later

Blank lines are ignored. A line longer than ``MAX_LINE`` bytes is quarantined as its first
``MAX_LINE`` bytes (the rest is skipped) and NAKed; a connection idle for ``IDLE``
seconds is closed, one that has not said HELLO within ``HELLO_WITHIN`` seconds too. At
most ``max_connections`` (default ``MAX_CONNECTIONS``) are open at once: each holds a
socket and a buffer, mostly idle, so an unbounded number would let anyone who reaches
the port exhaust the hub's file descriptors. One more is answered ``ERR 0 busy`` and
closed; a device tries again later. The protocol is plain TCP for the hall's own network;
the listener binds 127.0.0.1 unless told otherwise; put TLS in front (``ssl=``) when it
leaves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as _ssl

from sqlalchemy.exc import SQLAlchemyError

from devices.gateway import Gateway, Receipt
from devices.halls import Hall, hall_by_key

log = logging.getLogger("govhub.devices")
MAX_LINE = 64 * 1024  # far above any vendor's max_line, so the vendor's own limit answers first
IDLE = 300.0
HELLO_WITHIN = 30.0
MAX_CONNECTIONS = 256  # a large hall has a few dozen devices; the default ulimit is 1,024 descriptors


async def serve_lines(
    gateway: Gateway,
    host: str,
    port: int,
    vendor: str = "qline",
    ssl: _ssl.SSLContext | None = None,
    max_connections: int = MAX_CONNECTIONS,
) -> asyncio.Server:
    """Start listening; the caller closes the returned server (port 0: any free port)."""
    open_now = 0

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now
        if open_now >= max_connections:
            log.warning("line listener: %d connections open, one more refused (busy)", open_now)
            writer.write(b"ERR 0 busy\n")
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()
            return
        open_now += 1
        try:
            await _session(gateway, vendor, reader, writer)
        except (TimeoutError, ConnectionError):
            pass  # the device went away or fell silent; what it sent is answered already
        finally:
            open_now -= 1
            writer.close()

    server = await asyncio.start_server(session, host, port, limit=MAX_LINE, ssl=ssl)
    log.info("line listener (%s) on %s", vendor, ", ".join(str(s.getsockname()) for s in server.sockets))
    return server


async def _session(gateway: Gateway, vendor: str, reader, writer) -> None:
    hall = _hello(await asyncio.wait_for(_readline(reader), HELLO_WITHIN))
    if hall is None:
        writer.write(b"NAK 0 bad_credentials send HELLO <hall> <api key> first\n")
        await writer.drain()
        return
    writer.write(f"OK {hall.id}\n".encode("ascii"))
    await writer.drain()
    n = 0
    while True:
        line = await asyncio.wait_for(_readline(reader), IDLE)
        if line is None:
            return
        if not line.strip():
            continue
        n += 1
        try:
            receipt = await asyncio.to_thread(gateway.receive, hall.id, vendor, line)
        except SQLAlchemyError as exc:
            log.warning("line from hall %s not kept: database unavailable (%s)", hall.id, type(exc).__name__)
            writer.write(f"ERR {n} unavailable\n".encode("ascii"))
            await writer.drain()
            return
        writer.write(_answer(n, receipt))
        await writer.drain()


def _hello(line: bytes | None) -> Hall | None:
    parts = (line or b"").decode("ascii", "replace").split()
    if len(parts) != 3 or parts[0] != "HELLO":
        return None
    hall = hall_by_key(parts[2])
    return hall if hall is not None and hall.id == parts[1] else None


def _answer(n: int, receipt: Receipt) -> bytes:
    if receipt.refused is not None:
        return f"NAK {n} {receipt.refused.reason}\n".encode("ascii")
    (r,) = receipt.results
    if r.outcome == "quarantined":
        return f"NAK {n} {r.reason}\n".encode("ascii")
    return f"ACK {n} {r.outcome} {r.event_id}\n".encode("ascii")


async def _readline(reader: asyncio.StreamReader) -> bytes | None:
    """The next line (None at the end); an overlong one cut at ``MAX_LINE`` bytes."""
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        return exc.partial or None  # a last line without its newline still counts
    except asyncio.LimitOverrunError as exc:
        head = (await reader.readexactly(exc.consumed))[:MAX_LINE]
        while True:  # skip the rest of the line
            try:
                await reader.readuntil(b"\n")
                return head
            except asyncio.IncompleteReadError:
                return head
            except asyncio.LimitOverrunError as more:
                await reader.readexactly(more.consumed)
