"""govhub_verify: check a govhub evidence package (存证) offline, with no hub and no database.

    python -m govhub_verify package.zip [--cert hub.pem] [--tsa-cert tsa.pem] [--require-timestamp] [--json]

Needs only ``cryptography`` (and ``asn1crypto`` when the checkpoint carries an RFC 3161
time-stamp). It imports nothing of the hub: a third party can copy this folder alone.
The format is in :mod:`govhub_verify.formats`; the hub writes with the same functions.

    from govhub_verify import verify_package
    report = verify_package(Path("package.zip").read_bytes())
    report.ok, report.holds, report.broken   # Break(check, reason, seq, line) or None
"""

from __future__ import annotations

from govhub_verify.package import Break, Report, verify_package

__all__ = ["Break", "Report", "verify_package"]
