"""Build ``gb2260.csv`` (行政区划代码 GB/T 2260, with history) from python-stdnum's ``cn/loc.dat``.

Usage::

    python catalog/divisions/build_from_stdnum.py            # rewrite gb2260.csv
    python catalog/divisions/build_from_stdnum.py --check    # exit 1 if it is stale
    python catalog/divisions/build_from_stdnum.py --source path/to/loc.dat

The CSV is the source of truth the hub loads (``hub.model.codes.divisions``); this script
only regenerates it. Output is deterministic, so re-running it on the same loc.dat
gives a byte-identical file. Codes loc.dat lacks go in ``supplement.csv``, never here.

loc.dat format (stdnum's numdb)::

    32 province="江苏省"                       <- 2-digit prefix for the lines below
      0502 county="[1983-2012]沧浪区"          <- code 320502, valid 1983..2012
      0602 county="[1983-1990]城区,[1991-2019]崇川区"   <- one code, two periods
      0100 county="南京市"                     <- no range: valid since records begin

Every 4-digit line is called ``county`` whatever its level. A range is ``[from-to]``
with both years inclusive and either end may be empty: ``[-2010]`` = until 2010 from
before records begin (start unknown), ``[2011-]`` = since 2011, still valid. Renames
appear as comma-separated periods of the same code. The end year of one code is
usually the start year of its successor (both valid in the year of the change).
A few ranges are inverted (``[1983-1982]``); they are swapped, see README.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "gb2260.csv"
HEADER = ("code", "name", "level", "parent", "valid_from", "valid_to")

_PREFIX = re.compile(r'^(\d{2}) province="([^"]*)"$')
_ENTRY = re.compile(r'^  (\d{4}) county="([^"]*)"$')
_PERIOD = re.compile(r"^(?:\[(\d{4})?-(\d{4})?\])?([^\[\],]+)$")


def default_source() -> Path:
    import stdnum

    return Path(stdnum.__file__).resolve().parent / "cn" / "loc.dat"


def level_of(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def parse(text: str) -> list[tuple[str, str, str, str]]:
    """Return (code, name, valid_from, valid_to) per period; fail loudly on anything
    that does not match the format above, so a new stdnum release cannot silently
    change the meaning of the table."""
    out = []
    prefix = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = _PREFIX.match(line)
        if m:
            prefix = m.group(1)
            continue
        m = _ENTRY.match(line)
        if not m or prefix is None:
            raise SystemExit(f"loc.dat line {lineno}: unexpected line {line!r}")
        code = prefix + m.group(1)
        for part in m.group(2).split(","):
            p = _PERIOD.match(part)
            if not p:
                raise SystemExit(f"loc.dat line {lineno}: bad period {part!r} for {code}")
            start, end, name = p.groups()
            if start and end and int(start) > int(end):
                # loc.dat has 14 names written "[1983-1982]": renamed during the
                # 1982/83 reorganisation. Read it as "valid around 1982-1983" rather
                # than drop a name that real records may still carry.
                start, end = end, start
            out.append((code, name.strip(), start or "", end or ""))
    return out


def rows(entries: list[tuple[str, str, str, str]]) -> list[tuple[str, ...]]:
    codes = {e[0] for e in entries}
    result = []
    for code, name, start, end in entries:
        level = level_of(code)
        if level == "province":
            parent = ""
        elif level == "prefecture":
            parent = code[:2] + "0000"
        else:
            # Counties directly under a province (省直辖县级) have no xxxx00 of their own
            # in some provinces: fall back to the province.
            pref = code[:4] + "00"
            parent = pref if pref in codes else code[:2] + "0000"
        result.append((code, name, level, parent, start, end))
    # Sort by code, then by start year (unknown start first): stable, diff-friendly.
    result.sort(key=lambda r: (r[0], r[4] or "0000"))
    return result


def render(table: list[tuple[str, ...]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows(table)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=None, help="loc.dat (default: installed stdnum)")
    ap.add_argument("--output", type=Path, default=OUTPUT)
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if output is stale")
    args = ap.parse_args(argv)

    source = args.source or default_source()
    text = render(rows(parse(source.read_text(encoding="utf-8"))))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale; re-run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({text.count(chr(10)) - 1} rows) from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
