"""The sandbox province's case-upload interface (办件上报, ``UploadCases``): the document
must validate strictly against the published XSD (``schemas/peers/province_case_upload.xsd``;
a document that does not is a ``soap:Client`` fault, nothing of it kept), then every row
is checked and answered with its own receipt, accepted or rejected with the province's
reason code:

``E101`` 事项编码未在省级事项库登记   the item code is one the province refuses (``state.refuse_items``)
``E102`` 办结时间早于申请时间          a result row finished before the case was applied for
``E105`` 承诺期限超过省级事项库规定     CNQX over the item's ``state.max_promise_days[item code]``
``E150`` 数据来源代码未备案            the row's SJLY is not registered (``state.data_sources``)
``E201`` 办件不存在,不能更新或删除      an update / delete (U / D) of a case the province does not hold
``E202`` 办件已作废                    a row for a case the province holds as deleted
``E203`` 受理信息未通过校验              a row of a case whose 受理 row in the same batch was rejected

``state.upload_cases`` holds case number → ``held`` / ``deleted``; ``state.upload_rows``
every accepted row (row name, case number, sync type); ``state.upload_batches`` the batch
numbers seen.
"""

from __future__ import annotations

from functools import cache

from lxml import etree

from hub.core.config import SCHEMAS_DIR

UPLOAD_NS = "urn:js-province:case-upload:1"
XSD = SCHEMAS_DIR / "peers" / "province_case_upload.xsd"

WSDL_TYPES = """      <xsd:import namespace="{upload}" schemaLocation="{address}?xsd=upload"/>
      <xsd:element name="UploadCasesResponse">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="ack_id" type="xsd:string"/>
          <xsd:element name="batch_no" type="xsd:string"/>
          <xsd:element name="accepted" type="xsd:int"/>
          <xsd:element name="rejected" type="xsd:int"/>
          <xsd:element name="receipt" minOccurs="0" maxOccurs="unbounded">
            <xsd:complexType><xsd:sequence>
              <xsd:element name="HID" type="xsd:string"/>
              <xsd:element name="status" type="xsd:string"/>
              <xsd:element name="code" type="xsd:string" minOccurs="0"/>
              <xsd:element name="message" type="xsd:string" minOccurs="0"/>
            </xsd:sequence></xsd:complexType>
          </xsd:element>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
"""
WSDL_MESSAGES = """  <wsdl:message name="UploadCasesRequest"><wsdl:part name="upload" element="up:CaseUpload"/></wsdl:message>
  <wsdl:message name="UploadCasesResponse"><wsdl:part name="parameters" element="tns:UploadCasesResponse"/></wsdl:message>
"""
WSDL_PORT_OP = """    <wsdl:operation name="UploadCases">
      <wsdl:input message="tns:UploadCasesRequest"/><wsdl:output message="tns:UploadCasesResponse"/>
    </wsdl:operation>
"""
WSDL_BINDING_OP = """    <wsdl:operation name="UploadCases">
      <soap:operation soapAction="{tns}/UploadCases"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
"""

REASONS = {
    "E101": "事项编码未在省级事项库登记",
    "E102": "办结时间早于申请时间",
    "E105": "承诺期限超过省级事项库规定",
    "E150": "数据来源代码未备案",
    "E201": "办件不存在,不能更新或删除",
    "E202": "办件已作废",
    "E203": "受理信息未通过校验,关联信息不予接收",
}


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


class Invalid(Exception):
    """The document breaks the XSD: refused whole."""


def _text(row, name: str) -> str:
    return row.findtext(f"{{{UPLOAD_NS}}}{name}") or ""


def upload(state, doc) -> tuple[str, list[tuple[str, str, str]]]:
    """Check and keep one upload; returns (batch number, [(row id, code or "", message)])."""
    standalone = etree.fromstring(etree.tostring(doc))
    if not schema().validate(standalone):
        err = schema().error_log.filter_from_errors()[0]
        raise Invalid(f"E000 报文不符合办件上报规范 (line {err.line}): {err.message}")
    out: list[tuple[str, str, str]] = []
    applied: dict[str, str] = {}  # case → apply time, from this batch's 受理 rows
    failed: set[str] = set()  # cases whose 受理 row this batch rejected
    with state.lock:
        state.upload_batches.append(doc.get("pch"))
        before = dict(state.upload_cases)  # a batch's delete applies to its later rows too
        for row in standalone:
            name = etree.QName(row).localname
            case, sync = _text(row, "BJBH"), _text(row, "TBLX")
            held = before.get(case, state.upload_cases.get(case))
            code = ""
            if name == "SLXX":
                applied[case] = _text(row, "SQSJ")
            if _text(row, "SJLY") not in state.data_sources:
                code = "E150"
            elif name != "SLXX" and case in failed:
                code = "E203"
            elif name == "SLXX" and _text(row, "SXBM") in state.refuse_items:
                code = "E101"
            elif name == "SLXX" and _over(state.max_promise_days.get(_text(row, "SXBM")), _text(row, "CNQX")):
                code = "E105"
            elif sync in ("U", "D") and held is None:
                code = "E201"
            elif held == "deleted" and sync != "I":
                code = "E202"
            elif name == "BJXX" and applied.get(case) and _text(row, "BJSJ") < applied[case]:
                code = "E102"
            if code and name == "SLXX":
                failed.add(case)
            if not code:
                if name == "SLXX":
                    state.upload_cases[case] = "deleted" if sync == "D" else "held"
                state.upload_rows.append((name, case, sync))
            out.append((_text(row, "HID"), code, REASONS.get(code, "")))
    return doc.get("pch"), out


def _over(limit: int | None, days: str) -> bool:
    return limit is not None and days.isdigit() and int(days) > limit


def answer(tns: str, ack: str, batch: str, results: list[tuple[str, str, str]]):
    el = etree.Element(f"{{{tns}}}UploadCasesResponse", nsmap={None: tns})
    etree.SubElement(el, f"{{{tns}}}ack_id").text = ack
    etree.SubElement(el, f"{{{tns}}}batch_no").text = batch
    etree.SubElement(el, f"{{{tns}}}accepted").text = str(sum(1 for _, c, _ in results if not c))
    etree.SubElement(el, f"{{{tns}}}rejected").text = str(sum(1 for _, c, _ in results if c))
    for hid, code, message in results:
        r = etree.SubElement(el, f"{{{tns}}}receipt")
        etree.SubElement(r, f"{{{tns}}}HID").text = hid
        etree.SubElement(r, f"{{{tns}}}status").text = "rejected" if code else "accepted"
        if code:
            etree.SubElement(r, f"{{{tns}}}code").text = code
            etree.SubElement(r, f"{{{tns}}}message").text = message
    return el
