"""Department formats: writing canonical records as a department's system would send them,
by reversing its mapping file (``mappings/*.yaml``): renamed columns, reversed code
tables, formatted datetimes, yuan as fen, CSV in the mapping's encoding or nested JSON."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from hub.core.config import MAPPINGS_DIR
from hub.model.mapping import load_mapping
from synth.writers import _CHUNK, _json_encode, _Sink


def mapping_document(name: str | os.PathLike) -> dict:
    """A mapping by name (``'dept_b_case_csv'``) or path, read and checked by the hub's
    own loader (``hub.model.mapping.load_mapping``), as plain data: field specs are
    dicts with ``from`` (never the ``SOURCE`` shorthand)."""
    p = Path(name)
    if not p.suffix:
        p = MAPPINGS_DIR / f"{name}.yaml"
    return _from_keys(load_mapping(p).spec.model_dump(exclude_unset=True))


def _from_keys(value):
    if isinstance(value, dict):
        return {("from" if k == "from_" else k): _from_keys(v) for k, v in value.items()}
    return value


def mapping_domains(name: str | os.PathLike) -> dict[str, frozenset[str]]:
    """Canonical values each code-table or constant field of a mapping can carry.

    Use with ``Generator(mapping=...)`` so clean records stay expressible in the format.
    """
    m = mapping_document(name)
    tables = m.get("code_tables") or {}
    out: dict[str, frozenset[str]] = {}
    for field, spec in (m.get("fields") or {}).items():
        if isinstance(spec, dict):
            if "const" in spec:
                out[field] = frozenset({str(spec["const"])})
            elif "code_table" in spec:
                out[field] = frozenset(str(v) for v in tables[spec["code_table"]].values())
    return out


def _dt_formatter(fmt: str) -> Callable[[str], str]:
    """Canonical 'YYYY-MM-DD HH:MM:SS' (or date) → ``fmt`` by slicing, no datetime objects.

    Slicing also carries malformed values through unchanged in shape (a bad_datetime
    defect stays a bad datetime in the source format instead of crashing the writer).
    """
    slices = {"Y": (0, 4), "m": (5, 7), "d": (8, 10), "H": (11, 13), "M": (14, 16), "S": (17, 19)}
    ops: list[tuple[int, int] | str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            if d in slices:
                ops.append(slices[d])
            elif d == "%":
                ops.append("%")
            else:
                return lambda v, _f=fmt: datetime.fromisoformat(v).strftime(_f)
            i += 2
        else:
            ops.append(ch)
            i += 1
    frozen = tuple(ops)

    def convert(v: str) -> str:
        return "".join(v[o[0] : o[1]] if type(o) is tuple else o for o in frozen)

    return convert


def _iso_cst(v: str) -> str:
    """Canonical datetime → ISO 8601 with the China Standard Time offset."""
    if len(v) == 10:
        return v
    return f"{v[:10]}T{v[11:19]}+08:00"


def _yuan_to_fen(v: Any) -> Any:
    try:
        return int((Decimal(str(v)) * 100).to_integral_value())
    except (InvalidOperation, ValueError):
        return v  # not a number: pass through, the reader will reject it


class _Unmapped(ValueError):
    pass


def _compile_field(
    name: str, field: str, spec: Any, tables: Mapping[str, Mapping], nested: bool, on_unmapped: str
) -> tuple[str, Callable[[Any], Any] | None] | None:
    """(source path, converter) for one canonical field; None when it has no source column."""
    if isinstance(spec, str):
        return spec, None
    if not isinstance(spec, dict):
        raise ValueError(f"mapping {name}: field {field}: unsupported spec {spec!r}")
    if "const" in spec:
        return None
    src = spec.get("from")
    if not src:
        raise ValueError(f"mapping {name}: field {field}: no 'from'")
    conv: Callable[[Any], Any] | None = None
    transform = spec.get("transform")
    if "code_table" in spec:
        table = tables.get(spec["code_table"])
        if table is None:
            raise ValueError(f"mapping {name}: field {field}: unknown code table {spec['code_table']!r}")
        rev: dict[str, str] = {}
        for code, value in table.items():
            rev.setdefault(str(value), str(code))  # several codes → one value: the first wins

        def conv(v: Any, _rev=rev, _field=field) -> Any:
            c = _rev.get(v)
            if c is not None:
                return c
            if on_unmapped == "keep":
                return v
            if on_unmapped == "blank":
                return None
            raise _Unmapped(
                f"mapping {name}: {_field} value {v!r} has no code in its code table; generate with "
                f"Generator(mapping={name!r}) or pass on_unmapped='keep' (writes the value as is) or 'blank'"
            )
    elif transform == "datetime":
        fmt = spec.get("format")
        conv = _dt_formatter(fmt) if fmt else (_iso_cst if nested else None)
    elif transform == "date":
        fmt = spec.get("format")
        conv = _dt_formatter(fmt) if fmt else None
    elif transform == "fen_to_yuan":
        conv = _yuan_to_fen
    elif transform is not None:
        raise ValueError(f"mapping {name}: field {field}: cannot reverse transform {transform!r}")
    return src, conv


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if v is True or v is False:
        return "true" if v else "false"
    return v if isinstance(v, str) else str(v)


def write_mapped(
    records: Iterable[Mapping[str, Any]],
    mapping: str | os.PathLike,
    out: str | os.PathLike | IO[bytes],
    *,
    on_unmapped: str = "raise",
) -> int:
    """Write canonical records in a department's format by reversing its mapping file.

    Renames canonical → source names, reverses code tables, formats datetimes (the
    mapping's ``format``, or ISO 8601 ``+08:00`` for JSON), turns yuan into fen for
    ``fen_to_yuan``, drops ``const`` fields. CSV: header of the source columns, the
    mapping's encoding, lists dropped. JSON lines: dotted paths become nested objects,
    list fields with sub-field mappings become arrays.

    ``on_unmapped`` — a value missing from a code table: 'raise' (default), 'keep' (write
    the canonical value as the code: how a defect reaches the source format) or 'blank'.
    """
    if on_unmapped not in ("raise", "keep", "blank"):
        raise ValueError("on_unmapped must be 'raise', 'keep' or 'blank'")
    m = mapping_document(mapping)
    name = m.get("name", str(mapping))
    fmt = m.get("format")
    if fmt == "csv":
        return _write_csv(records, m, name, out, on_unmapped)
    if fmt in ("jsonl", "json"):
        return _write_jsonl(records, m, name, out, on_unmapped)
    raise ValueError(f"mapping {name}: cannot write format {fmt!r} (csv and jsonl are supported)")


def _write_csv(
    records: Iterable[Mapping[str, Any]], m: dict, name: str, out: str | os.PathLike | IO[bytes], on_unmapped: str
) -> int:
    tables = m.get("code_tables") or {}
    encoding = m.get("encoding") or "utf-8"
    cols: list[tuple[str, str, Callable | None]] = []
    for field, spec in m["fields"].items():
        if isinstance(spec, dict) and "fields" in spec:
            continue  # lists have no place in a flat row
        c = _compile_field(name, field, spec, tables, False, on_unmapped)
        if c is not None:
            cols.append((field, c[0], c[1]))
    count = 0
    with _Sink(out) as f:
        text = io.TextIOWrapper(f, encoding=encoding, newline="", write_through=False)
        try:
            w = csv.writer(text)
            w.writerow([c[1] for c in cols])
            for rec in records:
                row = []
                for field, _, conv in cols:
                    v = rec.get(field)
                    if v is not None and conv is not None:
                        v = conv(v)
                    row.append(_cell(v))
                w.writerow(row)
                count += 1
            text.flush()
        finally:
            text.detach()  # leave the caller's file object open
    return count


def _write_jsonl(
    records: Iterable[Mapping[str, Any]], m: dict, name: str, out: str | os.PathLike | IO[bytes], on_unmapped: str
) -> int:
    tables = m.get("code_tables") or {}
    flat: list[tuple[str, tuple[str, ...], Callable | None]] = []
    lists: list[tuple[str, tuple[str, ...], list]] = []
    for field, spec in m["fields"].items():
        if isinstance(spec, dict) and "fields" in spec:
            subs = []
            for sf, sspec in spec["fields"].items():
                c = _compile_field(name, f"{field}.{sf}", sspec, tables, True, on_unmapped)
                if c is not None:
                    subs.append((sf, tuple(c[0].split(".")), c[1]))
            lists.append((field, tuple(spec["from"].split(".")), subs))
            continue
        c = _compile_field(name, field, spec, tables, True, on_unmapped)
        if c is not None:
            flat.append((field, tuple(c[0].split(".")), c[1]))
    count = 0
    with _Sink(out) as f:
        buf: list[bytes] = []
        for rec in records:
            obj = _nest(rec, flat)
            for field, path, subs in lists:
                entries = rec.get(field)
                if entries:
                    _put(obj, path, [_nest(e, subs) for e in entries])
            buf.append(_json_encode(obj))
            count += 1
            if len(buf) >= _CHUNK:
                buf.append(b"")
                f.write(b"\n".join(buf))
                buf.clear()
        if buf:
            buf.append(b"")
            f.write(b"\n".join(buf))
    return count


def _nest(rec: Mapping[str, Any], fields: list[tuple[str, tuple[str, ...], Callable | None]]) -> dict[str, Any]:
    """``rec``'s fields converted and placed at their (dotted) source paths."""
    obj: dict[str, Any] = {}
    for field, path, conv in fields:
        v = rec.get(field)
        if v is None:
            continue
        if conv is not None:
            v = conv(v)
            if v is None:
                continue
        _put(obj, path, v)
    return obj


def _put(obj: dict, path: tuple[str, ...], v: Any) -> None:
    for p in path[:-1]:
        obj = obj.setdefault(p, {})
    obj[path[-1]] = v


def write_dept_b_csv(
    cases: Iterable[Mapping[str, Any]], out: str | os.PathLike | IO[bytes], *, on_unmapped: str = "raise"
) -> int:
    """张家港市住房和城乡建设局's GBK CSV (``mappings/dept_b_case_csv.yaml`` reversed)."""
    return write_mapped(cases, "dept_b_case_csv", out, on_unmapped=on_unmapped)


def write_dept_c_jsonl(
    cases: Iterable[Mapping[str, Any]], out: str | os.PathLike | IO[bytes], *, on_unmapped: str = "raise"
) -> int:
    """太仓市市场监督管理局's nested JSON lines (``mappings/dept_c_case_jsonl.yaml`` reversed)."""
    return write_mapped(cases, "dept_c_case_jsonl", out, on_unmapped=on_unmapped)
