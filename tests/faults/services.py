"""Private PostgreSQL and RabbitMQ instances for the fault suite, so it can restart them.

The shared services on 127.0.0.1:5432 and :5672 are used by the rest of the suite (and by
other developers on the same machine); restarting those would be a fault injected into
everyone else. Each of these is started from the distribution's binaries in a throwaway
folder, on a free port, and removed afterwards.

- ``PrivatePostgres``: ``initdb`` + ``pg_ctl`` (run as the ``postgres`` OS user when we
  are root, because initdb refuses root); ``restart(mode="immediate")`` is a crash
  restart, ``"fast"`` a clean one.
- ``PrivateRabbit``: a second RabbitMQ node (``govhub-faults-<rand>@localhost``) with no
  plugins (so no management or Prometheus port can clash with the shared node), its own
  config file (the machine's one pins the listener to 5672), data and log folders;
  ``restart()`` stops the whole node (the Erlang VM exits) and starts it again.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class ServiceError(RuntimeError):
    """A private instance could not be started (the message says what failed)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_tcp(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise ServiceError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s ({exc})") from None
            time.sleep(0.1)


def _run(cmd: list[str], timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceError(f"{' '.join(cmd[:4])}…: {exc}") from None
    if proc.returncode != 0:
        raise ServiceError(f"{' '.join(cmd)} exited {proc.returncode}: {(proc.stderr or proc.stdout)[-1500:]}")
    return proc


def _as_user(user: str) -> list[str]:
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


def _private_dir(prefix: str, owner: str) -> Path:
    # not under pytest's tmp_path: that is root-only (0700) and the service user must enter
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(path, owner, owner if owner != "postgres" else None)
    return path


class PrivatePostgres:
    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
        found = os.environ.get("GOVHUB_FAULTS_PG_BIN") or (str(Path(bins[-1]).parent) if bins else None)
        if not found or not Path(found, "initdb").exists():
            raise ServiceError(
                "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin; "
                "install postgresql or set GOVHUB_FAULTS_PG_BIN"
            )
        self.bin = Path(found)
        self.dir = _private_dir("govhub-faults-pg-", "postgres")
        self.data = self.dir / "data"
        self.port = free_port()
        self.restarts = 0

    def _ctl(self, *args: str, timeout: float = 60) -> None:
        _run([*_as_user("postgres"), str(self.bin / "pg_ctl"), "-D", str(self.data), *args], timeout=timeout)

    def start(self) -> PrivatePostgres:
        if not self.data.exists():
            _run(
                [
                    *_as_user("postgres"),
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "--locale=C",
                ]
            )
        # fsync off: a throwaway cluster; an immediate stop still makes PostgreSQL run crash
        # recovery on the next start, which is the fault we want
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self._ctl("-o", opts, "-l", str(self.dir / "server.log"), "-w", "-t", "60", "start")
        wait_tcp(self.port, 30)
        return self

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "immediate", down_for: float = 0.0) -> None:
        self.stop(mode)
        time.sleep(down_for)
        self.start()
        self.restarts += 1

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"govhub_faults_{secrets.token_hex(5)}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop("immediate")
        except ServiceError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRabbit:
    def __init__(self):
        if not shutil.which("rabbitmq-server") or not shutil.which("rabbitmqctl"):
            raise ServiceError("rabbitmq-server / rabbitmqctl not found; install rabbitmq-server")
        self.node = f"govhub-faults-{secrets.token_hex(3)}@localhost"
        self.dir = _private_dir("govhub-faults-rmq-", "rabbitmq")
        self.port, self.dist_port = free_port(), free_port()
        (self.dir / "enabled_plugins").write_text("[].\n")
        # the machine's rabbitmq.conf pins the AMQP listener to 5672: give this node its own
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n")
        if os.geteuid() == 0:
            for p in self.dir.iterdir():
                shutil.chown(p, "rabbitmq", "rabbitmq")
        self.pidfile = self.dir / "node.pid"
        self.restarts = 0

    @property
    def env(self) -> dict:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.pidfile),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
        }

    def ctl(self, *args: str, timeout: float = 90) -> str:
        return _run(["rabbitmqctl", "-n", self.node, *args], timeout=timeout, env=self.env).stdout

    def start(self) -> PrivateRabbit:
        _run(["rabbitmq-server", "-detached"], env=self.env, timeout=60)
        try:
            self.ctl("wait", str(self.pidfile), "--timeout", "90", timeout=120)
            wait_tcp(self.port, 30)
            self.wait_amqp(30)
        except ServiceError as exc:
            log = next(iter((self.dir / "log").glob("*.log")), None)
            tail = log.read_text(errors="replace")[-1500:] if log else "(no log)"
            raise ServiceError(f"RabbitMQ node {self.node} did not come up: {exc}\n{tail}") from None
        return self

    def wait_amqp(self, timeout: float) -> None:
        """An AMQP handshake, not just a TCP accept: the listener opens before vhosts are ready."""
        from kombu import Connection

        deadline = time.monotonic() + timeout
        while True:
            try:
                with Connection(self.url, connect_timeout=3) as conn:
                    conn.ensure_connection(max_retries=1)
                    conn.default_channel.basic_qos(0, 1, False)
                return
            except Exception as exc:  # noqa: BLE001 — any failure here means "not ready yet"
                if time.monotonic() > deadline:
                    raise ServiceError(f"no AMQP handshake on port {self.port}: {exc}") from None
                time.sleep(0.3)

    def stop(self) -> None:
        # with the pid file, ``stop`` returns only once the Erlang VM has exited
        self.ctl("stop", str(self.pidfile))

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()
        self.restarts += 1

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def close(self) -> None:
        try:
            self.stop()
        except ServiceError:
            try:  # our own node only: the pid it wrote
                os.kill(int(self.pidfile.read_text().strip()), 9)
            except (OSError, ValueError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
