"""A private three-node RabbitMQ cluster on loopback, for the node-loss fault test.

Three extra nodes (``govhub-cl<rand>-<i>@localhost``), each with its own AMQP and
distribution ports, data, log and config (``RABBITMQ_NODENAME``, ``RABBITMQ_NODE_PORT``,
``RABBITMQ_DIST_PORT``, ``RABBITMQ_MNESIA_BASE``…) and no plugins; the Erlang cookie is
the machine's (``rabbitmq-server`` and ``rabbitmqctl`` run as the rabbitmq user). Nodes 2
and 3 ``join_cluster`` node 1. The machine's own broker on 5672 is left alone.

Every ``rabbitmqctl`` call has a timeout, and :meth:`RabbitCluster.close` stops each node
it started — ``rabbitmqctl stop`` with a timeout, then SIGKILL of the pid the node
wrote — and checks that none of those pids is left.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import time
from pathlib import Path

from tests.faults.services import ServiceError, _private_dir, _run, free_port, wait_tcp


class ClusterNode:
    def __init__(self, name: str, base: Path):
        self.node = f"{name}@localhost"
        self.dir = base / name
        self.dir.mkdir()
        self.port, self.dist_port = free_port(), free_port()
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n")
        self.pidfile = self.dir / "node.pid"
        self.pids: set[int] = set()  # every VM this node ran, for close() to check

    @property
    def env(self) -> dict[str, str]:
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

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def ctl(self, *args: str, timeout: float = 60) -> str:
        return _run(["rabbitmqctl", "-n", self.node, *args], timeout=timeout, env=self.env).stdout

    def launch(self) -> None:
        self.pidfile.unlink(missing_ok=True)
        _run(["rabbitmq-server", "-detached"], env=self.env, timeout=60)

    def wait_up(self, timeout: float = 90) -> None:
        try:
            self.ctl("wait", str(self.pidfile), "--timeout", str(int(timeout)), timeout=timeout + 30)
            wait_tcp(self.port, 30)
        except ServiceError as exc:
            log = next(iter((self.dir / "log").glob("*.log")), None)
            tail = log.read_text(errors="replace")[-1500:] if log else "(no log)"
            raise ServiceError(f"RabbitMQ node {self.node} did not come up: {exc}\n{tail}") from None
        self.pids.add(self.pid())

    def pid(self) -> int:
        return int(self.pidfile.read_text().strip())

    def stop(self, timeout: float = 60) -> None:
        """The whole node (the Erlang VM exits); with the pid file ``stop`` waits for it."""
        self.ctl("stop", str(self.pidfile), timeout=timeout)

    def kill(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def running_pids(self) -> list[int]:
        alive = []
        for pid in self.pids:
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
        return alive


class RabbitCluster:
    def __init__(self, size: int = 3):
        if not shutil.which("rabbitmq-server") or not shutil.which("rabbitmqctl"):
            raise ServiceError("rabbitmq-server / rabbitmqctl not found; install rabbitmq-server")
        self.base = _private_dir("govhub-cluster-", "rabbitmq")
        tag = secrets.token_hex(2)
        self.nodes = [ClusterNode(f"govhub-cl{tag}-{i}", self.base) for i in range(1, size + 1)]
        if os.geteuid() == 0:
            for path in self.base.rglob("*"):
                shutil.chown(path, "rabbitmq", "rabbitmq")

    def start(self) -> RabbitCluster:
        for n in self.nodes:  # the VMs boot in parallel
            n.launch()
        for n in self.nodes:
            n.wait_up()
        first = self.nodes[0]
        for n in self.nodes[1:]:
            n.ctl("stop_app")
            n.ctl("join_cluster", first.node)
            n.ctl("start_app")
        running = self.running_nodes(first)
        if sorted(running) != sorted(n.node for n in self.nodes):
            raise ServiceError(f"the cluster did not form: running {running}")
        return self

    @property
    def url(self) -> str:
        """The multi-host broker URL the hub's processes use (kombu fails over in order)."""
        return ";".join(n.url for n in self.nodes)

    def running_nodes(self, asking: ClusterNode) -> list[str]:
        status = json.loads(asking.ctl("cluster_status", "--formatter", "json", timeout=60))
        return list(status.get("running_nodes", []))

    def quorum_leaders(self, asking: ClusterNode, prefix: str) -> dict[str, str]:
        """Queue name → the node leading it, for the quorum queues named ``prefix*``."""
        rows = json.loads(asking.ctl("list_queues", "name", "type", "leader", "--formatter", "json", timeout=60))
        return {r["name"]: r["leader"] for r in rows if r["name"].startswith(prefix) and r.get("type") == "quorum"}

    def quorum_members(self, asking: ClusterNode, prefix: str) -> dict[str, list[str]]:
        rows = json.loads(asking.ctl("list_queues", "name", "members", "online", "--formatter", "json", timeout=60))
        return {r["name"]: r for r in rows if r["name"].startswith(prefix)}

    def node(self, name: str) -> ClusterNode:
        return next(n for n in self.nodes if n.node == name)

    def close(self) -> list[int]:
        """Stop every node this cluster started; returns the pids still alive (none)."""
        for n in self.nodes:
            try:  # a node that never reported up may still have written its pid
                n.pids.add(n.pid())
            except (OSError, ValueError):
                pass
            if not n.running_pids():
                continue
            try:
                n.stop(timeout=45)
            except ServiceError:  # a hung or failed stop: our own VM, by the pid it wrote
                n.kill()
        deadline = time.monotonic() + 20
        while any(n.running_pids() for n in self.nodes) and time.monotonic() < deadline:
            time.sleep(0.2)
        for n in self.nodes:
            n.kill()
        left = [pid for n in self.nodes for pid in n.running_pids()]
        shutil.rmtree(self.base, ignore_errors=True)
        return left
