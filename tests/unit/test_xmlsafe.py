"""Hostile and foreign-encoded XML: refused or decoded, never expanded."""

import io

import pytest

from hub.model import xmlsafe

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<cases xmlns="urn:govhub:case:1"><case><case_no>&lol9;</case_no></case></cases>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<cases xmlns="urn:govhub:case:1"><case><case_no>&xxe;</case_no></case></cases>"""


@pytest.mark.parametrize("doc", [BOMB, XXE], ids=["billion-laughs", "external-entity"])
def test_doctype_refused_before_parsing(doc):
    with pytest.raises(xmlsafe.XmlRefused) as exc:
        xmlsafe.open_xml(io.BytesIO(doc))
    assert exc.value.reason == "xml_forbidden"


@pytest.mark.parametrize("doc", [BOMB, XXE], ids=["billion-laughs", "external-entity"])
def test_parse_document_refuses(doc):
    with pytest.raises(xmlsafe.XmlRefused):
        xmlsafe.parse_document(doc)


def test_doctype_after_long_prolog_still_refused_by_parser():
    # A DOCTYPE pushed past the first 4 KiB by a comment still never expands entities.
    doc = b'<?xml version="1.0"?><!--' + b"x" * 8000 + b"-->" + XXE.split(b"?>", 1)[1]
    stream, _ = xmlsafe.open_xml(io.BytesIO(doc))
    texts = []
    try:
        for _ev, el in xmlsafe.iterparse(stream):
            texts.append(el.text or "")
    except Exception:  # noqa: BLE001 — refusing is fine too
        pass
    assert not any("root:" in t for t in texts)


@pytest.mark.parametrize("declared,codec", [("GBK", "gbk"), ("GB2312", "gbk"), ("GB18030", "gb18030"), ("gbk", "gbk")])
def test_gb_encodings_transcoded_to_utf8(declared, codec):
    text = f'<?xml version="1.0" encoding="{declared}"?><a><b>常熟市虞山街道海虞北路</b><b>張家港</b></a>'
    stream, enc = xmlsafe.open_xml(io.BytesIO(text.encode(codec)))
    assert enc == declared.lower()
    values = [el.text for _e, el in xmlsafe.iterparse(stream, tag="b")]
    assert values == ["常熟市虞山街道海虞北路", "張家港"]


def test_gb18030_four_byte_characters():
    text = '<?xml version="1.0" encoding="GB18030"?><a><b>𠀀𪚥</b></a>'
    stream, _ = xmlsafe.open_xml(io.BytesIO(text.encode("gb18030")))
    assert [el.text for _e, el in xmlsafe.iterparse(stream, tag="b")] == ["𠀀𪚥"]


def test_lying_encoding_refused():
    text = '<?xml version="1.0" encoding="GBK"?><a><b>𠀀</b></a>'  # 4-byte GB18030 char is not GBK
    stream, _ = xmlsafe.open_xml(io.BytesIO(text.encode("gb18030")))
    with pytest.raises(xmlsafe.XmlRefused) as exc:
        list(xmlsafe.iterparse(stream))
    assert exc.value.reason == "encoding_invalid"


def test_unknown_encoding_refused():
    with pytest.raises(xmlsafe.XmlRefused) as exc:
        xmlsafe.open_xml(io.BytesIO(b'<?xml version="1.0" encoding="EBCDIC-CP-US"?><a/>'))
    assert exc.value.reason == "encoding_invalid"


def test_utf8_bom_accepted():
    stream, enc = xmlsafe.open_xml(io.BytesIO("\ufeff<a><b>办件</b></a>".encode("utf-8")))
    assert enc == "utf-8"
    assert [el.text for _e, el in xmlsafe.iterparse(stream, tag="b")] == ["办件"]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_doctype_in_utf16_or_utf32_is_refused_before_parsing(codec):
    from hub.model.xmlsafe import XmlRefused, check_prolog

    doc = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>'.encode(codec)
    with pytest.raises(XmlRefused) as exc:
        check_prolog(doc)
    assert exc.value.reason == "xml_forbidden"
