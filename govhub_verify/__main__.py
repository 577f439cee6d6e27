"""``python -m govhub_verify package.zip``: prints what holds and the first break.

Exit status: 0 the package holds, 1 something does not hold, 2 a usage error (a file
that cannot be read)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from govhub_verify.package import verify_package


def _read(path: str | None) -> bytes | None:
    return None if path is None else Path(path).read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m govhub_verify",
        description="Check a govhub evidence package (govhub-evidence/1) offline.",
    )
    parser.add_argument("package", help="the evidence package (.zip)")
    parser.add_argument(
        "--cert", help="the hub's certificate (PEM) as its operator published it: the package's must be this one"
    )
    parser.add_argument(
        "--tsa-cert", help="the time-stamping authority's certificate (PEM), instead of the package's tsa.pem"
    )
    parser.add_argument(
        "--require-timestamp", action="store_true", help="a checkpoint without an RFC 3161 time-stamp is a break"
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args(argv)
    try:
        package, cert, tsa = Path(args.package).read_bytes(), _read(args.cert), _read(args.tsa_cert)
    except OSError as exc:
        print(f"govhub_verify: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    report = verify_package(package, certificate=cert, tsa_certificate=tsa, require_timestamp=args.require_timestamp)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"evidence package {args.package}:")
        print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
