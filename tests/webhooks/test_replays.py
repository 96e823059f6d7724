"""Replayed messages, XML in other encodings, and replies built from whatever text is stored."""
from xml.etree import ElementTree

import pytest
import redis

from tests.conftest import TEST_REDIS_URL
from tests.webhooks import wx
from wechat.messages import Answer, Article
from webhooks import routing
from webhooks.protocol import Rejected, parse_xml, render


def post(client, xml: str | bytes, query: dict | None = None):
    body = xml.encode() if isinstance(xml, str) else xml
    return client.post("/wechat", params=query or wx.signed_query(), content=body)


def let_redis_time_pass(seconds: int) -> None:
    """What `seconds` of waiting does to the webhook's de-duplication keys: each lives that much less."""
    r = redis.Redis.from_url(TEST_REDIS_URL)
    for key in r.scan_iter("wx:dedupe:*"):
        left = r.pttl(key)
        if left <= seconds * 1000:
            r.delete(key)
        else:
            r.pexpire(key, left - seconds * 1000)


@pytest.mark.parametrize("later", [73, 290])
def test_a_signed_message_replayed_within_the_timestamp_window_is_not_handled_again(client, monkeypatch, later):
    calls = []
    monkeypatch.setitem(routing.ROUTES, "text", lambda m: calls.append(m.msg_id) or Answer(text="已办理"))
    query, xml = wx.signed_query(), wx.message("oReplay001", msg_id=4242, Content="办理")
    assert parse_xml(post(client, xml, query).content)["Content"] == "已办理"
    let_redis_time_pass(later)  # the timestamp is still within WECHAT_MAX_CLOCK_SKEW (300 s)
    again = post(client, xml, query)
    assert again.status_code == 200 and calls == ["4242"]


def test_an_event_replayed_within_the_timestamp_window_is_not_handled_again(client, monkeypatch):
    calls = []
    monkeypatch.setitem(routing.ROUTES, "event.click", lambda m: calls.append(1) or Answer(text="ok"))
    query = wx.signed_query()
    xml = wx.message("oReplay002", kind="event", Event="CLICK", EventKey="HELP")
    post(client, xml, query)
    let_redis_time_pass(120)
    post(client, xml, query)
    assert calls == [1]


UTF16_ENTITY = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE xml [<!ENTITY a "泄露">]>'
                '<xml><ToUserName>gh_account</ToUserName><FromUserName>oUtf16x001</FromUserName>'
                '<CreateTime>1800000000</CreateTime><MsgType>text</MsgType><Content>&a;</Content>'
                '<MsgId>77</MsgId></xml>')


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_dtd_is_refused_whatever_the_encoding(encoding):
    body = UTF16_ENTITY.replace("UTF-16", encoding.upper()).encode(encoding)
    with pytest.raises(Rejected) as exc:
        parse_xml(body)
    assert exc.value.status == 400


def test_an_external_entity_in_utf16_never_reaches_a_handler(client, monkeypatch):
    calls = []
    monkeypatch.setitem(routing.ROUTES, "text", lambda m: calls.append(m.content) or Answer(text=m.content))
    body = UTF16_ENTITY.replace('<!ENTITY a "泄露">', '<!ENTITY a SYSTEM "file:///etc/hostname">')
    r = post(client, body.encode("utf-16"))
    assert r.status_code == 400 and calls == []


def test_a_utf16_message_without_a_dtd_still_parses():
    body = UTF16_ENTITY.replace('<!DOCTYPE xml [<!ENTITY a "泄露">]>', "").replace("&a;", "你好")
    assert parse_xml(body.encode("utf-16"))["Content"] == "你好"


STORED = "第一行\x00\x01\x08\x0b\x0c\x1f\ud800\ufffe第二行]]>结尾\t\n"


def strict_parse(xml: str) -> dict:
    """An XML 1.0 parser that shares nothing with the webhook's own."""
    return {child.tag: child.text for child in ElementTree.fromstring(xml.encode("utf-8", "surrogatepass"))}


def test_a_text_reply_is_well_formed_whatever_is_stored():
    fields = strict_parse(render(Answer(text=STORED), to="oUser\x07", account="gh_a"))
    assert fields["Content"] == "第一行第二行]]>结尾\t\n" and fields["ToUserName"] == "oUser"


def test_a_news_reply_is_well_formed_whatever_is_stored():
    xml = render(Answer(articles=(Article(STORED, STORED, "http://x/p/1?a=1&b=\x02"),)), to="oUser",
                 account="gh_a")
    item = ElementTree.fromstring(xml.encode()).find("Articles/item")
    assert item.findtext("Title") == "第一行第二行]]>结尾\t\n" and item.findtext("Url") == "http://x/p/1?a=1&b="


def test_the_webhook_answers_well_formed_xml_for_stored_control_characters(client, monkeypatch):
    monkeypatch.setitem(routing.ROUTES, "text", lambda m: Answer(text="政策\x0b解读\x1b"))
    r = post(client, wx.message("oCtrl00001", Content="问题"))
    assert r.status_code == 200 and strict_parse(r.text)["Content"] == "政策解读"
