"""/sandbox/ control and record endpoints."""
from __future__ import annotations

from sandbox.templates import DEFAULT_TEMPLATES


def test_knobs_read_and_write(sb):
    knobs = sb.client.get("/sandbox/knobs").json()
    assert knobs["daily_quota"] == 100_000 and knobs["receipts"] is True
    assert sorted(knobs["templates"]) == ["POLICY_NOTICE_TPL", "SURVEY_TPL"] and knobs["mass_monthly_limit"] == 4
    assert knobs["templates"]["POLICY_NOTICE_TPL"]["title"] == "政策推送通知"
    changed = sb.knobs(latency_ms=5, blocked=["oUserB0000001"], receipts=False)
    assert changed["latency_ms"] == 5 and changed["blocked"] == ["oUserB0000001"] and not changed["receipts"]


def test_knob_errors_change_nothing(sb):
    for bad in ({"nope": 1}, {"daily_quota": -1}, {"receipts": "yes"}, {"blocked": "oUser"},
                {"latency_ms": "slow"}, {"error_rate": 1.5}, {"daily_quota": 1, "error_rate": None}, [1]):
        resp = sb.client.post("/sandbox/knobs", json=bad)
        assert resp.status_code == 400 and resp.json()["error"]
    assert sb.client.get("/sandbox/knobs").json()["daily_quota"] == 100_000
    assert sb.client.post("/sandbox/knobs", content=b"{").status_code == 400


def test_knobs_from_config(make_sandbox):
    sb = make_sandbox(daily_quota=1, templates={"ONLY_TPL": DEFAULT_TEMPLATES["POLICY_NOTICE_TPL"]})
    assert sb.template(template_id="ONLY_TPL")["errcode"] == 0
    assert sb.template(template_id="ONLY_TPL")["errcode"] == 45009


def test_reset_restores_config_and_forgets_everything(sb):
    sb.knobs(daily_quota=5, unfollowed=["oUserAAAA0001"])
    sb.api("tags/create", {"tag": {"name": "t"}})
    sb.template(touser="oUserBBBB0001")
    assert sb.client.post("/sandbox/reset").json() == {"ok": True}
    assert sb.client.get("/sandbox/knobs").json()["daily_quota"] == 100_000
    assert sb.client.get("/sandbox/messages").json()["messages"] == []
    stats = sb.client.get("/sandbox/stats").json()
    assert stats["sent"]["template"] == 0 and stats["tokens_issued"] == 0
    assert sb.template()["errcode"] == 40001  # tokens are gone too
    sb.token = sb.new_token()
    assert [t["id"] for t in sb.api("tags/get")["tags"]] == [2]


def test_messages_filters_and_paging(sb):
    for i in range(5):
        sb.template(touser=f"oUserP000000{i}")
    sb.api("message/custom/send", {"touser": "oUserP0000001", "msgtype": "text", "text": {"content": "c"}})
    listing = sb.client.get("/sandbox/messages", params={"limit": 2, "offset": 1}).json()["messages"]
    assert [m["touser"] for m in listing] == ["oUserP0000004", "oUserP0000003"]
    one = sb.client.get("/sandbox/messages", params={"touser": "oUserP0000001"}).json()["messages"]
    assert [m["kind"] for m in one] == ["custom", "template"]
    custom = sb.client.get("/sandbox/messages", params={"kind": "custom"}).json()["messages"]
    assert len(custom) == 1
    assert sb.client.get("/sandbox/messages", params={"kind": "fax"}).status_code == 400
    assert sb.client.get("/sandbox/messages", params={"limit": "many"}).status_code == 400


def test_stats(sb):
    sb.template()
    sb.template(template_id="NOPE")
    sb.api("message/mass/sendall", {"filter": {"is_to_all": True}, "msgtype": "text", "text": {"content": "x"}})
    stats = sb.client.get("/sandbox/stats").json()
    assert stats["sent"] == {"custom": 0, "mass": 1, "preview": 0, "template": 1}
    assert stats["errors"] == {"40037": 1} and stats["tokens_issued"] == 1 and stats["tokens_valid"] == 1
    assert stats["today"]["template"] == 1 and stats["mass_this_month"] == 1 and stats["api_calls"] == 4


def test_inbox_json_and_html(sb):
    sb.template(touser="oUserI0000001")
    inbox = sb.client.get("/sandbox/inbox/oUserI0000001").json()
    assert inbox["following"] is True and inbox["follower"] is None
    [entry] = inbox["messages"]
    assert entry["kind"] == "template" and entry["dir"] == "out"
    later = sb.client.get("/sandbox/inbox/oUserI0000001", params={"after": entry["id"]}).json()
    assert later["messages"] == []
    page = sb.client.get("/sandbox/inbox/oUserI0000001.html")
    assert page.status_code == 200 and "新政策" in page.text and "<h1>oUserI0000001</h1>" in page.text
    assert "模板消息" in page.text and 'lang=zh-CN' in page.text
    assert "还没有消息" in sb.client.get("/sandbox/inbox/oNobody00001.html").text


def test_followers_endpoint(sb):
    resp = sb.client.post("/sandbox/followers/oUserF0000001", json={"nickname": "张三", "subscribed": False})
    assert resp.json()["nickname"] == "张三"
    listed = {f["openid"]: f for f in sb.client.get("/sandbox/followers").json()}
    assert listed["oUserF0000001"]["following"] is False
    assert sb.template(touser="oUserF0000001")["errcode"] == 43004
    assert sb.client.post("/sandbox/followers/oUserF0000001", json={"age": 3}).status_code == 400
    assert sb.client.post("/sandbox/followers/bad", json={}).status_code == 400


def test_chat_page_is_self_contained(sb):
    for path in ("/sandbox/", "/sandbox/chat"):
        page = sb.client.get(path)
        assert page.status_code == 200 and "<script>" in page.text
        assert "http://" not in page.text and "https://" not in page.text  # no CDN: offline
        assert '<html lang="zh-CN">' in page.text
        assert all(f">{label}</button>" in page.text for label in ("关注", "取消关注", "发送"))
    assert sb.client.get("/", follow_redirects=False).headers["location"] == "/sandbox/"


def test_conversations_are_bounded(sb, monkeypatch):
    monkeypatch.setattr("sandbox.state.MAX_CONVERSATIONS", 2)
    for openid in ("oUserL0000001", "oUserL0000002", "oUserL0000001", "oUserL0000003"):
        sb.template(touser=openid)
    assert list(sb.state.conversations) == ["oUserL0000001", "oUserL0000003"]
    assert len(sb.client.get("/sandbox/messages").json()["messages"]) == 4  # the record keeps all
