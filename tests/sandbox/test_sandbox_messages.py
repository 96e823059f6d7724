"""Template, customer-service and mass sends: answers, error codes, quotas, records."""
from __future__ import annotations

import pytest

USER = "oUserAAAA0001"


def sent(sb, **params):
    return sb.client.get("/sandbox/messages", params=params).json()["messages"]


def test_template_send_is_recorded(sb):
    answer = sb.template(url="https://example.gov.cn/p/1")
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok" and isinstance(answer["msgid"], int)
    [record] = sent(sb)
    assert record["kind"] == "template" and record["touser"] == USER
    assert record["msgid"] == answer["msgid"] and record["status"] == "success"
    assert "新政策" in record["text"] and record["body"]["url"] == "https://example.gov.cn/p/1"


@pytest.mark.parametrize("touser", ["short", "o" * 65, "oUser 0001", "oUser#00001", "", None, 42])
def test_template_rejects_malformed_openid(sb, touser):
    assert sb.template(touser=touser)["errcode"] == 40003


def test_template_rejects_unknown_template_and_bad_data(sb):
    assert sb.template(template_id="NOT_REGISTERED")["errcode"] == 40037
    assert sb.template(data="text")["errcode"] == 47001
    sb.knobs(templates=["NEW_TPL"])
    assert sb.template(template_id="NEW_TPL")["errcode"] == 0
    assert sb.template()["errcode"] == 40037  # the knob replaces the set


def test_template_to_unfollowed_user(sb):
    sb.knobs(unfollowed=[USER])
    assert sb.template()["errcode"] == 43004
    assert sent(sb) == []


def test_client_msg_id_dedupes_within_ten_minutes(make_sandbox, clock):
    sb = make_sandbox(clock=clock)
    first = sb.template(client_msg_id="campaign-1-r-1")
    clock.advance(599)
    assert sb.template(client_msg_id="campaign-1-r-1")["msgid"] == first["msgid"]
    assert len(sent(sb)) == 1
    assert sb.template(touser="oUserBBBB0002", client_msg_id="campaign-1-r-1")["msgid"] != first["msgid"]
    clock.advance(2)
    assert sb.template(client_msg_id="campaign-1-r-1")["msgid"] != first["msgid"]
    stats = sb.client.get("/sandbox/stats").json()
    assert stats["sent"]["template"] == 3 and stats["template_deduped"] == 1


def test_daily_quota_and_reset_at_china_midnight(make_sandbox, clock):
    sb = make_sandbox(clock=clock, daily_quota=2)
    assert [sb.template()["errcode"] for _ in range(3)] == [0, 0, 45009]
    clock.advance(17 * 3600 + 46 * 60)  # the clock starts at 06:13:20 China time
    sb.token = sb.new_token()
    assert sb.template()["errcode"] == 45009  # 23:59:20
    clock.advance(60)
    assert sb.template()["errcode"] == 0  # 00:00:20 the next day
    assert sb.client.get("/sandbox/stats").json()["today"]["template"] == 1


def test_custom_send_text(sb):
    answer = sb.api("message/custom/send", {"touser": USER, "msgtype": "text", "text": {"content": "您好"}})
    assert answer == {"errcode": 0, "errmsg": "ok"}
    [record] = sent(sb, kind="custom")
    assert record["text"] == "您好"


@pytest.mark.parametrize("body, errcode", [
    ({"touser": "bad", "msgtype": "text", "text": {"content": "x"}}, 40003),
    ({"touser": USER, "msgtype": "telegram", "telegram": {}}, 40008),
    ({"touser": USER, "msgtype": "text", "text": {"content": "  "}}, 44004),
    ({"touser": USER, "msgtype": "news", "news": "x"}, 47001),
])
def test_custom_send_rejects(sb, body, errcode):
    assert sb.api("message/custom/send", body)["errcode"] == errcode


def test_custom_send_window_and_following(make_sandbox, clock):
    sb = make_sandbox(clock=clock, token_ttl=10**6)
    text = {"msgtype": "text", "text": {"content": "hi"}}
    sb.knobs(outside_window=["oUserWWWW0001"], unfollowed=["oUserUUUU0001"])
    assert sb.api("message/custom/send", {"touser": "oUserWWWW0001", **text})["errcode"] == 45015
    assert sb.api("message/custom/send", {"touser": "oUserUUUU0001", **text})["errcode"] == 43004
    sb.client.post(f"/sandbox/followers/{USER}", json={"last_active_at": clock.now})
    clock.advance(48 * 3600 - 1)
    assert sb.api("message/custom/send", {"touser": USER, **text})["errcode"] == 0
    clock.advance(2)
    assert sb.api("message/custom/send", {"touser": USER, **text})["errcode"] == 45015


def test_empty_and_malformed_bodies(sb):
    url, params = "/cgi-bin/message/template/send", {"access_token": sb.token}
    assert sb.client.post(url, params=params, content=b"").json()["errcode"] == 44002
    assert sb.client.post(url, params=params, content=b"{nope").json()["errcode"] == 47001
    assert sb.client.post(url, params=params, content=b"[1]").json()["errcode"] == 47001


def test_unknown_api_is_unauthorized(sb):
    assert sb.api("message/subscribe/bizsend", {"x": 1})["errcode"] == 48001
    assert sb.api("no/such/thing")["errcode"] == 48001


def test_mass_send_by_openids_and_tag(sb):
    tag = sb.api("tags/create", {"tag": {"name": "高新园区"}})["tag"]["id"]
    sb.api("tags/members/batchtagging", {"openid_list": ["oUserT0000001", "oUserT0000002"], "tagid": tag})
    sb.knobs(blocked=["oUserT0000002"], unfollowed=["oUserU0000001"])
    by_list = sb.api("message/mass/send", {"touser": ["oUserT0000001", "oUserU0000001"],
                                           "msgtype": "text", "text": {"content": "通知"}})
    assert by_list["errcode"] == 0 and by_list["errmsg"] == "send job submission success"
    assert {"msg_id", "msg_data_id"} <= set(by_list)
    by_tag = sb.api("message/mass/sendall", {"filter": {"is_to_all": False, "tag_id": tag},
                                             "msgtype": "text", "text": {"content": "园区通知"}})
    assert by_tag["errcode"] == 0
    newest = sent(sb, kind="mass")[0]
    assert newest["touser"] == ["oUserT0000001"]  # the blocked follower did not get it
    assert newest["counts"] == {"TotalCount": 2, "FilterCount": 2, "SentCount": 1, "ErrorCount": 1}
    assert [m["text"] for m in sent(sb, touser="oUserT0000001")] == ["园区通知", "通知"]
    to_all = sb.api("message/mass/sendall", {"filter": {"is_to_all": True}, "msgtype": "mpnews",
                                             "mpnews": {"media_id": "MEDIA1"}, "send_ignore_reprint": 0})
    assert to_all["errcode"] == 0
    assert "oPolicyDemoCitizen0002" in sent(sb, kind="mass")[0]["touser"]


def test_mass_preview_reaches_one_follower_without_using_the_monthly_quota(make_sandbox):
    sb = make_sandbox(mass_monthly_limit=1)
    preview = sb.api("message/mass/preview", {"touser": USER, "msgtype": "text", "text": {"content": "预览"}})
    assert preview["errcode"] == 0 and isinstance(preview["msg_id"], int)
    [record] = sent(sb, kind="preview")
    assert record["touser"] == USER and record["text"] == "预览"
    assert sb.api("message/mass/sendall", {"filter": {"is_to_all": True}, "msgtype": "text",
                                           "text": {"content": "x"}})["errcode"] == 0
    sb.knobs(unfollowed=[USER])
    assert sb.api("message/mass/preview", {"touser": USER, "msgtype": "text",
                                           "text": {"content": "x"}})["errcode"] == 43004


@pytest.mark.parametrize("path, body, errcode", [
    ("message/mass/send", {"touser": ["oUserT0000001"], "msgtype": "text", "text": {"content": "x"}}, 40130),
    ("message/mass/send", {"touser": "oUserT0000001", "msgtype": "text", "text": {"content": "x"}}, 47001),
    ("message/mass/send", {"touser": ["oUserT0000001", "bad"], "msgtype": "text", "text": {"content": "x"}}, 40003),
    ("message/mass/send", {"touser": [f"oUser{i:08d}" for i in range(10_001)], "msgtype": "text",
                           "text": {"content": "x"}}, 40032),
    ("message/mass/sendall", {"filter": {"tag_id": 999}, "msgtype": "text", "text": {"content": "x"}}, 45159),
    ("message/mass/sendall", {"filter": {"is_to_all": True}, "msgtype": "news", "news": {}}, 40008),
    ("message/mass/sendall", {"filter": {"is_to_all": True}, "msgtype": "text", "text": {"content": ""}}, 44004),
    ("message/mass/sendall", {"msgtype": "text", "text": {"content": "x"}}, 47001),
    ("message/mass/preview", {"touser": "bad", "msgtype": "text", "text": {"content": "x"}}, 40003),
    ("message/mass/preview", {"touser": USER, "msgtype": "news", "news": {}}, 40008),
    ("message/mass/preview", {"touser": USER, "msgtype": "text", "text": {"content": " "}}, 44004),
])
def test_mass_send_rejects(sb, path, body, errcode):
    assert sb.api(path, body)["errcode"] == errcode


def test_a_repeated_clientmsgid_sends_nothing_and_names_the_first_mass_send(make_sandbox, clock):
    sb = make_sandbox(clock=clock, mass_monthly_limit=2)
    body = {"filter": {"is_to_all": True}, "msgtype": "text", "text": {"content": "x"}, "clientmsgid": "pp-mass-1"}
    first = sb.api("message/mass/sendall", body)
    clock.advance(23 * 3600)
    sb.token = sb.new_token()
    again = sb.api("message/mass/sendall", body)
    assert again["errcode"] == 45065 and again["msg_id"] == first["msg_id"]
    assert sb.state.stats["mass"] == 1 and len(sent(sb, kind="mass")) == 1
    assert sb.api("message/mass/sendall", {**body, "clientmsgid": "pp-mass-2"})["errcode"] == 0  # quota: 2 of 2
    clock.advance(2 * 3600)  # a day later the id is forgotten
    sb.token = sb.new_token()
    assert sb.api("message/mass/sendall", body)["errcode"] == 45028
    assert sb.api("message/mass/sendall", {**body, "clientmsgid": "x" * 65})["errcode"] == 45067


def test_mass_monthly_limit(make_sandbox, clock):
    sb = make_sandbox(clock=clock, mass_monthly_limit=2)
    body = {"filter": {"is_to_all": True}, "msgtype": "text", "text": {"content": "x"}}
    assert [sb.api("message/mass/sendall", body)["errcode"] for _ in range(3)] == [0, 0, 45028]
    clock.advance(31 * 24 * 3600)
    sb.token = sb.new_token()
    assert sb.api("message/mass/sendall", body)["errcode"] == 0
