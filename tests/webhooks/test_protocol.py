import time

import pytest

from tests.conftest import TEST_WECHAT
from tests.webhooks import wx
from wechat.messages import REPLY_BYTES, Answer, Article
from webhooks.protocol import Codec, Rejected, check_signature, parse_xml, render

TOKEN = TEST_WECHAT["WECHAT_TOKEN"]


def codec(key=TEST_WECHAT["WECHAT_AES_KEY"]):
    return Codec(TOKEN, key, TEST_WECHAT["WECHAT_APPID"])


def test_signature_accepts_what_wechat_signs():
    check_signature(TOKEN, wx.signed_query(), 300)


@pytest.mark.parametrize("change, reason", [
    ({"signature": "0" * 40}, "signature mismatch"),
    ({"signature": ""}, "missing"),
    ({"nonce": ""}, "missing"),
])
def test_signature_refuses_forgeries(change, reason):
    with pytest.raises(Rejected) as exc:
        check_signature(TOKEN, {**wx.signed_query(), **change}, 300)
    assert exc.value.status == 403 and reason in exc.value.reason


def test_signature_refuses_other_token():
    with pytest.raises(Rejected):
        check_signature(TOKEN, wx.signed_query(token="other"), 300)


@pytest.mark.parametrize("offset", [-301, 301, -86400])
def test_stale_or_future_timestamp_is_refused(offset):
    with pytest.raises(Rejected) as exc:
        check_signature(TOKEN, wx.signed_query(int(time.time()) + offset), 300)
    assert exc.value.status == 403 and "from now" in exc.value.reason


def test_non_numeric_timestamp_is_refused():
    query = {"timestamp": "soon", "nonce": "1"}
    query["signature"] = wx.sign(TOKEN, "soon", "1")
    with pytest.raises(Rejected, match="integer"):
        check_signature(TOKEN, query, 300)


@pytest.mark.parametrize("body, reason", [
    (b"", "empty"),
    (b"   ", "empty"),
    (b"<xml><MsgType>text</MsgTy", "malformed"),
    (b"not xml at all", "malformed"),
    (b"<xml>just text</xml>", "root element"),
    (b'<!DOCTYPE x [<!ENTITY a "b">]><xml><C>&a;</C></xml>', "DTD"),
    (b'<?xml version="1.0"?><!DOCTYPE xml SYSTEM "file:///etc/passwd"><xml/>', "DTD"),
    (b'<?xml version="1.0"?><!doctype xml SYSTEM "file:///etc/passwd"><xml/>', "malformed"),
])
def test_bad_xml_is_refused(body, reason):
    with pytest.raises(Rejected) as exc:
        parse_xml(body)
    assert exc.value.status == 400 and reason in exc.value.reason


def test_fields_parse_with_cdata_and_chinese():
    fields = parse_xml(wx.message(Content="高新技术企业]]>补贴".replace("]]>", "")))
    assert fields["Content"] == "高新技术企业补贴" and fields["MsgType"] == "text"


def test_plaintext_request_opens_as_is():
    xml = wx.message(Content="你好")
    env = codec().open(wx.signed_query(), xml.encode())
    assert not env.encrypted and env.fields["Content"] == "你好"


def test_safe_mode_decrypts_and_reply_is_sealed():
    query, body = wx.encrypt(wx.message(Content="你好"), wx.signed_query())
    env = codec().open(query, body.encode())
    assert env.encrypted and env.fields["Content"] == "你好"
    sealed = codec().seal("<xml><Content>答复</Content></xml>", True)
    assert "答复" not in sealed and wx.decrypt_reply(sealed) == "<xml><Content>答复</Content></xml>"


def test_compatible_mode_without_key_uses_plain_fields():
    xml = wx.message(Content="你好")
    query, _ = wx.encrypt(xml, wx.signed_query())
    compat = xml[:-len("</xml>")] + "<Encrypt><![CDATA[xx]]></Encrypt></xml>"
    env = codec(key=None).open(query, compat.encode())
    assert not env.encrypted and env.fields["Content"] == "你好"


def test_encrypted_without_key_and_without_plain_fields_is_refused():
    query, body = wx.encrypt(wx.message(), wx.signed_query())
    with pytest.raises(Rejected) as exc:
        codec(key=None).open(query, body.encode())
    assert exc.value.status == 400


def test_forged_msg_signature_is_refused():
    query, body = wx.encrypt(wx.message(), wx.signed_query())
    with pytest.raises(Rejected) as exc:
        codec().open({**query, "msg_signature": "f" * 40}, body.encode())
    assert exc.value.status == 403


def test_ciphertext_for_another_appid_is_refused():
    query, body = wx.encrypt(wx.message(), wx.signed_query(), appid="wx0000000000000000")
    with pytest.raises(Rejected, match="another appid") as exc:
        codec().open(query, body.encode())
    assert exc.value.status == 400


@pytest.mark.parametrize("cipher", ["!!notbase64!!", "QUJD", ""])
def test_garbage_ciphertext_is_refused(cipher):
    query = wx.signed_query()
    query.update(encrypt_type="aes", msg_signature=wx.sign(TOKEN, query["timestamp"], query["nonce"], cipher))
    body = f"<xml><ToUserName>x</ToUserName><Encrypt><![CDATA[{cipher}]]></Encrypt></xml>"
    with pytest.raises(Rejected) as exc:
        codec().open(query, body.encode())
    assert exc.value.status == 400


def test_long_text_is_cut_to_what_wechat_takes_in_bytes():
    xml = render(Answer(text="长" * REPLY_BYTES), to="oUser", account="gh_a")
    content = parse_xml(xml)["Content"]
    assert len(content.encode()) <= REPLY_BYTES and len(content.encode()) > REPLY_BYTES - 6
    assert content.endswith("…")


def test_text_within_the_limit_is_untouched():
    text = "政策" * 300 + "。"
    assert parse_xml(render(Answer(text=text), to="oUser", account="gh_a"))["Content"] == text


def test_articles_render_as_news():
    xml = render(Answer(articles=(Article("标题", "摘要", "http://x/p/1"),)), to="oUser", account="gh_a")
    fields = parse_xml(xml)
    assert fields["MsgType"] == "news" and fields["ArticleCount"] == "1" and fields["ToUserName"] == "oUser"
