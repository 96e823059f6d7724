"""The campaign lifecycle through the HTTP API: every transition, every refusal, the audit trail."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core.db import session_scope
from policies.models import Interpretation
from push.models import Delivery
from staff.models import AuditEntry, Role
from staff.security import issue_token
from subscriptions.models import (
    Enterprise,
    EnterpriseBinding,
    Follower,
    Segment,
    WeChatTag,
)
from tests import live
from tests.bot.conftest import say
from tests.conftest import clear_caches
from tests.push.conftest import make_followers, make_park, make_policy, make_staff


@pytest.fixture
def world(app_env, monkeypatch):
    """The app with the sandbox as WeChat; an author (with an openid), a second editor and a reviewer."""
    with live.sandbox(app_env) as (base, state):
        monkeypatch.setenv("WECHAT_API_BASE", base)
        monkeypatch.setenv("PUSH_QUIET_HOURS", "")
        clear_caches()
        from fastapi.testclient import TestClient

        from server import app

        with session_scope() as s:
            park = make_park(s, "高新区")
            openids = make_followers(s, park, 5)
            ent = Enterprise(credit_code="91211400MA0TEST01X", name="葫芦岛测试科技有限公司", industry_code="65",
                             park_id=park.id, size="小", contact_name="张三", contact_phone="13812345678")
            s.add(ent)
            s.flush()
            first = s.scalar(select(Follower).where(Follower.openid == openids[0]))
            s.add(EnterpriseBinding(follower_id=first.id, enterprise_id=ent.id))
            policy = make_policy(s)
            incomplete = make_policy(s, complete=False)
            users = {"author": make_staff(s, Role.editor, openid="oStaffAuthor001"),
                     "editor": make_staff(s, Role.editor), "reviewer": make_staff(s, Role.reviewer),
                     "analyst": make_staff(s, Role.analyst), "admin": make_staff(s, Role.admin, openid="oStaffAdmin0001")}
            ids = {"park": park.id, "policy": policy.id, "incomplete": incomplete.id}
            headers = {k: {"Authorization": f"Bearer {issue_token(u.id, u.role.value)}"} for k, u in users.items()}
        with TestClient(app) as client:
            yield client, headers, ids, state


def _create(client, headers, ids, **body):
    body = {"title": "中小企业扶持政策", "policy_id": ids["policy"], "segment_filter": {"parks": [ids["park"]]},
            **body}
    answer = client.post("/api/campaigns", json=body, headers=headers["author"])
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def _post(client, headers, who, cid, action):
    return client.post(f"/api/campaigns/{cid}/{action}", headers=headers[who])


def test_the_whole_lifecycle_and_its_audit_trail(world):
    client, headers, ids, state = world
    cid = _create(client, headers, ids)
    assert _post(client, headers, "author", cid, "submit").status_code == 422  # no test send yet
    sent = _post(client, headers, "author", cid, "test-send")
    assert sent.status_code == 200 and sent.json()["openid"] == "oStaffAuthor001"
    test_msg = state.sent(touser="oStaffAuthor001")[0]
    assert test_msg["kind"] == "template" and test_msg["body"]["url"].endswith(f"/p/{ids['policy']}")
    assert _post(client, headers, "author", cid, "submit").json()["status"] == "submitted"
    approved = _post(client, headers, "reviewer", cid, "approve").json()
    assert approved["status"] == "approved" and approved["approved_by_id"] and approved["approved_at"]
    assert len(approved["approved_hash"]) == 64
    launched = _post(client, headers, "author", cid, "launch").json()
    assert launched["status"] == "running" and launched["launched_at"]
    assert _post(client, headers, "author", cid, "pause").json()["status"] == "paused"
    assert _post(client, headers, "author", cid, "resume").json()["status"] == "running"
    assert _post(client, headers, "author", cid, "cancel").json()["status"] == "cancelled"
    detail = client.get(f"/api/campaigns/{cid}", headers=headers["analyst"]).json()
    assert detail["status"] == "cancelled" and "counts" in detail
    with session_scope() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.target == f"campaign:{cid}")
                                 .order_by(AuditEntry.id)))
    assert actions == ["campaign.create", "campaign.test_send", "campaign.submit", "campaign.approve",
                       "campaign.launch", "campaign.pause", "campaign.resume", "campaign.cancel"]


def _approved(client, headers, ids, **body) -> int:
    cid = _create(client, headers, ids, **body)
    assert _post(client, headers, "author", cid, "test-send").status_code == 200
    assert _post(client, headers, "author", cid, "submit").status_code == 200
    assert _post(client, headers, "reviewer", cid, "approve").status_code == 200
    return cid


@pytest.mark.parametrize(("channel", "kind"), [("custom", "custom"), ("mass_tag", "preview")])
def test_the_test_send_goes_by_the_campaigns_own_channel(world, channel, kind):
    client, headers, ids, state = world
    say(client, "oStaffAuthor001", "你好")  # a customer-service message needs the author's own message first
    cid = _create(client, headers, ids, channel=channel)
    sent = _post(client, headers, "author", cid, "test-send")
    assert sent.status_code == 200, sent.text
    [message] = state.sent(touser="oStaffAuthor001")
    assert message["kind"] == kind and f"/p/{ids['policy']}" in message["text"]


def test_a_customer_service_test_send_without_an_allowance_says_why(world):
    client, headers, ids, state = world
    cid = _create(client, headers, ids, channel="custom")
    refused = _post(client, headers, "author", cid, "test-send")
    assert refused.status_code == 422 and "45015" in refused.json()["detail"]["message"]
    assert state.sent(touser="oStaffAuthor001") == []


def test_a_test_send_wechat_refuses_is_reported_and_does_not_count(world):
    client, headers, ids, state = world
    cid = _create(client, headers, ids, channel="mass_tag")
    state.knobs.unfollowed.add("oStaffAuthor001")
    refused = _post(client, headers, "author", cid, "test-send")
    assert refused.status_code == 422 and "43004" in refused.json()["detail"]["message"]
    assert _post(client, headers, "author", cid, "submit").status_code == 422  # still no test send


LONG_TITLE = "关于进一步支持中小企业高质量发展的若干政策措施"


def test_the_preview_is_the_template_message_wechat_shows_and_the_test_send_carries_it(world):
    client, headers, ids, state = world
    cid = _create(client, headers, ids, title=LONG_TITLE)
    preview = client.get(f"/api/campaigns/{cid}/preview", headers=headers["analyst"]).json()
    assert preview["title"] == "政策推送通知" and preview["template_id"] == "POLICY_NOTICE_TPL"
    rows = {f["key"]: f for f in preview["fields"]}
    assert list(rows) == ["thing1", "thing2", "date3", "thing4"]
    assert rows["thing1"]["label"] == "政策名称" and rows["thing1"]["original"] == LONG_TITLE
    assert rows["thing1"]["value"] == LONG_TITLE[:19] + "…" and rows["thing1"]["shortened"]
    assert rows["thing2"]["value"] == "市人民政府办公室" and not rows["thing2"]["shortened"]
    assert rows["date3"]["value"].endswith("日") and "年" in rows["date3"]["value"]
    assert preview["warnings"] == [f"「政策名称」（thing1）超过20个字，微信中显示为“{LONG_TITLE[:19]}…”"]
    assert preview["problems"] == [] and "first" not in preview["data"] and "remark" not in preview["data"]
    assert _post(client, headers, "author", cid, "test-send").status_code == 200
    [sent] = state.sent(touser="oStaffAuthor001")
    assert sent["body"]["data"] == preview["data"]
    assert _post(client, headers, "author", cid, "submit").json()["status"] == "submitted"  # shortened is fine


def test_a_value_that_cannot_fit_its_key_refuses_the_test_send_and_submit_naming_the_field(world, monkeypatch):
    client, headers, ids, state = world
    monkeypatch.setenv("PUSH_TEMPLATE_CONTENT", "政策名称：{{thing1.DATA}}\n文号：{{character_string2.DATA}}")
    monkeypatch.setenv("PUSH_TEMPLATE_FIELDS", '{"thing1": "title", "character_string2": "doc_number"}')
    monkeypatch.setenv("PUSH_REQUIRE_TEST_SEND", "false")
    clear_caches()
    cid = _create(client, headers, ids)  # the policy's number is 葫政办发〔2024〕…号: not letters and digits
    preview = client.get(f"/api/campaigns/{cid}/preview", headers=headers["author"]).json()
    [problem] = preview["problems"]
    assert problem.startswith("模板字段「文号」（character_string2）须为32位以内的字母、数字或符号")
    refused = _post(client, headers, "author", cid, "test-send")
    assert refused.status_code == 422 and state.sent(touser="oStaffAuthor001") == []
    refused = _post(client, headers, "author", cid, "submit")
    assert refused.status_code == 422 and any(p.endswith(problem) for p in refused.json()["detail"]["problems"])
    assert client.get(f"/api/campaigns/{cid}", headers=headers["author"]).json()["status"] == "draft"


def test_a_test_send_wechat_refuses_for_a_value_names_the_field(world):
    client, headers, ids, state = world
    cid = _create(client, headers, ids)
    state.knobs.templates = {"POLICY_NOTICE_TPL": {"title": "政策推送通知", "content": "政策名称：{{thing1.DATA}}\n"
                                                   "发布日期：{{time3.DATA}}"}}  # the account's template changed
    refused = _post(client, headers, "author", cid, "test-send")
    assert refused.status_code == 422 and "47003" in refused.json()["detail"]["message"]
    assert refused.json()["detail"]["message"].endswith("/ 模板字段「time3」的取值不符合微信要求")


def test_the_author_cannot_approve_and_neither_can_an_editor(world):
    client, headers, ids, _ = world
    cid = _create(client, headers, ids)
    _post(client, headers, "author", cid, "test-send")
    _post(client, headers, "author", cid, "submit")
    assert _post(client, headers, "editor", cid, "approve").status_code == 403
    with session_scope() as s:  # even an author who is (now) a reviewer
        from staff.models import StaffUser

        author = s.scalar(select(StaffUser).where(StaffUser.openid == "oStaffAuthor001"))
        author.role = Role.reviewer
        token = issue_token(author.id, "reviewer")
    own = client.post(f"/api/campaigns/{cid}/approve", headers={"Authorization": f"Bearer {token}"})
    assert own.status_code == 403 and "author" in own.json()["detail"]["message"]


def test_an_account_the_author_created_cannot_approve_their_campaign(world):
    client, headers, ids, _ = world
    made = client.post("/api/users", json={"username": "sock-reviewer", "password": "Sock-puppet-42",
                                           "role": "reviewer"}, headers=headers["admin"])
    assert made.status_code == 201 and made.json()["created_by_id"]
    token = client.post("/api/auth/token", data={"username": "sock-reviewer", "password": "Sock-puppet-42"})
    sock = {"Authorization": f"Bearer {token.json()['access_token']}"}
    authored = client.post("/api/campaigns", json={"title": "管理员撰写的推送", "policy_id": ids["policy"],
                                                   "segment_filter": {"parks": [ids["park"]]}}, headers=headers["admin"])
    cid = authored.json()["id"]
    assert authored.json()["author_id"] == made.json()["created_by_id"]
    assert _post(client, headers, "admin", cid, "test-send").status_code == 200
    assert _post(client, headers, "admin", cid, "submit").status_code == 200
    refused = client.post(f"/api/campaigns/{cid}/approve", headers=sock)
    assert refused.status_code == 403 and "撰写人创建的账号不能审核" in refused.json()["detail"]["message"]
    assert client.get(f"/api/campaigns/{cid}", headers=sock).json()["status"] == "submitted"
    [kept] = client.get("/api/audit", params={"action": "campaign.approve.refused"}, headers=headers["admin"]).json()
    assert kept["actor"] == "sock-reviewer" and kept["target"] == f"campaign:{cid}"
    assert "撰写人创建的账号" in kept["detail"]["reason"]
    assert _post(client, headers, "reviewer", cid, "approve").status_code == 200  # another reviewer may


def test_a_rejection_needs_a_reason_the_author_reads_on_the_campaign(world):
    client, headers, ids, _ = world
    cid = _create(client, headers, ids)
    _post(client, headers, "author", cid, "test-send")
    _post(client, headers, "author", cid, "submit")
    for body in (None, {}, {"reason": "  "}):
        refused = client.post(f"/api/campaigns/{cid}/reject", json=body, headers=headers["reviewer"])
        assert refused.status_code == 422, body
    assert client.get(f"/api/campaigns/{cid}", headers=headers["author"]).json()["status"] == "submitted"
    rejected = client.post(f"/api/campaigns/{cid}/reject", json={"reason": " 摘要请写明申报截止日期 "},
                           headers=headers["reviewer"])
    assert rejected.status_code == 200 and rejected.json()["status"] == "draft"
    seen = client.get(f"/api/campaigns/{cid}", headers=headers["author"]).json()
    assert seen["reject_reason"] == "摘要请写明申报截止日期" and seen["rejected_at"] and seen["rejected_by_id"]
    with session_scope() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "campaign.reject"))
        assert entry.detail["reason"] == "摘要请写明申报截止日期"


def test_an_edit_after_approval_sends_it_back_to_draft(world):
    client, headers, ids, _ = world
    cid = _approved(client, headers, ids)
    edited = client.patch(f"/api/campaigns/{cid}", json={"title": "改过的标题"}, headers=headers["author"])
    assert edited.json()["status"] == "draft" and edited.json()["approved_hash"] is None
    assert _post(client, headers, "author", cid, "launch").status_code == 409


def test_an_unapproved_campaign_cannot_launch(world):
    client, headers, ids, _ = world
    cid = _create(client, headers, ids)
    refused = _post(client, headers, "author", cid, "launch")
    assert refused.status_code == 409 and "approved" in refused.json()["detail"]["message"]


def test_a_policy_with_an_incomplete_interpretation_is_refused_naming_the_missing_parts(world):
    client, headers, ids, _ = world
    cid = _create(client, headers, ids, policy_id=ids["incomplete"])
    _post(client, headers, "author", cid, "test-send")
    refused = _post(client, headers, "author", cid, "submit")
    assert refused.status_code == 422
    assert "惠民利企举措" in refused.json()["detail"]["message"] and "新旧政策差异" in refused.json()["detail"]["message"]


def test_an_empty_or_invalid_segment_is_refused(world):
    client, headers, ids, _ = world
    bad = client.post("/api/campaigns", json={"title": "x", "policy_id": ids["policy"],
                                              "segment_filter": {"parks": [99999]}}, headers=headers["author"])
    assert bad.status_code == 422
    with session_scope() as s:
        empty = make_park(s)
    cid = _create(client, headers, ids, segment_filter={"parks": [empty.id]})
    _post(client, headers, "author", cid, "test-send")
    refused = _post(client, headers, "author", cid, "submit")
    assert refused.status_code == 422 and "no follower" in refused.json()["detail"]["message"]


def test_a_change_to_the_policy_or_saved_segment_after_approval_blocks_the_launch(world):
    client, headers, ids, _ = world
    with session_scope() as s:
        seg = Segment(name="高新区企业", filter={"parks": [ids["park"]]})
        s.add(seg)
        s.flush()
        seg_id = seg.id
    cid = _approved(client, headers, ids, segment_filter=None, segment_id=seg_id)
    with session_scope() as s:
        s.scalar(select(Interpretation).where(Interpretation.policy_id == ids["policy"])).benefits = "改了"
    refused = _post(client, headers, "author", cid, "launch")
    assert refused.status_code == 409
    assert client.get(f"/api/campaigns/{cid}", headers=headers["author"]).json()["status"] == "draft"


@pytest.mark.parametrize(("field", "value"), [("issued_on", "2024-03-01"), ("effective_on", "2024-04-01"),
                                            ("expires_on", "2029-12-31"),
                                            ("source_url", "https://www.hld.gov.cn/zwgk/2024/10.html")])
def test_a_change_to_the_policys_dates_or_source_after_approval_blocks_the_launch(world, field, value):
    client, headers, ids, state = world
    cid = _approved(client, headers, ids)
    changed = client.patch(f"/api/policies/{ids['policy']}", json={field: value}, headers=headers["editor"])
    assert changed.status_code == 200, changed.text
    refused = _post(client, headers, "author", cid, "launch")
    assert refused.status_code == 409 and "审核后内容已变更" in refused.json()["detail"]["message"]
    detail = client.get(f"/api/campaigns/{cid}", headers=headers["author"]).json()
    assert detail["status"] == "draft" and detail["approved_hash"] is None
    assert [m for m in state.sent() if m["touser"] != "oStaffAuthor001"] == []


def test_a_change_to_the_template_mapping_after_approval_blocks_the_launch(world, monkeypatch):
    from core.settings import get_settings

    client, headers, ids, _ = world
    cid = _approved(client, headers, ids)
    monkeypatch.setenv("PUSH_TEMPLATE_FIELDS", '{"thing1": "title", "thing2": "doc_number", "date3": "date", '
                                               '"thing4": "summary"}')
    get_settings.cache_clear()
    assert _post(client, headers, "author", cid, "launch").status_code == 409


def test_a_repeated_launch_adds_no_recipient(world):
    from push import flows

    client, headers, ids, _ = world
    cid = _approved(client, headers, ids)
    assert _post(client, headers, "author", cid, "launch").status_code == 200
    assert _post(client, headers, "author", cid, "launch").status_code == 409
    assert flows.write_all_recipients(cid) and not flows.write_all_recipients(cid)
    with session_scope() as s:
        assert len(list(s.scalars(select(Delivery.id).where(Delivery.campaign_id == cid)))) == 5


def test_relay_lists_parks_and_exports_masked_contacts_for_analysts(world):
    from push import flows

    client, headers, ids, _ = world
    cid = _approved(client, headers, ids)
    _post(client, headers, "author", cid, "launch")
    flows.write_all_recipients(cid)
    parks = client.get(f"/api/campaigns/{cid}/relay", headers=headers["analyst"]).json()
    assert parks[0]["park"] == "高新区" and parks[0]["enterprises"] == 1 and "/p/" in parks[0]["summary"]
    for who, phone in (("analyst", "138****5678"), ("author", "13812345678")):
        data = client.get(f"/api/campaigns/{cid}/relay/{ids['park']}.xlsx", headers=headers[who])
        assert data.status_code == 200
        sheet = load_workbook(io.BytesIO(data.content))["企业名单"]
        assert sheet.cell(2, 1).value == "葫芦岛测试科技有限公司" and sheet.cell(2, 6).value == phone
    stats = client.get(f"/api/campaigns/{cid}/stats", headers=headers["analyst"]).json()
    assert stats["counts"]["targeted"] == 5
    assert {r["label"] for r in stats["by_park"]} == {"高新区"}
    assert any(r["key"] == "I" for r in stats["by_industry"])


def test_mass_send_by_tag_is_refused_unless_the_segment_is_one_mirrored_tag(world):
    client, headers, ids, _ = world
    cid = _create(client, headers, ids, channel="mass_tag")

    def submit(segment_filter):
        edited = client.patch(f"/api/campaigns/{cid}", json={"segment_filter": segment_filter},
                              headers=headers["author"])
        assert edited.status_code == 200 and edited.json()["status"] == "draft"
        assert _post(client, headers, "author", cid, "test-send").status_code == 200
        return _post(client, headers, "author", cid, "submit")

    untagged = submit({"parks": [ids["park"]]})  # the park is not mirrored as a WeChat tag (yet)
    assert untagged.status_code == 422 and "WeChat tag" in untagged.json()["detail"]["message"]
    with session_scope() as s:
        s.add(WeChatTag(tag_id=101, name="园区·高新区", park_id=ids["park"]))
    two_keys = submit({"parks": [ids["park"]], "industries": ["I"]})  # reaches a follower, but is no one tag
    assert two_keys.status_code == 422 and "按标签群发" in two_keys.json()["detail"]["message"]
    assert submit({"parks": [ids["park"]]}).json()["status"] == "submitted"


def test_a_mass_campaign_to_an_industry_tag_is_broken_down_by_that_industry(world):
    client, headers, ids, _ = world
    with session_scope() as s:
        s.add(WeChatTag(tag_id=102, name="行业·信息技术", section="I"))
    cid = _approved(client, headers, ids, channel="mass_tag", segment_filter={"industries": ["I"]})
    stats = client.get(f"/api/campaigns/{cid}/stats", headers=headers["analyst"]).json()
    assert stats["by_park"] == [] and [(r["key"], r["targeted"]) for r in stats["by_industry"]] == [("I", 0)]
    assert "信息" in stats["by_industry"][0]["label"]  # no receipt yet: WeChat's counts are still zero


def test_the_cli_prints_a_campaigns_counts(world):
    from typer.testing import CliRunner

    from cli.main import app

    client, headers, ids, _ = world
    cid = _create(client, headers, ids)
    result = CliRunner().invoke(app, ["campaign", "status", str(cid), "--once"])
    assert result.exit_code == 0 and "draft" in result.output and "中小企业扶持政策" in result.output


def test_progress_streams_until_the_campaign_ends(world):
    client, headers, ids, _ = world
    cid = _create(client, headers, ids)
    _post(client, headers, "author", cid, "cancel")
    with client.stream("GET", f"/api/campaigns/{cid}/progress", headers=headers["analyst"]) as stream:
        body = "".join(stream.iter_text())
    assert body.startswith("event: progress") and '"status": "cancelled"' in body
    assert body.endswith("event: finished\ndata: \n\n")
