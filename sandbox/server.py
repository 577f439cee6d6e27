"""Run any ASGI app (a sandbox peer, the hub's own app) on 127.0.0.1 in a background
thread with uvicorn, for tests that need a real HTTP server.

    base_url, stop = run_in_thread(app)   # e.g. "http://127.0.0.1:41237"
    try: ... finally: stop()

The listening socket is bound before the server starts, so the port cannot be taken by
someone else in between; ``stop`` shuts the server down and joins the thread.
"""

from __future__ import annotations

import socket
import threading
import time


def run_in_thread(app, startup_timeout: float = 10.0):
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn:{port}")
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the test server on port {port} did not start")
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return f"http://127.0.0.1:{port}", stop


def free_port() -> int:
    """A port nothing listens on right now (for "peer unreachable" tests and child processes)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
