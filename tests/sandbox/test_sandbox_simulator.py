"""Chat simulator round trips against a stand-in webhook that checks with wechatpy."""
from __future__ import annotations

import pytest


OPENID = "oChatUser00001"


@pytest.fixture(params=["safe", "compat", "plain"])
def chat(request, make_sandbox, webhook, aes_key):
    mode = request.param
    aes = {} if mode == "plain" else {"aes_key": aes_key, "encrypt_mode": mode}
    sb = make_sandbox(webhook_url=webhook.url, **aes)
    sb.mode = mode
    return sb


def say(sb, what, **body):
    return sb.client.post(f"/sandbox/chat/{OPENID}/{what}", json=body)


def test_text_round_trip(chat, webhook):
    result = say(chat, "text", content="高新技术企业有什么补贴").json()
    msg = webhook.received[-1]
    assert msg.type == "text" and msg.content == "高新技术企业有什么补贴"
    assert msg.source == OPENID and msg.target == "gh_policypush" and msg.id > 0
    query = webhook.requests[-1]
    assert query["openid"] == OPENID
    assert (query.get("encrypt_type") == "aes") == (chat.mode != "plain")
    assert result["sent"]["delivery"] == {"attempts": 1, "status": 200, "problems": []}
    assert result["reply"]["text"] == "echo: 高新技术企业有什么补贴" and result["reply"]["problems"] == []
    inbox = chat.client.get(f"/sandbox/inbox/{OPENID}").json()["messages"]
    assert [(e["dir"], e["kind"]) for e in inbox] == [("in", "text"), ("out", "reply")]


def test_compat_mode_sends_plaintext_beside_ciphertext(make_sandbox, webhook, aes_key):
    sb = make_sandbox(webhook_url=webhook.url, aes_key=aes_key, encrypt_mode="compat")
    assert say(sb, "text", content="hi").json()["reply"]["text"] == "echo: hi"
    assert webhook.received[-1].content == "hi"
    body = webhook.bodies[-1].decode()
    assert "<Content><![CDATA[hi]]></Content>" in body and "<Encrypt>" in body


def test_safe_mode_sends_only_ciphertext(make_sandbox, webhook, aes_key):
    sb = make_sandbox(webhook_url=webhook.url, aes_key=aes_key)
    say(sb, "text", content="hi")
    body = webhook.bodies[-1].decode()
    assert "<Encrypt>" in body and "<ToUserName><![CDATA[gh_policypush]]>" in body
    assert "<Content>" not in body and "<FromUserName>" not in body


def test_follow_menu_scan_unfollow(make_sandbox, webhook, aes_key):
    sb = make_sandbox(webhook_url=webhook.url, aes_key=aes_key)
    sb.api("menu/create", {"button": [{"type": "click", "name": "政策", "key": "POLICY"},
                                      {"type": "view", "name": "库", "url": "https://e.gov.cn/p"}]})
    ticket = sb.api("qrcode/create", {"action_name": "QR_LIMIT_STR_SCENE",
                                      "action_info": {"scene": {"scene_str": "park_gaoxin"}}})["ticket"]
    scanned = say(sb, "event", event="scan", ticket=ticket).json()  # a newcomer scans a park's code
    msg = webhook.received[-1]
    assert msg.event == "subscribe_scan" and msg.scene_id == "park_gaoxin" and msg.ticket == ticket
    assert scanned["reply"]["text"] == "welcome"
    info = sb.api("user/info", openid=OPENID)
    assert info["subscribe"] == 1 and info["qr_scene_str"] == "park_gaoxin"
    assert info["subscribe_scene"] == "ADD_SCENE_QR_CODE"
    assert say(sb, "event", event="subscribe").status_code == 409

    say(sb, "event", event="scan", ticket=ticket)
    assert webhook.received[-1].event == "scan" and webhook.received[-1].scene_id == "park_gaoxin"

    assert say(sb, "event", event="unsubscribe").json()["reply"] is None
    assert webhook.received[-1].event == "unsubscribe"
    assert say(sb, "event", event="unsubscribe").status_code == 409
    assert sb.template(touser=OPENID)["errcode"] == 43004
    assert say(sb, "text", content="hello").status_code == 409
    assert say(sb, "event", event="CLICK", key="POLICY").status_code == 409
    assert say(sb, "event", event="subscribe").json()["reply"]["text"] == "welcome"
    assert webhook.received[-1].event == "subscribe" and not webhook.received[-1].key
    assert sb.api("user/info", openid=OPENID)["qr_scene_str"] == ""

    say(sb, "event", event="CLICK", key="POLICY")
    assert webhook.received[-1].event == "click" and webhook.received[-1].key == "POLICY"
    say(sb, "event", event="VIEW", key="https://e.gov.cn/p")
    assert webhook.received[-1].event == "view" and webhook.received[-1].url == "https://e.gov.cn/p"
    said = [e["text"] for e in sb.client.get(f"/sandbox/inbox/{OPENID}").json()["messages"] if e["dir"] == "in"]
    assert said == ["扫描二维码 park_gaoxin 并关注", "扫描二维码 park_gaoxin", "取消关注", "关注",
                    "点击菜单 POLICY", "打开菜单链接 https://e.gov.cn/p"]


def test_a_news_reply_is_drawn_as_its_article(make_sandbox, webhook):
    sb = make_sandbox(webhook_url=webhook.url)
    webhook.behaviour = "news"
    reply = say(sb, "text", content="稳岗返还").json()["reply"]
    assert reply["problems"] == [] and reply["text"] == "稳岗返还政策解读 https://example.gov.cn/a/1"
    assert reply["card"] == {"type": "news", "articles": [{
        "title": "稳岗返还政策解读", "description": "符合条件的企业可申请。", "url": "https://example.gov.cn/a/1",
        "picurl": "https://example.gov.cn/a/1.jpg"}]}


def test_follow_after_unfollow_sends_plain_subscribe(make_sandbox, webhook):
    sb = make_sandbox(webhook_url=webhook.url)
    sb.knobs(unfollowed=[OPENID])
    assert say(sb, "event", event="subscribe").json()["reply"]["text"] == "welcome"
    msg = webhook.received[-1]
    assert msg.event == "subscribe" and not msg.key
    assert sb.api("user/info", openid=OPENID)["subscribe"] == 1


def test_interaction_opens_the_48h_window(make_sandbox, webhook, clock):
    sb = make_sandbox(clock=clock, webhook_url=webhook.url, token_ttl=10**6)
    text = {"touser": OPENID, "msgtype": "text", "text": {"content": "答复"}}
    say(sb, "text", content="问题")
    clock.advance(49 * 3600)
    assert sb.api("message/custom/send", text)["errcode"] == 45015
    say(sb, "event", event="VIEW", key="https://e.gov.cn")  # a VIEW click does not count
    assert sb.api("message/custom/send", text)["errcode"] == 45015
    say(sb, "text", content="还在吗")
    assert sb.api("message/custom/send", text)["errcode"] == 0
    inbox = sb.client.get(f"/sandbox/inbox/{OPENID}").json()["messages"]
    assert inbox[-1]["kind"] == "custom" and inbox[-1]["text"] == "答复"


@pytest.mark.parametrize("body, status", [
    ({"event": "scan", "ticket": "nope"}, 400),
    ({"event": "CLICK"}, 400),
    ({"event": "LOCATION"}, 400),
    ({}, 400),
])
def test_bad_simulator_requests(make_sandbox, webhook, body, status):
    sb = make_sandbox(webhook_url=webhook.url)
    assert say(sb, "event", **body).status_code == status
    assert say(sb, "text", content="").status_code == 400
    assert sb.client.post("/sandbox/chat/bad/text", json={"content": "x"}).status_code == 400
    assert sb.client.post(f"/sandbox/chat/{OPENID}/fax", json={}).status_code == 404
    assert sb.client.post(f"/sandbox/chat/{OPENID}/text", json=["x"]).status_code == 400


def test_expired_qr_code_cannot_be_scanned(make_sandbox, webhook, clock):
    sb = make_sandbox(clock=clock, webhook_url=webhook.url)
    ticket = sb.api("qrcode/create", {"action_name": "QR_STR_SCENE", "expire_seconds": 60,
                                      "action_info": {"scene": {"scene_str": "tmp"}}})["ticket"]
    assert sb.client.get("/sandbox/account").json()["qrcodes"][0]["scene"] == "tmp"
    clock.advance(61)
    assert say(sb, "event", event="scan", ticket=ticket).status_code == 400
    assert sb.client.get("/sandbox/account").json()["qrcodes"] == []


@pytest.mark.parametrize("behaviour, problem", [
    ("plain_reply", "明文"),
    ("bad_signature", "MsgSignature"),
    ("wrong_appid", "appid"),
    ("not_xml", "不是 XML"),
])
def test_bad_encrypted_replies_are_reported(make_sandbox, webhook, aes_key, behaviour, problem):
    sb = make_sandbox(webhook_url=webhook.url, aes_key=aes_key)
    webhook.behaviour = behaviour
    result = say(sb, "text", content="hi").json()
    assert result["reply"] is None and problem in result["sent"]["delivery"]["problems"][0]
    assert result["sent"]["delivery"]["attempts"] == 1  # answered, so WeChat does not retry


def test_webhook_errors_are_retried_three_times(make_sandbox, webhook):
    sb = make_sandbox(webhook_url=webhook.url, webhook_timeout=0.3)
    webhook.behaviour = "http500"
    result = say(sb, "text", content="hi").json()
    assert result["sent"]["delivery"]["attempts"] == 3 and result["sent"]["delivery"]["problems"] == ["HTTP 500"]
    assert len(webhook.received) == 3 and len({m.id for m in webhook.received}) == 1  # same MsgId
    webhook.received.clear()
    webhook.behaviour = "slow"
    result = say(sb, "text", content="hi").json()
    assert result["sent"]["delivery"]["attempts"] == 3
    assert "Timeout" in result["sent"]["delivery"]["problems"][0]


def test_no_webhook_configured(sb):
    result = say(sb, "text", content="hi").json()
    assert result["sent"]["delivery"]["problems"] == ["未配置 webhook_url"]


def test_unreachable_webhook(make_sandbox):
    sb = make_sandbox(webhook_url="http://127.0.0.1:9/wechat", webhook_tries=1)
    result = say(sb, "text", content="hi").json()
    assert result["sent"]["delivery"]["status"] is None and result["sent"]["delivery"]["problems"]


def test_reply_to_wrong_user_is_flagged(make_sandbox, webhook, monkeypatch):
    sb = make_sandbox(webhook_url=webhook.url)
    monkeypatch.setattr("wechatpy.replies.TextReply.render",
                        lambda self: "<xml><ToUserName>x</ToUserName><FromUserName>y</FromUserName>"
                                     "<MsgType>text</MsgType><Content>c</Content></xml>")
    problems = say(sb, "text", content="hi").json()["reply"]["problems"]
    assert len(problems) == 3 and "ToUserName" in problems[0] and "CreateTime" in problems[2]


def test_a_newcomer_who_typed_first_can_still_follow_and_is_welcomed(make_sandbox, webhook):
    sb = make_sandbox(webhook_url=webhook.url)
    assert say(sb, "text", content="你好").json()["reply"]["text"] == "echo: 你好"
    followed = say(sb, "event", event="subscribe")
    assert followed.status_code == 200 and followed.json()["reply"]["text"] == "welcome"
    assert webhook.received[-1].event == "subscribe"
    assert say(sb, "event", event="subscribe").status_code == 409  # now they follow


CUSTOM = {"touser": OPENID, "msgtype": "text", "text": {"content": "答复"}}


def custom_errcodes(sb, n):
    return [sb.api("message/custom/send", CUSTOM)["errcode"] for _ in range(n)]


def test_a_message_allows_five_customer_service_messages_until_the_next_message(make_sandbox, webhook, clock):
    sb = make_sandbox(clock=clock, webhook_url=webhook.url, token_ttl=10**6)
    say(sb, "text", content="问题")
    assert custom_errcodes(sb, 6) == [0, 0, 0, 0, 0, 45047]
    clock.advance(47 * 3600)
    assert custom_errcodes(sb, 1) == [45047]
    say(sb, "text", content="还有一个问题")  # starts the allowance afresh, it does not add up
    assert custom_errcodes(sb, 6) == [0, 0, 0, 0, 0, 45047]
    clock.advance(48 * 3600 + 1)
    assert custom_errcodes(sb, 1) == [45015]
    assert sb.client.get("/sandbox/stats").json()["errors"].get("45047") == 3


@pytest.mark.parametrize("action", [{"event": "CLICK", "key": "HELP"}, {"event": "subscribe"}])
def test_a_click_or_a_follow_allows_three_within_a_minute_and_no_48_hours(make_sandbox, webhook, clock, action):
    sb = make_sandbox(clock=clock, webhook_url=webhook.url, token_ttl=10**6)
    if action["event"] == "CLICK":  # someone who follows already
        sb.client.post(f"/sandbox/followers/{OPENID}", json={"subscribed": True})
    assert say(sb, "event", **action).status_code == 200
    assert custom_errcodes(sb, 4) == [0, 0, 0, 45047]
    clock.advance(61)
    assert custom_errcodes(sb, 1) == [45015]


def test_a_click_within_the_48_hours_is_used_before_the_message_allowance(make_sandbox, webhook, clock):
    sb = make_sandbox(clock=clock, webhook_url=webhook.url, token_ttl=10**6)
    say(sb, "text", content="问题")
    say(sb, "event", event="CLICK", key="HELP")
    assert custom_errcodes(sb, 3) == [0, 0, 0]
    clock.advance(61)
    assert custom_errcodes(sb, 6) == [0, 0, 0, 0, 0, 45047]
