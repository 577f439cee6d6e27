"""hub.core.wire: a message body is read as the bytes that were sent."""

from types import SimpleNamespace

from hub.core.wire import original_bytes, raw_channel

GBK = '<?xml version="1.0" encoding="GBK"?><cases><case>常熟市</case></cases>'.encode("gbk")


def test_bytes_stay_as_they_are():
    assert original_bytes(SimpleNamespace(body=GBK, content_encoding="gbk")) == GBK


def test_a_body_decoded_by_its_content_encoding_is_encoded_back_with_it():
    decoded = SimpleNamespace(body=GBK.decode("gbk"), content_encoding="gbk")
    assert original_bytes(decoded) == GBK
    assert original_bytes(decoded) != GBK.decode("gbk").encode("utf-8")


def test_unknown_or_missing_encodings_and_empty_bodies():
    assert original_bytes(SimpleNamespace(body="abc", content_encoding="no-such-codec")) == b"abc"
    assert original_bytes(SimpleNamespace(body=None, content_encoding=None)) == b""


def test_raw_channel_turns_off_py_amqp_decoding():
    ch = SimpleNamespace(auto_decode=True)
    assert raw_channel(ch) is ch and ch.auto_decode is False
    other = object()
    assert raw_channel(other) is other  # transports without the switch are left alone
