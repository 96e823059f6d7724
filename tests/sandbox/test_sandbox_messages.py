"""Template, customer-service and mass sends: answers, error codes, quotas, records."""
from __future__ import annotations

import pytest

from sandbox.templates import DEFAULT_TEMPLATES
from tests.sandbox.conftest import POLICY_DATA

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
    sb.knobs(templates={"NEW_TPL": DEFAULT_TEMPLATES["POLICY_NOTICE_TPL"]})
    assert sb.template(template_id="NEW_TPL")["errcode"] == 0
    assert sb.template()["errcode"] == 40037  # the knob replaces the account's templates


def test_the_template_list_gives_each_templates_title_and_typed_keys(sb):
    listed = {t["template_id"]: t for t in sb.api("template/get_all_private_template")["template_list"]}
    assert set(listed) == {"POLICY_NOTICE_TPL", "SURVEY_TPL"}
    assert listed["POLICY_NOTICE_TPL"]["title"] == "政策推送通知"
    assert listed["POLICY_NOTICE_TPL"]["content"].startswith("政策名称：{{thing1.DATA}}\n发文单位：{{thing2.DATA}}")
    assert "first" not in listed["POLICY_NOTICE_TPL"]["content"]


@pytest.mark.parametrize(("key", "value"), [
    ("thing1", "一二三四五六七八九十一二三四五六七八九十一"),  # 21 characters
    ("thing1", "第一行\n第二行"), ("thing2", ""), ("date3", "明天"), ("date3", "2024-05-01T09:00:00"),
    ("thing4", None),  # missing
])
def test_a_value_that_breaks_its_keys_type_is_refused_with_47003_naming_the_key(sb, key, value):
    data = {**POLICY_DATA, key: {"value": value}} if value is not None else {
        k: v for k, v in POLICY_DATA.items() if k != key}
    answer = sb.template(data=data)
    assert answer["errcode"] == 47003 and answer["errmsg"].startswith(f"argument invalid! data.{key}.value invalid")
    assert sent(sb) == []


def test_each_key_type_is_checked_as_wechat_checks_it(sb):
    content = ("办理状态：{{phrase1.DATA}}\n编号：{{character_string2.DATA}}\n金额：{{amount3.DATA}}\n"
               "时间：{{time4.DATA}}\n数量：{{number5.DATA}}\n{{const6.DATA}}")
    sb.knobs(templates={"T": {"title": "办理进度", "content": content}})
    good = {"phrase1": "已受理", "character_string2": "HLD-2024/10", "amount3": "¥100.00",
            "time4": "2024年5月1日 15:01", "number5": "12.5"}
    assert sb.template(template_id="T", data={k: {"value": v} for k, v in good.items()})["errcode"] == 0
    for key, bad in {"phrase1": "正在受理审核", "character_string2": "葫政办〔2024〕1号", "amount3": "一百元",
                     "time4": "2024年5月1日", "number5": "12个"}.items():
        answer = sb.template(template_id="T", data={k: {"value": bad if k == key else v} for k, v in good.items()})
        assert answer["errcode"] == 47003 and f"data.{key}.value" in answer["errmsg"], key


def test_a_follower_sees_the_templates_title_and_labelled_rows_only(sb):
    sb.template(data={**POLICY_DATA, "first": {"value": "不显示的开头"}, "remark": {"value": "不显示的备注"}},
                url="https://example.gov.cn/t/1")
    [record] = sent(sb)
    assert record["text"] == ("政策推送通知\n政策名称：新政策\n发文单位：市人民政府办公室\n发布日期：2024年5月1日\n"
                              "内容摘要：支持企业研发投入\n查看详情 https://example.gov.cn/t/1")
    inbox = sb.client.get("/sandbox/inbox/oUserAAAA0001.html").text
    assert "政策名称：新政策" in inbox and "不显示" not in inbox
    assert record["card"] == {"type": "template", "title": "政策推送通知", "rows": [
        ["政策名称", "新政策"], ["发文单位", "市人民政府办公室"], ["发布日期", "2024年5月1日"], ["内容摘要", "支持企业研发投入"]],
        "url": "https://example.gov.cn/t/1", "miniprogram": None}


def test_a_template_card_keeps_the_mini_program_wechat_opens_first(sb):
    sb.template(miniprogram={"appid": "wxminiapp000001", "pagepath": "pages/policy?id=1"})
    [record] = sent(sb)
    assert record["card"]["url"] is None
    assert record["card"]["miniprogram"] == {"appid": "wxminiapp000001", "pagepath": "pages/policy?id=1"}


def test_a_news_message_is_drawn_from_its_articles(sb):
    article = {"title": "稳岗返还政策解读", "description": "符合条件的企业可申请。", "url": "https://example.gov.cn/a/1",
               "picurl": "https://example.gov.cn/a/1.jpg"}
    assert sb.api("message/custom/send", {"touser": USER, "msgtype": "news",
                                          "news": {"articles": [article, {"title": "第二篇"}]}})["errcode"] == 0
    [record] = sent(sb)
    assert record["card"] == {"type": "news", "articles": [
        article, {"title": "第二篇", "description": "", "url": "", "picurl": ""}]}


def test_templates_knob_needs_typed_keys(sb):
    for bad in (["NEW_TPL"], {"X": {"title": "t"}}, {"X": {"title": "t", "content": "{{first.DATA}}{{keyword1.DATA}}"}}):
        resp = sb.client.post("/sandbox/knobs", json={"templates": bad})
        assert resp.status_code == 400 and resp.json()["error"]


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
