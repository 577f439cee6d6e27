"""``sftp://`` — a folder on a department's SFTP server used as a batch drop (paramiko).

    sftp://hub@10.32.5.81:22/outbox?pattern=*.xml&password_env=CS_SFTP_PASSWORD&known_hosts=/etc/govhub/known_hosts

Connection string
    ``sftp://USER@HOST[:PORT]/DIR`` — ``DIR`` is absolute on the server; ``/~/DIR`` is
    relative to the login folder.
Options (query string, or keyword arguments to ``open_adapter``)
    password / password_env   the password, or the name of an environment variable holding it
                              (prefer password_env: a password in the URL is a secret in configuration)
    key / key_passphrase_env  a private key file (OpenSSH or PEM), and its passphrase's variable
    host_key                  the server's key fingerprint, ``SHA256:...`` as ``ssh-keygen -lf`` prints it
    known_hosts               an OpenSSH known_hosts file (default ``~/.ssh/known_hosts``)
    insecure_host_key         ``1``: accept any server key — tests only, open to man-in-the-middle
    pattern                   file names to take (default ``*``); dot-files and ``*.sha256`` never
    done                      where ``ack`` moves files (default ``done``, relative to DIR)
    stable_seconds            a file is taken only if its size and mtime did not change
                              between two listings this far apart (default 2; 0 = no wait)
    require_checksum          ``1``: take only files that have a ``NAME.sha256`` sidecar
    sidecar                   ``1``: ``write`` also publishes ``NAME.sha256`` (before NAME)
    timeout                   seconds for connect, handshake, auth and each request (default 15)
    max_file_bytes            the largest file read (default 256 MiB): a larger one is refused unread
Host keys are checked strictly by default: a host missing from known_hosts is a
``ConfigError``, never silently trusted.

Behaviour
- read: lists DIR (name order), skips files still growing, fetches each into memory and
  checks the byte count against the listing and, when ``NAME.sha256`` exists, the
  SHA-256; a file failing either is skipped this round with a warning (it may still be
  uploading). The message id is ``file_message_id(name, bytes)`` — the same as
  ``file://`` — so a file read again after a crash is the same message. A listed name
  that is not a plain file name (``../x``, ``/etc/x``, NUL, control or invisible
  characters, over 255 bytes) is never joined to a path: ``read`` yields it unread with
  ``headers["refused"]`` and ``poll_drop`` quarantines it (``file_name_unsafe``). A file
  listed larger than ``max_file_bytes``, or found larger while it is read (the count stops
  there), is refused the same way (``file_too_large``) and left in place.
- ack: renames the file (and its sidecar) into ``done`` (created if missing) with
  ``posix-rename@openssh.com`` where the server has it; a name already in ``done`` gets
  the content digest appended rather than overwriting the earlier file. A file that
  changed since it was read is left for the next round; one already gone is taken as acked.
- write: uploads to ``.NAME.part`` (each chunk confirmed by the server), checks the size,
  then renames over NAME, so readers never see a partial file; a name with a folder part (``../x``, ``/etc/x``) is refused
  with ``RejectedError``; a failed upload (e.g. a full disk) removes the partial file and
  raises ``TransientError``.

Errors: refused / timed-out connections and SSH protocol errors → ``TransientError``;
rejected credentials → ``AuthError``; a missing folder, a denied permission or an unknown
host key → ``ConfigError`` saying what to fix.

Options and connection: ``adapters.sftp_session``; here reading, acking and writing.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import posixpath
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import paramiko

from adapters.base import Capabilities, Envelope, Receipt
from adapters.errors import ConfigError, RejectedError
from adapters.file import file_message_id, refused_envelope, safe_name, unsafe_name
from adapters.sftp_session import OPTIONS, SftpSession

CHUNK = 1024 * 1024

__all__ = ["OPTIONS", "SIDECAR", "SftpAdapter", "plain_name"]

log = logging.getLogger("govhub.adapters.sftp")
SIDECAR = ".sha256"


@dataclass(frozen=True)
class _Remote:
    """What ``ack`` needs: the file as it was when read."""

    name: str
    size: int | None  # as listed: a server may leave out a file's size or time
    mtime: int | None
    sha256: str
    sidecar: bool


def plain_name(name: str) -> str:
    """``safe_name`` that refuses, rather than strips, any folder part."""
    if "/" in name or "\\" in name:
        raise RejectedError(f"file name {name!r} has a folder part; only plain file names are written")
    return safe_name(name)


class SftpAdapter(SftpSession):
    scheme = "sftp"
    capabilities = Capabilities(read=True, write=True, ack=True, ordered=True)

    # -- read / ack -----------------------------------------------------------------------

    def _listing(self, sftp: paramiko.SFTPClient) -> tuple[dict[str, tuple[int | None, int | None]], set[str]]:
        files: dict[str, tuple[int | None, int | None]] = {}
        sidecars: set[str] = set()
        for a in sftp.listdir_attr(self.dir):
            name = a.filename
            if name not in (".", "..") and unsafe_name(name) and fnmatch.fnmatchcase(name, self.pattern):
                # a broken or hostile server listing "../../etc/x.xml" or "/etc/x.xml": never joined
                # to a path, never fetched or moved; poll_drop quarantines the name
                files[name] = (-1, -1)
                continue
            if name.startswith(".") or (a.st_mode is not None and not stat.S_ISREG(a.st_mode)):
                continue
            if name.endswith(SIDECAR):
                sidecars.add(name[: -len(SIDECAR)])
            elif fnmatch.fnmatchcase(name, self.pattern):
                files[name] = (a.st_size, a.st_mtime)
        return files, sidecars

    def read(self, limit: int | None = None) -> Iterator[Envelope]:
        with self._session(f"list {self.dir}", self.dir, "read") as sftp:
            files, sidecars = self._listing(sftp)
            if self.stable_seconds and files:
                time.sleep(self.stable_seconds)
                again, sidecars = self._listing(sftp)
                growing = sorted(n for n in files if again.get(n) != files[n])
                if growing:
                    log.info(
                        "%s: %d file(s) still changing, left for the next round: %s",
                        self.peer,
                        len(growing),
                        ", ".join(growing[:5]),
                    )
                files = {n: v for n, v in files.items() if again.get(n) == v}
        taken = 0
        for name in sorted(files):
            if limit is not None and taken >= limit:
                return
            why = unsafe_name(name)
            if why:
                taken += 1
                yield refused_envelope(name, why)
                continue
            size = files[name][0]
            if size is not None and size > self.max_file_bytes:
                taken += 1
                yield self._too_large(name, f"listed with {size:,} bytes")
                continue
            if self.require_checksum and name not in sidecars:
                log.info("%s: %s has no %s%s yet; left for the next round", self.peer, name, name, SIDECAR)
                continue
            envelope = self._fetch(name, *files[name], name in sidecars)
            if envelope is not None:
                taken += 1
                yield envelope

    def _fetch(self, name: str, size: int | None, mtime: int | None, has_sidecar: bool) -> Envelope | None:
        path = posixpath.join(self.dir, name)
        with self._session(f"fetch {path}", path, "read") as sftp:
            try:
                with sftp.open(path, "rb") as f:
                    data = self._read_capped(f, size)
                if data is None:  # grew past the cap after the listing
                    return self._too_large(name, f"more than {self.max_file_bytes:,} bytes when read")
                expected = self._sidecar_digest(sftp, path) if has_sidecar else None
            except FileNotFoundError:
                log.info("%s: %s vanished before it was fetched (taken by another poller?)", self.peer, name)
                return None
        if len(data) != size:
            log.warning(
                "%s: %s was listed with %d bytes but %d were fetched; skipped this round (still uploading?)",
                self.peer,
                name,
                size,
                len(data),
            )
            return None
        digest = hashlib.sha256(data).hexdigest()
        if has_sidecar and expected != digest:
            log.warning(
                "%s: %s does not match %s%s (%s); skipped this round (still uploading?)",
                self.peer,
                name,
                name,
                SIDECAR,
                "unreadable" if expected is None else "checksum differs",
            )
            return None
        return Envelope(
            data,
            file_message_id(name, data),
            filename=name,
            headers={"remote_path": path, "size": size, "sha256": digest},
            handle=_Remote(name, size, mtime, digest, has_sidecar),
        )

    def _read_capped(self, f: paramiko.SFTPFile, size: int | None) -> bytes | None:
        """The whole file, or None once it passes ``max_file_bytes`` (counted, not trusted
        from the listing: a file may grow between the listing and the read)."""
        cap = self.max_file_bytes
        if size:
            f.prefetch(min(size, cap))
        chunks: list[bytes] = []
        got = 0
        while True:
            chunk = f.read(min(CHUNK, cap + 1 - got))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            got += len(chunk)
            if got > cap:
                return None

    def _too_large(self, name: str, found: str) -> Envelope:
        log.warning("%s: %s refused: %s, over max_file_bytes %d", self.peer, name, found, self.max_file_bytes)
        why = f"the file is too large ({found}; at most {self.max_file_bytes:,}): split it into smaller files"
        return refused_envelope(name, why, "file_too_large")

    @staticmethod
    def _sidecar_digest(sftp: paramiko.SFTPClient, path: str) -> str | None:
        """The digest in ``NAME.sha256``: bare hex, or ``sha256sum`` output ("HEX  NAME")."""
        with sftp.open(path + SIDECAR, "rb") as f:
            text = f.read(4096).decode("ascii", "replace").strip()
        digest = text.split()[0].lower() if text else ""
        return digest if re.fullmatch(r"[0-9a-f]{64}", digest) else None

    def ack(self, envelope: Envelope) -> None:
        remote = cast(_Remote, envelope.handle)  # what _fetch gave the envelope
        src = posixpath.join(self.dir, remote.name)
        with self._session(f"move {src} to {self.done}", self.done, "create and rename") as sftp:
            try:
                now = sftp.stat(src)
            except FileNotFoundError:
                return  # moved by an earlier ack whose reply was lost
            if (now.st_size, now.st_mtime) != (remote.size, remote.mtime):
                log.warning(
                    "%s: %s changed since it was read; left in place for the next round", self.peer, remote.name
                )
                return
            self._ensure_folder(sftp, self.done)
            self._move(sftp, src, self._free_name(sftp, remote.name, remote.sha256))
            if remote.sidecar:
                try:
                    self._move(sftp, src + SIDECAR, self._free_name(sftp, remote.name + SIDECAR, remote.sha256))
                except FileNotFoundError:
                    pass

    def _free_name(self, sftp: paramiko.SFTPClient, name: str, digest: str) -> str:
        target = posixpath.join(self.done, name)
        try:
            sftp.stat(target)
        except FileNotFoundError:
            return target
        # a re-sent file of the same name: keep the earlier one too
        return posixpath.join(self.done, f"{name}.{digest[:12]}")

    @staticmethod
    def _ensure_folder(sftp: paramiko.SFTPClient, path: str) -> None:
        try:
            sftp.stat(path)
        except FileNotFoundError:
            try:
                sftp.mkdir(path)
            except OSError as exc:
                try:
                    sftp.stat(path)  # created meanwhile by another poller?
                except FileNotFoundError:
                    raise exc from None

    def _move(self, sftp: paramiko.SFTPClient, src: str, dst: str) -> None:
        """Rename, replacing ``dst``; atomic where the server has posix-rename."""
        if self._posix_rename:
            try:
                sftp.posix_rename(src, dst)
                return
            except OSError as exc:
                if exc.errno is not None or "unsupported" not in str(exc).lower():
                    raise
                self._posix_rename = False
                log.info("%s: no posix-rename on this server; using plain rename", self.peer)
        try:
            sftp.rename(src, dst)
        except OSError as exc:
            # SFTPv3 rename refuses an existing target: replace it (not atomic, but
            # readers still never see a partial file)
            try:
                sftp.stat(dst)
            except FileNotFoundError:
                raise exc from None  # the rename failed for another reason
            sftp.remove(dst)
            sftp.rename(src, dst)

    # -- write ------------------------------------------------------------------------------

    def write(self, envelope: Envelope) -> Receipt:
        name = plain_name(envelope.filename or f"{envelope.message_id}.dat")
        final = posixpath.join(self.dir, name)
        digest = hashlib.sha256(envelope.body).hexdigest()
        with self._session(f"write {final}", self.dir, "write") as sftp:
            if self.sidecar:
                self._upload(sftp, final + SIDECAR, f"{digest}  {name}\n".encode())
            self._upload(sftp, final, envelope.body)
        return Receipt("acknowledged", name, f"{len(envelope.body)} bytes, sha256 {digest}")

    def _upload(self, sftp: paramiko.SFTPClient, final: str, body: bytes) -> None:
        part = posixpath.join(posixpath.dirname(final), f".{posixpath.basename(final)}.part")
        try:
            # unbuffered and not pipelined: each 32 kB write waits for the server's status.
            # paramiko discards the status of pipelined writes (putfo), so a write refused
            # for a full disk could pass unseen and leave a hole in a file of the right size.
            with sftp.open(part, "wb", bufsize=0) as f:
                f.write(body)
            size = sftp.stat(part).st_size
            if size != len(body):
                raise OSError(f"the upload has {size} bytes, not {len(body)}")
            self._move(sftp, part, final)
        except BaseException:
            try:
                sftp.remove(part)
            except Exception:  # noqa: BLE001 — the connection may be gone; the original error matters
                pass
            raise

    # -- ping / close -----------------------------------------------------------------------

    def ping(self) -> None:
        with self._session(f"check {self.dir}", self.dir, "read") as sftp:
            if not stat.S_ISDIR(sftp.stat(self.dir).st_mode or 0):
                raise ConfigError(f"{self.dir} on {self.host} is not a folder", peer=self.peer)

    def close(self) -> None:
        self._drop()
