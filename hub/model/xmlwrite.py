"""The canonical XML writer: records → one batch document (``<{batch} xmlns="urn:govhub:{kind}:1">``).

The one writer of canonical XML: outbound deliveries (:func:`hub.outbound.serialize.to_xml`)
and the synthetic data generator (``synth.writers.write_xml``) both write through it.

Layout: the XML declaration names the encoding (UTF-8, GBK or GB18030), then the batch
element with its attributes (``xmlns`` first, then ``message_id``, ``batch_no``,
``source_system``, ``sync_time`` where given), one record element per line in the record's
own key order, ``None`` values left out, booleans as ``true``/``false``, characters the
encoding lacks as character references.

Speed: :class:`XmlRenderer` renders a record through a cached ``%``-template per record
shape; :meth:`BatchWriter.write` checks whole encoded chunks (byte scans) for anything that
needs escaping and re-renders only a failing chunk, record by record, with escaping.
Memory stays flat: at most one chunk of records is held.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import chain
from typing import IO, Any

from hub.model.dictionary import kind as dictionary_kind

ENCODINGS = {"utf-8": "UTF-8", "utf8": "UTF-8", "gbk": "GBK", "gb18030": "GB18030"}
CHUNK = 512  # records per write: big enough to amortise, small enough to keep memory flat

_chain = chain.from_iterable
_dict_values = dict.values


def _esc(s: str) -> str:
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace("\r", "&#13;") if "\r" in s else s  # a raw CR would be read back as LF


def _attr(v: str) -> str:
    return '"' + _esc(str(v)).replace('"', "&quot;") + '"'


def check_encoding(encoding: str) -> tuple[str, str]:
    """(Python codec, declared label) of a supported encoding; ValueError otherwise."""
    enc = encoding.lower().replace("_", "-")
    label = ENCODINGS.get(enc)
    if label is None:
        raise ValueError(f"encoding must be one of utf-8, gbk, gb18030, not {encoding!r}")
    return enc, label


class XmlRenderer:
    """Renders canonical records as XML elements through cached ``%`` templates.

    A record's *signature* is its key order plus, for each list field, the key order of
    every entry. Each signature compiles once into a ``%``-template covering the whole
    record (lists included), so a record costs one formatting call. Values go in raw;
    the batch writer then checks whole encoded chunks (memchr-speed byte scans) for a
    ``<`` beyond the templates' own, ``&``, ``]]>`` or a CR, and re-renders only a failing
    chunk, record by record, with escaping (:meth:`slow`). Records with ``None`` values
    take the slow path directly (it leaves such fields out).
    """

    _MAX_TEMPLATES = 20000  # distinct signatures kept; cleared beyond (memory stays flat)

    def __init__(self, kind: str) -> None:
        k = dictionary_kind(kind)
        self.record, self.batch, self.namespace = k.record, k.batch, k.namespace
        self.lists = {f.name: f.record for f in k.lists}
        self.bools = {f.name for f in k.scalars if f.type == "bool"}
        self.sub_bools = {f.name: {s.name for s in f.fields or () if s.type == "bool"} for f in k.lists}
        self._lpos: dict[tuple[str, ...], tuple[int, ...]] = {}
        self._tmpl: dict[tuple[Any, ...], tuple[str, tuple[int, ...], int]] = {}
        self._open, self._close = f"<{self.record}>", f"</{self.record}>"

    def _list_positions(self, keys: tuple[str, ...]) -> tuple[int, ...]:
        lp = tuple(i for i, key in enumerate(keys) if key in self.lists)
        self._lpos[keys] = lp
        return lp

    def _compile(self, sig: tuple[Any, ...]) -> tuple[str, tuple[int, ...], int]:
        keys, subs = sig[0], sig[1:]
        parts = [self._open]
        bools: list[int] = []
        pos = 0
        li = 0
        for key in keys:
            if key in self.lists:
                entry_keys = subs[li]
                li += 1
                tag, sb = self.lists[key], self.sub_bools[key]
                parts.append(f"<{key}>")
                for ek in entry_keys:
                    parts.append(f"<{tag}>")
                    for sk in ek:
                        parts.append(f"<{sk}>%s</{sk}>")
                        if sk in sb:
                            bools.append(pos)
                        pos += 1
                    parts.append(f"</{tag}>")
                parts.append(f"</{key}>")
            else:
                parts.append(f"<{key}>%s</{key}>")
                if key in self.bools:
                    bools.append(pos)
                pos += 1
        parts.append(self._close)
        tmpl = "".join(parts)
        if len(self._tmpl) >= self._MAX_TEMPLATES:
            self._tmpl.clear()
        c = self._tmpl[sig] = (tmpl, tuple(bools), tmpl.count("<"))
        return c

    def render(self, rec: Mapping[str, Any]) -> tuple[str, int]:
        """(element text with values unescaped, number of ``<`` it should contain)."""
        keys = tuple(rec)
        lpos = self._lpos.get(keys)
        if lpos is None:
            lpos = self._list_positions(keys)
        vals = list(rec.values())
        sig: tuple[Any, ...]
        if lpos:
            sig_parts: list[tuple[Any, ...]] = [keys]
            flat: list[Any] = []
            prev = 0
            for i in lpos:
                entries = vals[i]
                if type(entries) is not list:
                    return self.slow(rec), -1
                flat += vals[prev:i]
                sig_parts.append(tuple(map(tuple, entries)))
                flat += _chain(map(_dict_values, entries))  # C-level loop over the entries
                prev = i + 1
            flat += vals[prev:]
            sig = tuple(sig_parts)
        else:
            sig = (keys,)
            flat = vals
        if None in flat:
            return self.slow(rec), -1
        c = self._tmpl.get(sig)
        if c is None:
            c = self._compile(sig)
        tmpl, bools, lt = c
        for i in bools:
            v = flat[i]
            if v is True or v is False:
                flat[i] = "true" if v else "false"
        return tmpl % tuple(flat), lt

    @staticmethod
    def _value(v: Any) -> str:
        if v is True or v is False:
            return "true" if v else "false"
        return _esc(v) if isinstance(v, str) else _esc(str(v))

    def slow(self, rec: Mapping[str, Any]) -> str:
        """Field by field, escaped, ``None`` values skipped."""
        value = self._value
        parts = [self._open]
        for key, v in rec.items():
            if v is None:
                continue
            if key in self.lists and isinstance(v, list):
                tag = self.lists[key]
                parts.append(f"<{key}>")
                for e in v:
                    parts.append(f"<{tag}>")
                    for sk, sv in e.items():
                        if sv is not None:
                            parts.append(f"<{sk}>{value(sv)}</{sk}>")
                    parts.append(f"</{tag}>")
                parts.append(f"</{key}>")
            else:
                parts.append(f"<{key}>{value(v)}</{key}>")
        parts.append(self._close)
        return "".join(parts)


def _clean(data: bytes, lt: int) -> bool:
    """True if rendered-and-encoded ``data`` needs no escaping.

    Byte scans: ``<``, ``&`` and CR (0x3C, 0x26, 0x0D) never occur inside a
    GBK/GB18030/UTF-8 multi-byte character, so counting them is exact; a ``]`` may be a
    GBK trail byte, which at worst costs a needless re-render.
    """
    # Single-byte scans run at memchr speed; ']]>' is only searched for when a ']' exists.
    return (
        b"&" not in data and data.count(b"<") == lt and (b"]" not in data or b"]]>" not in data) and b"\r" not in data
    )


class BatchWriter:
    """One canonical batch document of ``kind``: ``BatchWriter(kind, ...).write(records, f)``.

    Construction checks the encoding and the kind (nothing is written yet); ``write``
    streams the document to a binary file object and returns the number of records.
    ``message_id`` and the other attributes are left out when ``None``.
    """

    def __init__(
        self,
        kind: str,
        encoding: str = "utf-8",
        *,
        message_id: str | None = None,
        batch_no: str | None = None,
        source_system: str | None = None,
        sync_time: str | None = None,
        chunk: int = CHUNK,
    ) -> None:
        self.enc, label = check_encoding(encoding)
        self.renderer = rnd = XmlRenderer(kind)
        attrs = [f' xmlns="{rnd.namespace}"']
        for name, v in (
            ("message_id", message_id),
            ("batch_no", batch_no),
            ("source_system", source_system),
            ("sync_time", sync_time),
        ):
            if v is not None:
                attrs.append(f" {name}={_attr(v)}")
        self.head = f'<?xml version="1.0" encoding="{label}"?>\n<{rnd.batch}{"".join(attrs)}>'
        self.tail = f"\n</{rnd.batch}>\n"
        self.chunk = chunk

    def write(self, records: Iterable[Mapping[str, Any]], f: IO[bytes]) -> int:
        enc, render = self.enc, self.renderer.render
        count = 0
        f.write(self.head.encode(enc))
        recs: list[Mapping[str, Any]] = []
        texts: list[str] = []
        lt_sum = 0
        for rec in records:
            t, lt = render(rec)
            recs.append(rec)
            texts.append("\n")
            texts.append(t)
            lt_sum = -1 if lt < 0 or lt_sum < 0 else lt_sum + lt
            if len(recs) >= self.chunk:
                self._flush(f, recs, texts, lt_sum)
                count += len(recs)
                recs.clear()
                texts.clear()
                lt_sum = 0
        if recs:
            self._flush(f, recs, texts, lt_sum)
            count += len(recs)
        f.write(self.tail.encode(enc))
        return count

    def _flush(self, f: IO[bytes], recs: list[Mapping[str, Any]], texts: list[str], lt: int) -> None:
        enc = self.enc
        data = "".join(texts).encode(enc, "xmlcharrefreplace")
        if lt < 0 or not _clean(data, lt):
            # Some record needs escaping (or has None values): redo this chunk one by one.
            render, slow = self.renderer.render, self.renderer.slow
            parts = []
            for rec in recs:
                t, n = render(rec)
                if n >= 0:
                    b = ("\n" + t).encode(enc, "xmlcharrefreplace")
                    if _clean(b, n):
                        parts.append(b)
                        continue
                    t = slow(rec)
                parts.append(("\n" + t).encode(enc, "xmlcharrefreplace"))
            data = b"".join(parts)
        f.write(data)


def to_bytes(kind: str, records: Iterable[Mapping[str, Any]], encoding: str = "utf-8", **attrs: Any) -> bytes:
    """The whole batch document in memory (for small batches: deliveries, tests)."""
    import io

    buf = io.BytesIO()
    BatchWriter(kind, encoding, **attrs).write(records, buf)
    return buf.getvalue()


__all__ = ["BatchWriter", "XmlRenderer", "check_encoding", "to_bytes", "ENCODINGS", "CHUNK"]
