"""推送 pages over HTTP: inline validation, controls by role, and the server refusing what the role or
the author may not do whatever the page shows."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.db import session_scope
from push import service
from push.models import Campaign, CampaignStatus
from push.schemas import CampaignCreate
from staff.models import Role
from staff.service import get_by_username
from tests.console.conftest import csrf_of, make_staff
from tests.push.conftest import make_followers, make_park, make_policy


def submitted_campaign(author_username: str) -> int:
    """A policy campaign to one park's followers, submitted by `author_username`."""
    with session_scope() as s:
        park = make_park(s)
        make_followers(s, park, 3)
        author = get_by_username(session=s, username=author_username)
        campaign = service.create(session=s, author=author, campaign_in=CampaignCreate(
            title="惠企政策推送", policy_id=make_policy(s).id, segment_filter={"parks": [park.id]}))
        service.submit(session=s, campaign=campaign, require_test_send=False)
        return campaign.id


def status_of(campaign_id: int) -> CampaignStatus:
    with session_scope() as s:
        return s.get(Campaign, campaign_id).status


def test_compose_errors_show_at_each_field_in_chinese_and_store_nothing(client, as_role):
    as_role(Role.editor)
    token = csrf_of(client.get("/console/campaigns/new").text)
    r = client.post("/console/campaigns/new", data={"csrf_token": token, "title": "", "kind": "policy",
                                                    "send_at": "明天上午"})
    assert r.status_code == 422
    assert 'id="title"' in r.text and "不能为空" in r.text and "时间格式有误" in r.text
    r = client.post("/console/campaigns/new", data={"csrf_token": token, "title": "通知", "kind": "notice"})
    assert r.status_code == 422 and "通知推送需填写通知内容" in r.text
    with session_scope() as s:
        assert service.list_campaigns(session=s) == []


def test_a_composed_campaign_is_saved_as_draft_with_its_send_time_in_china_time(client, as_role):
    as_role(Role.editor)
    token = csrf_of(client.get("/console/campaigns/new").text)
    r = client.post("/console/campaigns/new", follow_redirects=False, data={
        "csrf_token": token, "title": "停电通知", "kind": "notice", "notice_text": "明日停电", "send_at": "2030-05-01T09:00"})
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "推送草稿已保存" in page and "草稿" in page and "2030-05-01 09:00" in page
    with session_scope() as s:
        (campaign,) = service.list_campaigns(session=s)
        assert campaign.send_at.isoformat() == "2030-05-01T01:00:00+00:00"


def test_an_analyst_sees_no_edit_controls_and_the_server_refuses_their_posts(client, as_role):
    editor = as_role(Role.editor)
    campaign_id = submitted_campaign(editor)
    as_role(Role.analyst)
    listing = client.get("/console/campaigns").text
    assert "惠企政策推送" in listing and "新建推送" not in listing
    page = client.get(f"/console/campaigns/{campaign_id}").text
    for control in ("编辑", "提交审核", "审核通过", "退回修改", "取消推送"):
        assert f">{control}<" not in page, control
    assert client.get("/console/campaigns/new").status_code == 403
    token = csrf_of(page)
    for action in ("approve", "cancel", "launch"):
        r = client.post(f"/console/campaigns/{campaign_id}/{action}", data={"csrf_token": token})
        assert r.status_code == 403 and "无权" in r.text, action
    assert status_of(campaign_id) is CampaignStatus.submitted


def test_the_author_sees_no_approve_button_and_a_forged_approve_is_refused(client, as_role):
    admin = as_role(Role.admin)  # an admin may approve, but never their own campaign
    campaign_id = submitted_campaign(admin)
    page = client.get(f"/console/campaigns/{campaign_id}").text
    assert ">审核通过<" not in page and "退回修改" not in page
    r = client.post(f"/console/campaigns/{campaign_id}/approve", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 403 and "不能审核自己撰写的推送" in r.text
    assert status_of(campaign_id) is CampaignStatus.submitted


def test_a_reviewer_rejects_with_a_reason_the_author_then_reads(client, as_role):
    editor = as_role(Role.editor)
    campaign_id = submitted_campaign(editor)
    as_role(Role.reviewer)
    page = client.get(f"/console/campaigns/{campaign_id}").text
    assert ">审核通过<" in page and "退回修改" in page
    r = client.post(f"/console/campaigns/{campaign_id}/reject", data={"csrf_token": csrf_of(page), "reason": " "})
    assert r.status_code == 422 and "请填写退回理由" in r.text
    assert status_of(campaign_id) is CampaignStatus.submitted
    r = client.post(f"/console/campaigns/{campaign_id}/reject", follow_redirects=False,
                    data={"csrf_token": csrf_of(page), "reason": "标题请写明适用对象"})
    assert r.status_code == 303 and status_of(campaign_id) is CampaignStatus.draft
    client.cookies.clear()
    from tests.console.conftest import sign_in

    sign_in(client, editor)
    assert "标题请写明适用对象" in client.get(f"/console/campaigns/{campaign_id}").text


def test_the_list_filters_by_status_and_pages_by_id(client, as_role):
    editor = as_role(Role.editor)
    with session_scope() as s:
        author = get_by_username(session=s, username=editor)
        for i in range(25):
            service.create(session=s, author=author, campaign_in=CampaignCreate(
                title=f"通知{i:02d}", kind="notice", notice_text="x"))
    first = client.get("/console/campaigns").text
    assert "通知24" in first and "通知05" in first and "通知04" not in first
    second = client.get("/console/campaigns?before_id=6").text
    assert "通知04" in second and "通知00" in second and "下一页" not in second
    assert "暂无推送" in client.get("/console/campaigns?status=running").text
    everything = client.get("/console/campaigns?status=")  # 全部状态, as the form sends it
    assert everything.status_code == 200 and "通知24" in everything.text
    fragment = client.get("/console/campaigns?status=draft", headers={"HX-Request": "true", "HX-Target": "campaign-rows"})
    assert fragment.text.lstrip().startswith("<table")


def test_the_preview_shows_the_templates_rows_warns_of_shortened_values_and_submit_names_a_misfit(
        client, as_role, monkeypatch):
    editor = as_role(Role.editor)
    with session_scope() as s:
        park = make_park(s)
        make_followers(s, park, 2)
        campaign = service.create(session=s, author=get_by_username(session=s, username=editor),
                                  campaign_in=CampaignCreate(title="关于进一步支持中小企业高质量发展的若干政策措施",
                                                             policy_id=make_policy(s).id,
                                                             segment_filter={"parks": [park.id]}))
    page = client.get(f"/console/campaigns/{campaign.id}").text
    assert '<div class="wx-title">政策推送通知</div>' in page
    assert "政策名称" in page and "关于进一步支持中小企业高质量发展的若干…" in page and "已截短" in page
    assert "「政策名称」（thing1）超过20个字" in page and "发文单位" in page and "市人民政府办公室" in page
    monkeypatch.setenv("PUSH_TEMPLATE_CONTENT", "政策名称：{{thing1.DATA}}\n办理状态：{{phrase2.DATA}}")
    monkeypatch.setenv("PUSH_TEMPLATE_FIELDS", '{"thing1": "title", "phrase2": "summary"}')
    monkeypatch.setenv("PUSH_REQUIRE_TEST_SEND", "false")
    from tests.conftest import clear_caches

    clear_caches()
    r = client.post(f"/console/campaigns/{campaign.id}/submit", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 422 and "模板字段「办理状态」（phrase2）须为5个以内汉字" in r.text
    assert status_of(campaign.id) is CampaignStatus.draft


def test_a_rejection_made_through_the_api_is_read_by_the_author_in_the_console(client, as_role):
    editor = as_role(Role.editor)
    campaign_id = submitted_campaign(editor)
    with session_scope() as s:
        reviewer = get_by_username(session=s, username=make_staff(Role.reviewer))
        service.reject(session=s, campaign=s.get(Campaign, campaign_id), reviewer=reviewer, reason="请补充政策图解")
        reviewer_name = reviewer.username
    page = client.get(f"/console/campaigns/{campaign_id}").text
    assert "请补充政策图解" in page and reviewer_name in page


def test_quiet_hours_are_chosen_on_the_form_and_a_running_campaign_says_when_it_goes_on(client, as_role):
    as_role(Role.editor)
    with session_scope() as s:
        make_followers(s, make_park(s), 2)
    token = csrf_of(client.get("/console/campaigns/new").text)
    base = {"csrf_token": token, "title": "停电通知", "kind": "notice", "notice_text": "明日停电"}
    r = client.post("/console/campaigns/new", data={**base, "quiet": "custom", "quiet_hours": "晚上十点"})
    assert r.status_code == 422 and "免打扰时段格式有误" in r.text
    with session_scope() as s:
        assert service.list_campaigns(session=s) == []

    r = client.post("/console/campaigns/new", data={**base, "quiet": "none"}, follow_redirects=False)
    assert r.status_code == 303
    # a window around the present moment, whatever the hour the test runs at
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    window = f"{now - timedelta(hours=1):%H:00}-{now + timedelta(hours=2):%H:00}"
    r = client.post("/console/campaigns/new", data={**base, "quiet": "custom", "quiet_hours": window},
                    follow_redirects=False)
    reviewer_name = make_staff(Role.reviewer)
    with session_scope() as s:
        quiet, custom = sorted(service.list_campaigns(session=s), key=lambda c: c.id)
        assert (quiet.quiet_hours, custom.quiet_hours) == ("", window)
        service.submit(session=s, campaign=custom, require_test_send=False)
        reviewer = get_by_username(session=s, username=reviewer_name)
        service.approve(session=s, campaign=custom, reviewer=reviewer)
        service.launch(session=s, campaign=custom)
        assert custom.status is CampaignStatus.running
    page = client.get(r.headers["location"]).text
    assert f"现处免打扰时段（{window}），{now + timedelta(hours=2):%H}:00 起继续发送" in page
    edit = client.get(f"/console/campaigns/{quiet.id}/edit").text
    assert re.search(r'id="quiet-none" value="none" checked', edit)
