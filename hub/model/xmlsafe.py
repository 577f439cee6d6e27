"""Hardened XML reading: declared encodings honoured, DTDs and entities refused.

- Any ``<!DOCTYPE`` is refused (no DTD, so no external entities and no entity
  expansion: the billion-laughs document is rejected before anything is expanded).
- lxml is told not to resolve entities, not to touch the network and not to lift its
  size limits, as a second line of defence.
- GBK / GB2312 / GB18030 documents are transcoded to UTF-8 by Python's codecs in a
  streaming reader (libxml2's own iconv tables disagree with Python's on some
  characters, and GB2312 declarations routinely carry GBK-only characters, so GB2312 is
  read as its superset GBK). A document whose bytes do not match its declared encoding
  is refused with ``encoding_invalid``.
"""

from __future__ import annotations

import codecs
import io
import re
from typing import Any

from lxml import etree

from hub.core.errors import InputError
from hub.model.outcomes import Reason
from hub.model.scrub import mask_text

XML_DECL_RE = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9_.\-]+)[\"'][^>]*\?>")
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY_RE = re.compile(rb"<!ENTITY", re.IGNORECASE)

# Python codec used for each declared encoding that we transcode ourselves.
TRANSCODE = {"gbk": "gbk", "gb2312": "gbk", "cp936": "gbk", "gb18030": "gb18030", "gb_2312": "gbk"}


class XmlRefused(InputError):
    """The document is refused as a whole; ``reason`` is a quarantine reason code."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message, reason=reason)


def declared_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    m = XML_DECL_RE.match(head)
    return m.group(1).decode("ascii").lower() if m else None


def check_prolog(head: bytes) -> None:
    """Refuse DTDs; ``head`` is the first bytes of the document, before the root."""
    # UTF-16/32 put NULs between the ASCII bytes of "<!DOCTYPE" (a UTF-16 billion-laughs
    # document passed this check and was expanded until libxml2's amplification limit);
    # well-formed UTF-8 never holds NUL, so dropping them only ever reveals markup.
    head = head.replace(b"\x00", b"")
    if _DOCTYPE_RE.search(head) or _ENTITY_RE.search(head):
        raise XmlRefused(
            Reason.XML_FORBIDDEN,
            "XML with a DOCTYPE or entity declarations is refused "
            "(DTDs, external entities and entity expansion are not accepted); send plain XML",
        )


class TranscodingReader(io.RawIOBase):
    """Reads bytes in ``encoding`` and serves UTF-8, rewriting the XML declaration."""

    def __init__(self, raw: Any, encoding: str, chunk: int = 1 << 16) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        self._encoding = encoding
        self._chunk = chunk
        self._buf = b""
        self._first = True
        self._eof = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        data = self._raw.read(self._chunk)
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise XmlRefused(
                Reason.ENCODING_INVALID,
                f"the bytes do not match the declared encoding "
                f"{self._encoding.upper()} ({exc.reason}); declare the encoding the file is written in",
            ) from None
        if not data:
            self._eof = True
        out = text.encode("utf-8")
        if self._first and out:
            out = re.sub(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[A-Za-z0-9_.\-]+", rb"\1UTF-8", out, count=1)
            self._first = False
        self._buf += out

    def readinto(self, b: Any) -> int:
        while not self._buf and not self._eof:
            self._fill()
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def open_xml(stream: Any) -> tuple[Any, str]:
    """Return a byte stream lxml can parse safely, and the document's encoding name."""
    if not hasattr(stream, "peek"):
        stream = io.BufferedReader(stream) if isinstance(stream, io.RawIOBase) else io.BufferedReader(_Raw(stream))
    head = stream.peek(4096)[:4096]
    check_prolog(head)
    enc = declared_encoding(head) or "utf-8"
    if enc in TRANSCODE:
        return TranscodingReader(stream, TRANSCODE[enc]), enc
    if enc not in ("utf-8", "utf8", "us-ascii", "ascii"):
        raise XmlRefused(
            Reason.ENCODING_INVALID, f"declared encoding {enc!r} is not accepted; use UTF-8, GBK or GB18030"
        )
    return stream, enc


class _Raw(io.RawIOBase):
    def __init__(self, f: Any) -> None:
        self._f = f

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._f.read(len(b))
        b[: len(data)] = data
        return len(data)


def iterparse(stream: Any, tag: str | None = None) -> Any:
    """Events ('end', element) from a hardened streaming parser."""
    return etree.iterparse(
        stream,
        events=("end",),
        tag=tag,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True
)


def parse_document(data: bytes) -> Any:
    """Parse a whole (small) document safely, e.g. a SOAP envelope."""
    check_prolog(data[:4096])
    enc = declared_encoding(data[:200])
    if enc in TRANSCODE:
        try:
            text = data.decode(TRANSCODE[enc])
        except UnicodeDecodeError as exc:
            raise XmlRefused(
                Reason.ENCODING_INVALID, f"the bytes do not match the declared encoding {enc.upper()} ({exc.reason})"
            ) from None
        data = re.sub(r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[A-Za-z0-9_.\-]+", r"\1UTF-8", text, count=1).encode(
            "utf-8"
        )
    try:
        root = etree.fromstring(data, SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise XmlRefused(Reason.XML_MALFORMED, f"XML is not well-formed: {mask_text(str(exc))}") from None
    if root.getroottree().docinfo.doctype:  # a DOCTYPE pushed past the first 4 KiB by a comment
        raise XmlRefused(Reason.XML_FORBIDDEN, "XML with a DOCTYPE is refused; send plain XML")
    return root
