"""The SOAP pull operations, for platforms that speak only SOAP (issue #13), in the same
WSDL as the pushes (``hub.api.soap.wsdl``), types in ``urn:govhub:pull:1`` (``?xsd=pull``):

``GetCaseChanges``   ``cursor`` (optional), ``limit`` (1–5000, default 500), ``region``
                     (optional) → ``CaseChanges``: ``next_cursor``, ``has_more`` and the
                     page as a canonical ``<cases>`` batch. The cursor is the one
                     ``GET /api/v1/case/changes`` uses: a platform may switch between them.
                     The caller must be allowed to pull cases (``may_pull``), for its region.
``GetItemCatalogue`` ``since_version`` (optional: the ``version`` of an earlier answer),
                     ``limit``, ``region`` → ``ItemCatalogue``: ``version`` (pass it next
                     time), ``has_more`` and the items changed since as an ``<items>`` batch.
                     The catalogue is published: any authenticated system may read it.

Errors are the service's faults: ``Client.Forbidden`` (may not pull), ``Client.InvalidRequest``
(a bad cursor, limit or region).
"""

from __future__ import annotations

import re

from lxml import etree
from sqlalchemy import Engine

from hub.api import pull_query
from hub.api.cursor import BadCursor
from hub.api.soap.envelope import SoapFault
from hub.api.soap.wsdl import OPERATIONS, PULL_NS
from hub.catalog.access import authorise_pull
from hub.catalog.systems import System
from hub.outbound.serialize import to_xml

_REGION = re.compile(r"^\d{2,6}$")


def request_elements() -> dict[str, str]:
    """Clark name of each pull request element → operation name."""
    return {f"{{{PULL_NS}}}{req}": op for op, (req, *_rest) in OPERATIONS.items()}


def _arg(payload, name: str) -> str | None:
    text = payload.findtext(f"{{{PULL_NS}}}{name}")
    return text.strip() if text and text.strip() else None


def handle(operation: str, payload, system: System, engine: Engine) -> etree._Element:
    _req, answer, kind, out_cursor, in_cursor = OPERATIONS[operation]
    region, cursor = _arg(payload, "region"), _arg(payload, in_cursor)
    try:
        limit = int(_arg(payload, "limit") or 500)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 5000:
        raise SoapFault("Client.InvalidRequest", "bad_limit", "limit is a whole number from 1 to 5000")
    if region is not None and not _REGION.match(region):
        raise SoapFault("Client.InvalidRequest", "bad_region", "region is a division-code prefix of 2 to 6 digits")
    prefix = authorise_pull(system, kind, region) if kind == "case" else (region or "")
    try:
        got = pull_query.page(engine, kind, f"{system.id}:{kind}:{prefix}", prefix, cursor, limit)
    except BadCursor as exc:
        raise SoapFault("Client.InvalidRequest", exc.reason, exc.message) from None
    el = etree.Element(f"{{{PULL_NS}}}{answer}", nsmap={None: PULL_NS})
    if got.next_cursor:
        etree.SubElement(el, f"{{{PULL_NS}}}{out_cursor}").text = got.next_cursor
    etree.SubElement(el, f"{{{PULL_NS}}}has_more").text = "true" if got.has_more else "false"
    records = [{k: v for k, v in dict(r).items() if v is not None} for r in got.rows]
    el.append(etree.fromstring(to_xml(kind, records)))
    return el
