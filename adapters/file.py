"""``file://`` — a local folder as a drop: the reference adapter, and the shape the SFTP
adapter follows.

    file:///srv/drop/in?pattern=*.xml&done=done

- read: files matching ``pattern`` (default ``*``) in name order; the message id is
  derived from the name, size and SHA-256, so a file read twice is the same message;
- ack: moves the file into ``done`` (a sub-folder, default ``done``);
- write: writes ``envelope.filename`` atomically (temporary name, fsync, rename).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import cast

from adapters.base import Adapter, Capabilities, Envelope, Receipt
from adapters.errors import ConfigError, RejectedError, TransientError
from hub.core.message_id import fit_message_id


def file_message_id(name: str, data: bytes) -> str:
    # a long name (a 255-byte name is legal) would make the id too long to store: it is
    # then cut and a digest of the whole id appended (hub.core.message_id)
    return fit_message_id(f"file:{name}:{len(data)}:{hashlib.sha256(data).hexdigest()[:24]}")


# Characters that make a name climb folders on some system, or show as something else:
# slashes and their look-alikes (∕ ⁄ ／ ⧸), controls, and format characters such as the
# right-to-left override that makes "exe.xml" display as "lmx.exe".
_SLASHES = frozenset("/\\\u2215\u2044\uff0f\u29f8\uff3c")


def unsafe_name(name: str) -> str | None:
    """Why ``name`` is not a plain file name to read or write, or None if it is one."""
    if not name or name in (".", ".."):
        return "the name is empty or a folder reference"
    if any(c in _SLASHES for c in name):
        return "the name has a folder part or a slash look-alike (path traversal)"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for c in name):
        return "the name holds control or invisible formatting characters (NUL, line breaks, right-to-left override...)"
    if len(name.encode("utf-8", "surrogatepass")) > 255:
        return "the name is longer than 255 bytes"
    return None


def safe_name(name: str) -> str:
    """A plain file name: no folders, no traversal, no hidden or control characters.
    Anything else is refused, not repaired: a sender asking for ``../x`` is an error."""
    if name.startswith(".") or unsafe_name(name):
        raise RejectedError(f"file name {name[:80]!r} is not a plain file name (no folders, no leading dot)")
    return name


def refused_envelope(name: str, reason: str, code: str = "file_name_unsafe") -> Envelope:
    """A listed file the hub will not touch (its name is unsafe, or it is too large):
    ``poll_drop`` quarantines it by name with the reason ``code``, reads nothing and moves
    nothing."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    prefix = "unsafe-name" if code == "file_name_unsafe" else code.replace("_", "-")
    return Envelope(b"", f"{prefix}:{digest}", headers={"refused": reason, "refused_reason": code, "listed_name": name})


class FileAdapter(Adapter):
    scheme = "file"
    capabilities = Capabilities(read=True, write=True, ack=True, ordered=True)

    def __init__(self, url: str, **options):
        super().__init__(url, **options)
        if self.parts.hostname not in (None, "", "localhost"):
            raise ConfigError(f"file:// URLs name a local folder (file:///path); got host {self.parts.hostname!r}")
        self.root = Path(self.parts.path)
        self.done = self.root / self.option("done", "done")

    def read(self, limit: int | None = None) -> Iterator[Envelope]:
        pattern = self.option("pattern", "*")
        try:
            names = sorted(
                e.name
                for e in os.scandir(self.root)
                if e.is_file() and fnmatch.fnmatch(e.name, pattern) and not e.name.startswith(".")
            )
        except OSError as exc:
            raise TransientError(f"cannot list {self.root}: {exc.strerror}", peer=self.peer) from None
        for i, name in enumerate(names):
            if limit is not None and i >= limit:
                return
            why = unsafe_name(name)
            if why:
                yield refused_envelope(name, why)
                continue
            try:
                data = (self.root / name).read_bytes()
            except FileNotFoundError:
                continue  # another poller took it between listing and reading
            except OSError as exc:
                raise TransientError(f"cannot read {name}: {exc.strerror}", peer=self.peer) from None
            yield Envelope(data, file_message_id(name, data), filename=name, handle=name)

    def ack(self, envelope: Envelope) -> None:
        name = cast(str, envelope.handle)  # the file name read() gave the envelope
        src = self.root / name
        try:
            self.done.mkdir(parents=True, exist_ok=True)
            if src.exists():
                os.replace(src, self.done / name)
        except OSError as exc:
            raise TransientError(f"cannot move {name} to {self.done}: {exc.strerror}", peer=self.peer) from None

    def write(self, envelope: Envelope) -> Receipt:
        name = safe_name(envelope.filename or f"{envelope.message_id}.dat")
        tmp = self.root / f".{name}.part"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(envelope.body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.root / name)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise TransientError(f"cannot write {name}: {exc.strerror}", peer=self.peer) from None
        return Receipt("acknowledged", name)

    def ping(self) -> None:
        if not self.root.is_dir():
            raise TransientError(f"{self.root} is not a folder", peer=self.peer)
