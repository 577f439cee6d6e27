"""The exchange log's bytes, by digest: ``$GOVHUB_HOME/objects/sha256/ab/cdef…``.

A message's exact bytes are written here before the transaction that logs it commits: the
name is the content's SHA-256, so a second copy (a redelivery) is the same file, written
once. :class:`Capture` reads a message through, hashing and spooling what passes, so the
decoder reads the stream once whatever the channel. Retention (``GOVHUB_AUDIT_RETENTION_DAYS``,
default 365) says how long the bytes are kept; pruning is not automatic yet.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import IO, cast

from hub.audit.chain import LogUnavailable
from hub.core.config import load_settings


def default_root() -> Path:
    return load_settings().home / "objects"


def retention_days(env: dict[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else env
    return int(env.get("GOVHUB_AUDIT_RETENTION_DAYS") or 365)


class ObjectStore:
    def __init__(self, root: Path | None = None):
        self.root = root or default_root()

    def path(self, digest: str) -> Path:
        hexd = digest.removeprefix("sha256:")
        return self.root / "sha256" / hexd[:2] / hexd[2:]

    def put_bytes(self, body: bytes) -> tuple[str, int]:
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        target = self.path(digest)
        if not target.exists():
            with self._spool() as f:
                f.write(body)
            self._place(Path(f.name), target)
        return digest, len(body)

    def _spool(self) -> IO[bytes]:
        # the messages as exchanged hold personal data: readable by the hub's user only (files are 0600)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(mode=0o700, exist_ok=True)
        return tempfile.NamedTemporaryFile(dir=self.root / "tmp", delete=False)

    @staticmethod
    def _place(tmp: Path, target: Path) -> None:
        if target.exists():  # idempotent: the same bytes are already there
            tmp.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)

    def read(self, digest: str) -> bytes | None:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            return None

    def capture(self, stream: IO[bytes], exact: bytes | None = None) -> Capture:
        """``exact``: the bytes received when they are not the stream (a SOAP envelope
        whose batch the stream holds)."""
        return Capture(stream, self, exact)


class Capture(io.RawIOBase):
    """The exact bytes of a message the decoder reads from ``src``: :meth:`reader` is the
    stream to decode; :meth:`finish` stores the bytes under their digest and returns
    (digest, size). Three ways, cheapest first: bytes already in memory (a REST, SOAP or
    bus body) are written from memory; a seekable stream (a file) is read again from where
    it started, after the decoder is done; any other stream is hashed and spooled as the
    decoder reads it (this raw stream tees it)."""

    def __init__(self, src: IO[bytes], store: ObjectStore, exact: bytes | None = None):
        super().__init__()
        self._src = src
        self._store = store
        self._memory = exact
        if exact is None and isinstance(src, io.BytesIO) and src.tell() == 0:
            self._memory = src.getvalue()
        self._start = src.tell() if self._memory is None and _seekable(src) else None
        self._hash = hashlib.sha256()
        self._size = 0
        self._spool: IO[bytes] | None = None
        self.result: tuple[str, int] | None = None

    def reader(self) -> io.BufferedReader:
        """The stream to decode (one that can ``peek``)."""
        if self._memory is None and self._start is None:
            return io.BufferedReader(self)
        if hasattr(self._src, "peek"):
            return cast(io.BufferedReader, self._src)
        return io.BufferedReader(cast(io.RawIOBase, self._src))  # unbuffered: a raw stream

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._src.read(len(b))
        n = len(data)
        b[:n] = data
        if n:
            self._take(data)
        return n

    def _take(self, data: bytes) -> None:
        if self._spool is None:
            self._spool = self._store._spool()
        self._hash.update(data)
        self._spool.write(data)
        self._size += len(data)

    def finish(self) -> tuple[str, int]:
        """Read what the decoder left (or all of a file again) and store; idempotent. A store
        that cannot be written (a full disk) refuses the message as retryable, like the log."""
        try:
            return self._finish()
        except OSError as exc:
            raise LogUnavailable(f"the exchange log's object store cannot be written: {exc.strerror}") from exc

    def _finish(self) -> tuple[str, int]:
        if self.result is not None:
            return self.result
        if self._memory is not None:
            self.result = self._store.put_bytes(self._memory)
            return self.result
        source: IO[bytes] = self._src if self._start is not None else cast(IO[bytes], self)
        if self._start is not None:
            self._src.seek(self._start)
        try:
            while chunk := source.read(1 << 20):
                if source is self._src:
                    self._take(chunk)
        except ValueError:  # the decoder closed it: what it read is what came
            pass
        digest = "sha256:" + self._hash.hexdigest()
        if self._spool is None:
            self._spool = self._store._spool()
        self._spool.close()
        self._store._place(Path(self._spool.name), self._store.path(digest))
        self.result = (digest, self._size)
        return self.result


def _seekable(src: IO[bytes]) -> bool:
    try:
        return src.seekable()
    except (AttributeError, ValueError, OSError):
        return False
