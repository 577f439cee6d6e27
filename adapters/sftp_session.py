"""The SSH side of ``sftp://`` (``adapters.sftp``): the URL and its options checked
(credentials, host-key checking, timeouts and the drop-folder settings), one paramiko
connection opened with the server's host key checked strictly, and what paramiko and the
socket raise translated to the adapter errors (``TransientError``, ``AuthError``,
``ConfigError`` saying what to fix)."""

from __future__ import annotations

import errno
import logging
import os
import posixpath
import socket
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

import paramiko

from adapters.base import Adapter
from adapters.errors import AdapterError, AuthError, ConfigError, TransientError

log = logging.getLogger("govhub.adapters.sftp")

OPTIONS = frozenset(
    {
        "password",
        "password_env",
        "key",
        "key_passphrase_env",
        "host_key",
        "known_hosts",
        "insecure_host_key",
        "pattern",
        "done",
        "stable_seconds",
        "require_checksum",
        "sidecar",
        "timeout",
        "max_file_bytes",
    }
)
MAX_FILE_BYTES = 256 * 1024 * 1024  # read into memory whole: a larger batch is split by the sender


class SftpSession(Adapter):
    """Options and connection of an ``sftp://`` adapter; ``SftpAdapter`` reads, acks and writes."""

    def __init__(self, url: str, **options):
        super().__init__(url, **options)
        unknown = sorted(set(self.options) - OPTIONS)
        if unknown:
            raise ConfigError(
                f"unknown sftp:// option(s) {', '.join(unknown)}; known: {', '.join(sorted(OPTIONS))}", peer=self.peer
            )
        p = self.parts
        try:
            self.port = p.port or 22
        except ValueError:
            raise ConfigError(f"the port in {self.peer!r} is not a number", peer=self.peer) from None
        if not p.hostname or not p.username:
            raise ConfigError("an sftp:// URL needs a user and a host: sftp://USER@HOST[:PORT]/DIR", peer=self.peer)
        self.host, self.user = p.hostname, unquote(p.username)
        path = unquote(p.path) or "/"
        self.dir = (path[3:] or ".") if path == "/~" or path.startswith("/~/") else posixpath.normpath(path)
        done = self.option("done", "done")
        self.done = done if done.startswith("/") else posixpath.join(self.dir, done)
        self.pattern = self.option("pattern", "*")
        self.stable_seconds = self._number("stable_seconds", 2.0)
        self.timeout = self._number("timeout", 15.0)
        self.max_file_bytes = self._bytes("max_file_bytes", MAX_FILE_BYTES)
        self.require_checksum = self._flag("require_checksum")
        self.sidecar = self._flag("sidecar")
        self.password = self._password(p.password)
        self.pkey = self._private_key()
        if self.pkey is None and self.password is None:
            raise ConfigError(
                "sftp:// needs credentials: ?key=PRIVATE_KEY_FILE, ?password_env=VARIABLE or ?password=...",
                peer=self.peer,
            )
        # a "+" pasted unescaped into the query string arrives as a space; base64 has no spaces
        self.host_key = (self.option("host_key") or "").replace(" ", "+").rstrip("=") or None
        if self.host_key and not self.host_key.startswith("SHA256:"):
            raise ConfigError(
                f"host_key must be a SHA256 fingerprint as `ssh-keygen -lf` prints it "
                f"(SHA256:...), not {self.host_key!r}",
                peer=self.peer,
            )
        self.insecure = self._flag("insecure_host_key")
        self.known_hosts = Path(self.option("known_hosts", "~/.ssh/known_hosts")).expanduser()
        if "known_hosts" in self.options and not self.known_hosts.is_file():
            raise ConfigError(f"known_hosts file {self.known_hosts} does not exist", peer=self.peer)
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._posix_rename = True  # until the server says it lacks the extension

    # -- options ----------------------------------------------------------------------

    def _number(self, name: str, default: float) -> float:
        value = self.option(name, default)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if number < 0:
            raise ConfigError(f"option {name} must be a number of seconds >= 0, not {value!r}", peer=self.peer)
        return number

    def _bytes(self, name: str, default: int) -> int:
        value = self.option(name, default)
        if not str(value).isdigit() or int(value) < 1:
            raise ConfigError(f"option {name} must be a number of bytes >= 1, not {value!r}", peer=self.peer)
        return int(value)

    def _flag(self, name: str) -> bool:
        value = str(self.option(name, "0"))
        if value not in ("0", "1"):
            raise ConfigError(f"option {name} must be 0 or 1, not {value!r}", peer=self.peer)
        return value == "1"

    def _password(self, in_url: str | None) -> str | None:
        var = self.option("password_env")
        if var:
            if var not in os.environ:
                raise ConfigError(
                    f"password_env names the environment variable {var}, which is not set", peer=self.peer
                )
            return os.environ[var]
        return self.option("password") or (unquote(in_url) if in_url else None)

    def _private_key(self) -> paramiko.PKey | None:
        path = self.option("key")
        if not path:
            return None
        var = self.option("key_passphrase_env")
        passphrase = os.environ.get(var) if var else None
        try:
            return paramiko.PKey.from_path(Path(path).expanduser(), passphrase)
        except FileNotFoundError:
            raise ConfigError(f"private key file {path} does not exist", peer=self.peer) from None
        except (paramiko.SSHException, ValueError, TypeError) as exc:
            raise ConfigError(
                f"cannot load private key {path}: {exc} (wrong passphrase? set key_passphrase_env)", peer=self.peer
            ) from None

    # -- connection ---------------------------------------------------------------------

    def _connect(self) -> paramiko.SFTPClient:
        if self._sftp is not None:
            return self._sftp
        known = self._known_keys()
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        # as OpenSSH does: without it each synchronous request waits out a delayed ACK (~40 ms)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = paramiko.Transport(sock)
        transport.banner_timeout = transport.auth_timeout = transport.handshake_timeout = self.timeout
        try:
            if known:
                # offer the key type we hold first, as ssh does, so the server presents that one
                opts = transport.get_security_options()
                mine = [t for t in opts.key_types if t in known or (t.startswith("rsa-sha2") and "ssh-rsa" in known)]
                opts.key_types = mine + [t for t in opts.key_types if t not in mine]
            transport.start_client(timeout=self.timeout)
            self._check_host_key(transport.get_remote_server_key(), known)
            self._authenticate(transport)
            sftp = paramiko.SFTPClient.from_transport(transport)
            # None only if no channel was opened, which open_session raises for instead
            assert sftp is not None
            channel = sftp.get_channel()
            assert channel is not None  # the channel from_transport opened
            channel.settimeout(self.timeout)
        except BaseException:
            transport.close()
            raise
        self._transport, self._sftp = transport, sftp
        return sftp

    def _known_keys(self) -> dict | None:
        if self.host_key or self.insecure:
            return None
        if not self.known_hosts.is_file():
            raise ConfigError(
                f"cannot check the host key of {self.host}: no {self.known_hosts}; set host_key=SHA256:... "
                "or known_hosts=FILE (insecure_host_key=1 only in tests)",
                peer=self.peer,
            )
        name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        keys = paramiko.HostKeys(str(self.known_hosts)).lookup(name)
        if not keys:
            raise ConfigError(
                f"{name} is not in {self.known_hosts}: check the server's fingerprint with its "
                f"administrator, then add it (ssh-keyscan -p {self.port} {self.host} >> {self.known_hosts})",
                peer=self.peer,
            )
        return dict(keys)

    def _check_host_key(self, key: paramiko.PKey, known: dict | None) -> None:
        if self.insecure:
            log.warning("%s: host key %s accepted unchecked (insecure_host_key=1)", self.peer, key.fingerprint)
            return
        if self.host_key:
            ok = key.fingerprint == self.host_key
        else:
            assert known is not None  # _known_keys gives None only for host_key or insecure
            ok = any(key == k for k in known.values())
        if not ok:
            raise ConfigError(
                f"the host key of {self.host}:{self.port} ({key.get_name()} {key.fingerprint}) does not "
                "match the configured one: if the server's key was changed on purpose, update host_key/"
                "known_hosts; otherwise someone may be intercepting the connection",
                peer=self.peer,
            )

    def _authenticate(self, transport: paramiko.Transport) -> None:
        if self.pkey is not None:
            try:
                transport.auth_publickey(self.user, self.pkey)
                return
            except paramiko.AuthenticationException:
                if self.password is None:
                    raise
        assert self.password is not None  # __init__ refuses neither key nor password
        transport.auth_password(self.user, self.password)

    def _drop(self) -> None:
        sftp, transport = self._sftp, self._transport
        self._sftp = self._transport = None
        for thing in (sftp, transport):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001 — already broken; we are discarding it
                    pass

    @contextmanager
    def _session(self, doing: str, path: str, needs: str):
        """Connect if needed and translate what paramiko and the socket raise while
        ``doing`` something to ``path`` (which needs ``needs`` permission)."""
        try:
            yield self._connect()
        except AdapterError:
            raise
        except paramiko.BadAuthenticationType as exc:
            self._drop()
            raise AuthError(
                f"{self.host} does not accept this kind of login for {self.user}; it allows: "
                f"{', '.join(exc.allowed_types)}",
                peer=self.peer,
            ) from None
        except paramiko.AuthenticationException:
            self._drop()
            raise AuthError(f"{self.host} refused the credentials of {self.user}", peer=self.peer) from None
        except (paramiko.SSHException, EOFError, TimeoutError, ConnectionError, socket.gaierror) as exc:
            self._drop()
            raise TransientError(
                f"{doing}: connection to {self.host}:{self.port} failed: {type(exc).__name__}: {exc}", peer=self.peer
            ) from None
        except OSError as exc:
            # SFTP status codes arrive as IOError: ENOENT, EACCES, or no errno ("Failure")
            if exc.errno == errno.ENOENT:
                raise ConfigError(
                    f"{doing}: {path} does not exist on {self.host}: create it or correct the folder in the URL",
                    peer=self.peer,
                ) from None
            if exc.errno == errno.EACCES:
                raise ConfigError(
                    f"{doing}: permission denied on {path}: grant {self.user} {needs} permission there on {self.host}",
                    peer=self.peer,
                ) from None
            if exc.errno is not None:  # a socket error (unreachable network...)
                self._drop()
            hint = " (is the server's disk or quota full?)" if needs == "write" else ""
            raise TransientError(
                f"{doing}: {self.host} failed on {path}: {exc.strerror or exc}{hint}", peer=self.peer
            ) from None
