"""A real SSH/SFTP server (paramiko, pure Python) serving one folder, for the tests and
the demo: the hub's SFTP adapter talks the actual protocol to it.

    python -m sandbox.sftp_server --root /tmp/drop --port 2222 --user dept --password secret
    # prints one JSON line: {"host": "127.0.0.1", "port": 2222, "host_key": "SHA256:...", "root": ...}

    server = start_sftp_server(root, "dept", "secret")
    host, port, stop = server            # unpacks as (host, port, stop)
    server.url("/drop", stable_seconds=0) # sftp://dept@127.0.0.1:PORT/drop?host_key=SHA256:...&password=secret

The client sees ``root`` as ``/``; no path escapes it. Users: one user with a password
and/or authorized public keys. Operations: list, stat/lstat, open (read, write,
append, create/exclusive/truncate), remove, rename (SFTPv3: refuses an existing target),
posix-rename@openssh.com (replaces it), mkdir, rmdir, setstat. Fault switches, settable
while running: ``quota_bytes`` (writes beyond this many bytes under root fail with
SSH_FX_FAILURE, as OpenSSH reports a full disk), ``read_only`` (every change is
SSH_FX_PERMISSION_DENIED), ``rogue_names`` (names a hostile server lists that cannot
exist on disk). ``ops`` records every request as ``(op, path)``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import paramiko
from paramiko.sftp import SFTP_FAILURE, SFTP_OK, SFTP_PERMISSION_DENIED

HOST = "127.0.0.1"


@dataclass
class ServerState:
    """What every session shares: the folder, the accounts and the fault switches."""

    root: Path
    user: str
    password: str | None
    authorized_keys: tuple[paramiko.PKey, ...] = ()
    quota_bytes: int | None = None
    read_only: bool = False
    # a broken or hostile server: names listed in a folder beyond what is on disk
    # ("../../etc/passwd.xml", "a\x00.xml"), {folder: [name, ...]}
    rogue_names: dict[str, list[str]] = field(default_factory=dict)
    ops: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def local(self, path: str) -> Path:
        """A client path → the file under root (``..`` cannot climb above root)."""
        return self.root / os.path.normpath("/" + path).lstrip("/")

    def used_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())


def _errno_status(exc: OSError) -> int:
    return paramiko.SFTPServer.convert_errno(exc.errno)


class _Auth(paramiko.ServerInterface):
    def __init__(self, state: ServerState):
        self.state = state

    def get_allowed_auths(self, username):
        kinds = (["password"] if self.state.password is not None else []) + (
            ["publickey"] if self.state.authorized_keys else []
        )
        return ",".join(kinds)

    def check_auth_password(self, username, password):
        ok = self.state.password is not None and username == self.state.user and password == self.state.password
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        ok = username == self.state.user and any(key == k for k in self.state.authorized_keys)
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class _Handle(paramiko.SFTPHandle):
    def __init__(self, flags: int, state: ServerState, f):
        super().__init__(flags)
        self.state = state
        self.readfile = self.writefile = f

    def write(self, offset, data):
        st = self.state
        if st.quota_bytes is not None:
            grows_by = max(0, offset + len(data) - os.fstat(self.writefile.fileno()).st_size)
            if st.used_bytes() + grows_by > st.quota_bytes:
                return SFTP_FAILURE  # what OpenSSH's sftp-server answers for ENOSPC
        return super().write(offset, data)

    def stat(self):
        try:
            return paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as exc:
            return _errno_status(exc)


class _Folder(paramiko.SFTPServerInterface):
    """The SFTP operations, on ``state.root``."""

    def __init__(self, server, state: ServerState, *args, **kwargs):
        super().__init__(server, *args, **kwargs)
        self.state = state

    def _log(self, op: str, path: str) -> Path:
        with self.state.lock:
            self.state.ops.append((op, path))
        return self.state.local(path)

    def canonicalize(self, path):
        return os.path.normpath("/" + path)

    def list_folder(self, path):
        local = self._log("list", path)
        try:
            out = []
            for name in sorted(os.listdir(local)):
                attr = paramiko.SFTPAttributes.from_stat(os.stat(local / name))
                attr.filename = name
                out.append(attr)
            for name in self.state.rogue_names.get(os.path.normpath("/" + path.lstrip("/")), ()):
                attr = paramiko.SFTPAttributes.from_stat(os.stat(local))  # as if a plain file
                attr.st_mode = 0o100644
                attr.filename = name
                out.append(attr)
            return out
        except OSError as exc:
            return _errno_status(exc)

    def stat(self, path):
        try:
            return paramiko.SFTPAttributes.from_stat(os.stat(self._log("stat", path)))
        except OSError as exc:
            return _errno_status(exc)

    def lstat(self, path):
        try:
            return paramiko.SFTPAttributes.from_stat(os.lstat(self._log("lstat", path)))
        except OSError as exc:
            return _errno_status(exc)

    def open(self, path, flags, attr):
        writing = flags & (os.O_WRONLY | os.O_RDWR)
        local = self._log("open-write" if writing else "open-read", path)
        if writing and self.state.read_only:
            return SFTP_PERMISSION_DENIED
        try:
            fd = os.open(local, flags, 0o644)
        except OSError as exc:
            return _errno_status(exc)
        append = flags & os.O_APPEND
        mode = (
            ("ab" if append else "wb")
            if flags & os.O_WRONLY
            else ("a+b" if append else "r+b")
            if flags & os.O_RDWR
            else "rb"
        )
        return _Handle(flags, self.state, os.fdopen(fd, mode))

    def _change(self, op: str, path: str, action: Callable[[Path], None]) -> int:
        local = self._log(op, path)
        if self.state.read_only:
            return SFTP_PERMISSION_DENIED
        try:
            action(local)
        except OSError as exc:
            return _errno_status(exc)
        return SFTP_OK

    def remove(self, path):
        return self._change("remove", path, os.remove)

    def rename(self, oldpath, newpath):
        target = self.state.local(newpath)
        if target.exists():
            self._log("rename", f"{oldpath} -> {newpath}")
            return SFTP_FAILURE  # SFTPv3: the target must not exist
        return self._change("rename", f"{oldpath} -> {newpath}", lambda _: os.rename(self.state.local(oldpath), target))

    def posix_rename(self, oldpath, newpath):
        return self._change(
            "posix-rename",
            f"{oldpath} -> {newpath}",
            lambda _: os.replace(self.state.local(oldpath), self.state.local(newpath)),
        )

    def mkdir(self, path, attr):
        return self._change("mkdir", path, os.mkdir)

    def rmdir(self, path):
        return self._change("rmdir", path, os.rmdir)

    def chattr(self, path, attr):
        def setattr_(local: Path):
            if not local.exists():
                raise FileNotFoundError(2, "no such file")
            paramiko.SFTPServer.set_file_attr(str(local), attr)

        return self._change("setstat", path, setattr_)


@dataclass
class SftpServer:
    """A running server. Unpacks as ``(host, port, stop)``; the switches on ``state``
    (``quota_bytes``, ``read_only``) apply to every session at once."""

    host: str
    port: int
    stop: Callable[[], None]
    host_key: paramiko.PKey
    state: ServerState

    def __iter__(self):
        return iter((self.host, self.port, self.stop))

    @property
    def fingerprint(self) -> str:
        return self.host_key.fingerprint

    def url(self, path: str = "/", **options) -> str:
        """An ``sftp://`` URL for the adapter: pinned host key, the test password."""
        opts = {
            "host_key": self.fingerprint,
            **({"password": self.state.password} if self.state.password else {}),
            **options,
        }
        return f"sftp://{quote(self.state.user)}@{self.host}:{self.port}{path}?{urlencode(opts)}"


def start_sftp_server(
    root,
    user: str,
    password: str | None,
    *,
    port: int = 0,
    host_key: paramiko.PKey | None = None,
    authorized_keys: tuple[paramiko.PKey, ...] = (),
    quota_bytes: int | None = None,
) -> SftpServer:
    """Serve ``root`` over SFTP on 127.0.0.1 (``port=0``: a free port), in threads."""
    state = ServerState(Path(root).resolve(), user, password, tuple(authorized_keys), quota_bytes)
    state.root.mkdir(parents=True, exist_ok=True)
    key = host_key or paramiko.ECDSAKey.generate(bits=256)
    listener = socket.create_server((HOST, port))
    listener.settimeout(0.2)
    stopping = threading.Event()
    transports: list[paramiko.Transport] = []

    def serve():
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = paramiko.Transport(conn)
            t.add_server_key(key)
            t.set_subsystem_handler("sftp", paramiko.SFTPServer, _Folder, state)
            # with an event, start_server returns at once: a client that never finishes
            # its handshake must not hold up the next one
            t.start_server(event=threading.Event(), server=_Auth(state))
            transports.append(t)

    thread = threading.Thread(target=serve, name=f"sftp-server:{listener.getsockname()[1]}", daemon=True)
    thread.start()

    def stop():
        if stopping.is_set():
            return
        stopping.set()
        try:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() at once (Linux)
        except OSError:
            pass
        thread.join(timeout=5)
        listener.close()
        for t in transports:
            t.close()

    return SftpServer(HOST, listener.getsockname()[1], stop, key, state)


def _load_public_key(path: str) -> paramiko.PKey:
    """A public key line as in authorized_keys (``ssh-ed25519 AAAA... comment``)."""
    kind, data = Path(path).read_text().split()[:2]
    return paramiko.PKey.from_type_string(kind, base64.b64decode(data))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m sandbox.sftp_server", description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, help="folder to serve (the client's /)")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: a free one)")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", help="the user's password (omit for key-only login)")
    ap.add_argument(
        "--authorized-key", action="append", default=[], metavar="FILE", help="a public key file; repeatable"
    )
    ap.add_argument(
        "--host-key", metavar="FILE", help="private host key (created if missing; default: a fresh one per run)"
    )
    ap.add_argument("--quota-bytes", type=int, help="simulate a full disk beyond this many bytes under root")
    args = ap.parse_args(argv)
    if not args.password and not args.authorized_key:
        ap.error("give --password or --authorized-key")
    key = None
    if args.host_key:
        if not Path(args.host_key).exists():
            paramiko.ECDSAKey.generate(bits=256).write_private_key_file(args.host_key)
        key = paramiko.PKey.from_path(args.host_key)
    server = start_sftp_server(
        args.root,
        args.user,
        args.password,
        port=args.port,
        host_key=key,
        authorized_keys=tuple(_load_public_key(p) for p in args.authorized_key),
        quota_bytes=args.quota_bytes,
    )
    print(
        json.dumps(
            {
                "host": server.host,
                "port": server.port,
                "host_key": server.fingerprint,
                "root": str(server.state.root),
                "user": args.user,
            }
        ),
        flush=True,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    server.stop()


if __name__ == "__main__":
    main()
