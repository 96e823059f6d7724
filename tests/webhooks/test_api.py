import json
import threading
import time

import pytest
import redis

from core.db import session_scope
from subscriptions import service as followers
from subscriptions.models import FollowerState
from subscriptions.service import LAST_SEEN_KEY
from tests.conftest import TEST_REDIS_URL
from tests.webhooks import wx
from wechat import allowance
from wechat.messages import Answer
from webhooks import routing
from webhooks.protocol import parse_xml


def post(client, xml: str, query: dict | None = None):
    return client.post("/wechat", params=query or wx.signed_query(), content=xml.encode())


def test_url_verification_echoes(client):
    r = client.get("/wechat", params={**wx.signed_query(), "echostr": "abc123"})
    assert r.status_code == 200 and r.text == "abc123"


def test_url_verification_forged_is_403(client):
    r = client.get("/wechat", params={**wx.signed_query(), "signature": "1" * 40, "echostr": "abc"})
    assert r.status_code == 403 and "abc" not in r.text


def test_text_gets_a_reply_addressed_to_the_sender(client):
    r = post(client, wx.message("oAlice0001", Content="你好"))
    reply = parse_xml(r.content)
    assert r.status_code == 200 and reply["ToUserName"] == "oAlice0001" and reply["MsgType"] == "text"
    assert reply["FromUserName"] == "gh_account"


def test_encrypted_request_gets_encrypted_reply(client):
    query, body = wx.encrypt(wx.message("oAlice0001", Content="你好"), wx.signed_query())
    r = post(client, body, query)
    assert r.status_code == 200 and "<Encrypt>" in r.text
    assert parse_xml(wx.decrypt_reply(r.text))["ToUserName"] == "oAlice0001"


@pytest.mark.parametrize("xml, status", [
    ("", 400),
    ("<xml><MsgType>text</MsgType></xml>", 400),           # no sender
    ("<xml><FromUserName>o1</FromUserName></xml>", 400),    # no type
])
def test_incomplete_messages_are_400(client, xml, status):
    assert post(client, xml).status_code == status


def test_oversized_body_is_413_and_nothing_is_recorded(client):
    r = post(client, wx.message("oBig000001", Content="长" * 400_000))
    assert r.status_code == 413
    with session_scope() as session:
        assert followers.get_by_openid(session=session, openid="oBig000001") is None


def test_forged_post_changes_nothing(client):
    r = post(client, wx.message("oForged001", kind="event", Event="subscribe"),
             {**wx.signed_query(), "signature": "0" * 40})
    assert r.status_code == 403
    with session_scope() as session:
        assert followers.get_by_openid(session=session, openid="oForged001") is None


def test_unknown_message_type_gets_help(client):
    r = post(client, wx.message(kind="miniprogrampage", Title="x"))
    assert r.status_code == 200 and "帮助" in parse_xml(r.content)["Content"]


@pytest.mark.parametrize("kind, fields", [
    ("image", {"PicUrl": "http://x/1.jpg", "MediaId": "m1"}),
    ("voice", {"MediaId": "m1", "Format": "amr", "Recognition": "你好"}),
    ("video", {"MediaId": "m1", "ThumbMediaId": "t1"}),
    ("shortvideo", {"MediaId": "m1", "ThumbMediaId": "t1"}),
    ("location", {"Location_X": "23.1", "Location_Y": "113.3", "Scale": "20", "Label": "某地"}),
    ("link", {"Title": "t", "Description": "d", "Url": "http://x"}),
    ("event", {"Event": "CLICK", "EventKey": "HELP"}),
    ("event", {"Event": "VIEW", "EventKey": "http://x"}),
    ("event", {"Event": "LOCATION", "Latitude": "1", "Longitude": "2", "Precision": "3"}),
    ("event", {"Event": "TEMPLATESENDJOBFINISH", "MsgID": "1", "Status": "success"}),
    ("event", {"Event": "MASSSENDJOBFINISH", "MsgID": "1", "Status": "send success"}),
    ("event", {"Event": "some_future_event"}),
])
def test_every_message_and_event_type_is_answered(client, kind, fields):
    r = post(client, wx.message(kind=kind, **fields))
    assert r.status_code == 200
    assert r.text == "success" or parse_xml(r.content)["MsgType"] in {"text", "news"}


def test_follow_unfollow_and_follow_again(client):
    post(client, wx.message("oBob000001", kind="event", Event="subscribe", EventKey="qrscene_park01"))
    with session_scope() as session:
        f = followers.get_by_openid(session=session, openid="oBob000001")
        assert f.state is FollowerState.following and f.qr_scene == "park01"
    assert post(client, wx.message("oBob000001", kind="event", Event="unsubscribe")).text == "success"
    with session_scope() as session:
        f = followers.get_by_openid(session=session, openid="oBob000001")
        assert f.state is FollowerState.unfollowed and f.unfollowed_at is not None
    post(client, wx.message("oBob000001", kind="event", Event="subscribe", created=int(time.time()) + 1))
    with session_scope() as session:
        f = followers.get_by_openid(session=session, openid="oBob000001")
        assert f.state is FollowerState.following and f.qr_scene == "park01" and f.unfollowed_at is None


def test_scan_by_existing_follower_records_scene(client):
    post(client, wx.message("oCarl00001", kind="event", Event="subscribe"))
    post(client, wx.message("oCarl00001", kind="event", Event="SCAN", EventKey="park02",
                            created=int(time.time()) + 1))
    with session_scope() as session:
        assert followers.get_by_openid(session=session, openid="oCarl00001").qr_scene == "park02"


def test_retry_is_handled_once_and_gets_the_first_reply(client, monkeypatch):
    calls = []

    def counting(msg):
        calls.append(msg.msg_id)
        return Answer(text=f"reply {len(calls)}")

    monkeypatch.setitem(routing.ROUTES, "text", counting)
    xml = wx.message("oDan000001", msg_id=123456789, Content="政策")
    first, second = post(client, xml), post(client, xml)
    assert calls == ["123456789"]
    assert parse_xml(first.content)["Content"] == parse_xml(second.content)["Content"] == "reply 1"


def test_retry_while_first_is_running_waits_for_its_reply(client, monkeypatch):
    release = threading.Event()

    def slow(msg):
        release.wait(5)
        return Answer(text="done")

    monkeypatch.setitem(routing.ROUTES, "text", slow)
    xml = wx.message("oEve000001", msg_id=555, Content="x")
    results = []
    t = threading.Thread(target=lambda: results.append(post(client, xml)))
    t.start()
    time.sleep(0.3)
    threading.Timer(0.3, release.set).start()
    retry = post(client, xml)
    t.join()
    assert parse_xml(retry.content)["Content"] == "done" == parse_xml(results[0].content)["Content"]


def test_events_are_deduplicated_by_sender_and_time(client, monkeypatch):
    calls = []
    monkeypatch.setitem(routing.ROUTES, "event.click", lambda m: calls.append(1) or Answer(text="ok"))
    xml = wx.message("oFay000001", kind="event", Event="CLICK", EventKey="K", created=1_800_000_000)
    post(client, xml), post(client, xml)
    assert calls == [1]


def test_slow_handler_answers_success_then_queues_the_answer(client, monkeypatch):
    monkeypatch.setenv("WECHAT_REPLY_BUDGET", "0.2")
    from core.settings import get_settings

    get_settings.cache_clear()
    monkeypatch.setitem(routing.ROUTES, "text", lambda m: time.sleep(0.6) or Answer(text="late answer"))
    r = post(client, wx.message("oGus000001", Content="slow"))
    assert r.text == "success"
    queued = []
    broker = redis.Redis.from_url(TEST_REDIS_URL)
    deadline = time.time() + 5
    while not queued and time.time() < deadline:
        queued = [json.loads(m) for m in broker.lrange("celery", 0, -1)]
        time.sleep(0.1)
    assert [m["headers"]["task"] for m in queued] == ["wechat.send_text"]
    assert json.loads(__import__("base64").b64decode(queued[0]["body"]))[0] == ["oGus000001", "late answer"]


def test_a_handler_failing_after_its_budget_is_logged_and_sends_nothing(client, monkeypatch, caplog):
    monkeypatch.setenv("WECHAT_REPLY_BUDGET", "0.2")
    from core.settings import get_settings

    get_settings.cache_clear()

    async def slow_then_fails(_msg):
        import asyncio

        await asyncio.sleep(0.4)
        raise RuntimeError("lookup broke")

    monkeypatch.setitem(routing.ROUTES, "text", slow_then_fails)
    assert post(client, wx.message("oGus000002", Content="slow")).text == "success"
    deadline = time.time() + 5
    while time.time() < deadline and not any(r.getMessage() == "handler failed after its budget"
                                             for r in caplog.records):
        time.sleep(0.05)
    assert any(r.getMessage() == "handler failed after its budget" for r in caplog.records)
    assert redis.Redis.from_url(TEST_REDIS_URL).llen("celery") == 0


def test_failing_handler_gets_a_polite_reply_not_500(client, monkeypatch):
    monkeypatch.setitem(routing.ROUTES, "text", lambda m: 1 / 0)
    r = post(client, wx.message(Content="x"))
    assert r.status_code == 200 and "稍后" in parse_xml(r.content)["Content"]


def test_a_fault_outside_the_handlers_is_a_500_from_the_error_handler(app_env, monkeypatch):
    from fastapi.testclient import TestClient

    from server import app
    from webhooks import api

    monkeypatch.setattr(api.dedupe, "claim", lambda *a: 1 / 0)
    with TestClient(app, raise_server_exceptions=False) as plain_client:
        r = post(plain_client, wx.message(Content="x"))
    assert r.status_code == 500 and r.text == "Internal Server Error"


def test_other_methods_on_the_webhook_are_405(client):
    assert client.put("/wechat", params=wx.signed_query(), content=b"<xml/>").status_code == 405


def test_each_message_records_last_interaction(client):
    post(client, wx.message("oHal000001", Content="hi"))
    seen = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True).hget(LAST_SEEN_KEY, "oHal000001")
    assert seen and abs(int(seen) - time.time()) < 5


def test_rejections_are_counted_in_metrics(client):
    post(client, wx.message(), {**wx.signed_query(), "signature": "0" * 40})
    text = client.get("/metrics").text
    assert 'policypush_webhook_requests_total{outcome="forbidden"}' in text
    assert "policypush_webhook_seconds_bucket" in text


def test_healthz_reports_each_dependency(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "redis": "ok", "broker": "ok"}


@pytest.mark.parametrize("receipt", [
    {"Event": "TEMPLATESENDJOBFINISH", "MsgID": "1000000001", "Status": "success"},
    {"Event": "MASSSENDJOBFINISH", "MsgID": "1000000002", "Status": "send success", "TotalCount": "2"},
])
def test_delivery_receipts_are_not_the_followers_activity(client, receipt):
    post(client, wx.message("oReceipt01", kind="event", **receipt))
    r = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    assert r.hget(LAST_SEEN_KEY, "oReceipt01") is None
    with pytest.raises(allowance.Refused) as refused:
        allowance.take(r, "oReceipt01")
    assert refused.value.errcode == 45015


@pytest.mark.parametrize(("fields", "count"), [
    ({"kind": "text", "Content": "你好"}, allowance.MESSAGE_COUNT),
    ({"kind": "event", "Event": "CLICK", "EventKey": "HELP"}, allowance.EVENT_COUNT),
    ({"kind": "event", "Event": "subscribe"}, allowance.EVENT_COUNT),
    ({"kind": "event", "Event": "SCAN", "EventKey": "park-gx"}, allowance.EVENT_COUNT),
    ({"kind": "event", "Event": "VIEW", "EventKey": "https://e.gov.cn"}, 0),
])
def test_what_the_follower_does_opens_its_customer_service_allowance(client, fields, count):
    post(client, wx.message("oAllow0001", **fields))
    r = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    for _ in range(count):
        allowance.take(r, "oAllow0001")
    with pytest.raises(allowance.Refused) as refused:
        allowance.take(r, "oAllow0001")
    assert refused.value.errcode == (45047 if count else 45015)


def test_a_retried_message_does_not_start_its_allowance_again(client):
    query, xml = wx.signed_query(), wx.message("oAllow0002", msg_id=5150, Content="你好")
    post(client, xml, query)
    r = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    for _ in range(allowance.MESSAGE_COUNT):
        allowance.take(r, "oAllow0002")
    post(client, xml, query)  # WeChat's retry of the same message
    with pytest.raises(allowance.Refused):
        allowance.take(r, "oAllow0002")
