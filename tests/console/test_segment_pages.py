"""分组 pages over HTTP: the builder's live count (the API's own preview), problems said in the partial and at
each field, saving, editing and deleting a segment, and what an analyst may and may not do."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.db import session_scope, utcnow
from push import service as push_service
from push.schemas import CampaignCreate
from staff.models import AuditEntry, Role
from staff.service import get_by_username
from subscriptions import credit_code, segments, service
from subscriptions.models import Segment
from subscriptions.schemas import EnterpriseCreate, ParkCreate, SegmentCreate, TagCreate, TopicCreate
from tests.console.conftest import csrf_of, make_staff
from tests.console.test_browser import assert_all_local, base_url, browser, sign_in  # noqa: F401 (fixtures)


def post(client, path: str, **data):
    token = csrf_of(client.get("/console/account").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


@pytest.fixture
def world(client):
    """Manufacturers in 高新区 (one tagged) and a software company in 经开区; a follower bound to each of the
    first two (the second muted), one bound to the software company, one who only scanned 高新区's code."""
    with session_scope() as s:
        gx = service.create_park(session=s, park_in=ParkCreate(name="高新区"))
        jk = service.create_park(session=s, park_in=ParkCreate(name="经开区"))
        tag = service.create_tag(session=s, tag_in=TagCreate(name="链主企业甲"))
        topic = service.create_topic(session=s, topic_in=TopicCreate(name="园区惠企专题"))
        made = [service.add_enterprise(session=s, enterprise_in=EnterpriseCreate(
            credit_code=credit_code.complete(f"91211400{n:09d}"), name=name, industry_code=industry,
            park_id=park.id, size=size, tag_ids=tags)).id
            for n, (name, industry, park, size, tags) in enumerate([
                ("葫芦岛制造甲有限公司", "13", gx, "中", [tag.id]), ("葫芦岛制造乙有限公司", "13", gx, "小", []),
                ("葫芦岛制造丙有限公司", "14", gx, "小", []), ("葫芦岛软件有限公司", "65", jk, "小", [])])]
        followers = [service.follow(session=s, openid=f"oSegment{n:011d}") for n in range(4)]
        for follower, enterprise in zip(followers, (made[0], made[1], made[3])):
            service.bind_enterprise(session=s, follower_id=follower.id, enterprise_id=enterprise)
        service.set_mute(session=s, follower=followers[1], muted=True)
        followers[3].park_id = gx.id
        service.subscribe(session=s, follower_id=followers[0].id, topic_ids=[topic.id])
        return {"gx": gx.id, "jk": jk.id, "tag": tag.id, "topic": topic.id}


def counted(html: str) -> tuple[int, int]:
    def number(testid: str) -> int:
        return int(re.search(rf'data-testid="{testid}">([\d,]+)<', html).group(1).replace(",", ""))
    return number("followers"), number("enterprises")


def live_count(client, **params) -> str:
    r = client.get("/console/segments/count", params=params, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<nav" not in r.text
    return r.text


def api_preview(flt: dict) -> tuple[int, int]:
    with session_scope() as s:
        result = segments.preview(session=s, filter=flt)
    return result.followers, result.enterprises


def test_the_live_count_is_the_apis_preview_for_each_change(client, as_role, world):
    as_role(Role.analyst)
    cases = [
        ({}, {}),
        ({"industries": "C"}, {"industries": ["C"]}),
        ({"industry_codes": "13，65"}, {"industries": ["13", "65"]}),
        ({"parks": str(world["gx"])}, {"parks": [world["gx"]]}),  # the park scan counts
        ({"parks": str(world["gx"]), "sizes": "小"}, {"parks": [world["gx"]], "sizes": ["小"]}),
        ({"tags": str(world["tag"])}, {"tags": [world["tag"]]}),
        ({"topics": str(world["topic"])}, {"topics": [world["topic"]]}),
        ({"industries": "C", "ex_tags": str(world["tag"])}, {"industries": ["C"], "exclude": {"tags": [world["tag"]]}}),
        ({"parks": str(world["gx"]), "verified": "1"}, {"parks": [world["gx"]], "verified": True}),
    ]
    for params, flt in cases:
        assert counted(live_count(client, **params)) == api_preview(flt), params
    assert counted(live_count(client, parks=str(world["gx"]))) == (2, 3)
    assert counted(live_count(client, industries="C", ex_tags=str(world["tag"]))) == (0, 2)
    sample = live_count(client, industries="I")
    assert "葫芦岛软件有限公司" in sample and "91211400" not in sample


def test_problems_in_the_filter_are_said_in_the_count_never_a_500(client, as_role, world):
    as_role(Role.analyst)
    assert "未知行业代码“ZZ”" in live_count(client, industry_codes="ZZ")
    assert "不存在的编号" in live_count(client, parks="999999")
    assert "须为整数" in live_count(client, ex_tags="x")
    assert "未知规模“巨”" in live_count(client, sizes="巨")
    assert "须不大于" in live_count(client, topics=str(2**40))
    r = client.get("/console/segments/count", params={"industry_codes": "a\x00b"})
    assert r.status_code in (200, 422) and "<nav" not in r.text


def test_an_editor_saves_a_segment_reads_it_back_edits_and_deletes_it(client, as_role, world):
    as_role(Role.editor)
    page = client.get("/console/segments/new").text
    assert 'hx-get="/console/segments/count"' in page and "保存分组" in page and counted(page) == (3, 4)
    r = post(client, "/console/segments/new", name="高新区制造业", description="季度推送", industries="C",
             parks=str(world["gx"]), ex_topics=str(world["topic"]))
    assert r.status_code == 303
    saved = client.get(r.headers["location"]).text
    assert "已保存分组“高新区制造业”" in saved and counted(saved) == api_preview(
        {"industries": ["C"], "parks": [world["gx"]], "exclude": {"topics": [world["topic"]]}})
    assert f'id="parks-{world["gx"]}" name="parks" value="{world["gx"]}" autocomplete="off" checked' in saved
    segment_id = int(r.headers["location"].rsplit("/", 1)[-1])
    with session_scope() as s:
        segment = s.get(Segment, segment_id)
        assert segment.filter == {"industries": ["C"], "parks": [world["gx"]], "exclude": {"topics": [world["topic"]]}}
    listed = client.get("/console/segments").text
    assert "高新区制造业" in listed and "行业：C 制造业" in listed and "园区：高新区" in listed
    assert "排除订阅主题：园区惠企专题" in listed
    r = post(client, f"/console/segments/{segment_id}", name="高新区制造业", description="季度推送",
             industry_codes="13", verified="1")
    assert r.status_code == 303 and "已保存" in client.get(r.headers["location"]).text
    with session_scope() as s:
        assert s.get(Segment, segment_id).filter == {"industries": ["13"], "verified": True}
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.target == f"segment:{segment_id}")).all()
    assert actions == ["segment.create", "segment.update"]
    assert post(client, f"/console/segments/{segment_id}/delete").status_code == 303
    with session_scope() as s:
        assert s.get(Segment, segment_id) is None
    assert client.get(f"/console/segments/{segment_id}").status_code == 404


def test_bad_input_is_said_at_each_field_and_saves_nothing(client, as_role, world):
    as_role(Role.editor)
    r = post(client, "/console/segments/new", name="", industry_codes="ZZ", ex_parks="x", sizes="巨")
    assert r.status_code == 422
    assert "不能为空" in r.text and "未知行业代码“ZZ”" in r.text and "须为整数" in r.text and "未知规模“巨”" in r.text
    assert 'id="industry_codes" name="industry_codes" value="ZZ"' in r.text  # what was typed stays
    assert r.text.count("is-invalid") >= 2
    r = post(client, "/console/segments/new", name="某分组", tags="999999")
    assert r.status_code == 422 and "不存在的编号" in r.text
    with session_scope() as s:
        service.create_segment(session=s, segment_in=SegmentCreate(name="已有分组", filter={}))
    r = post(client, "/console/segments/new", name="已有分组")
    assert r.status_code == 422 and "已有同名分组" in r.text
    with session_scope() as s:
        assert [x.name for x in service.list_segments(session=s)] == ["已有分组"]


def test_a_segment_a_campaign_targets_is_not_deleted(client, as_role, world):
    editor = as_role(Role.editor)
    with session_scope() as s:
        segment = service.create_segment(session=s, segment_in=SegmentCreate(
            name="推送用", filter={"parks": [world["gx"]]}))
        push_service.create(session=s, author=get_by_username(session=s, username=editor), campaign_in=CampaignCreate(
            title="通知", kind="notice", notice_text="x", segment_id=segment.id,
            send_at=utcnow() + timedelta(days=1)))
        segment_id = segment.id
    r = post(client, f"/console/segments/{segment_id}/delete")
    assert r.status_code == 303 and "已被推送使用，不能删除" in client.get(r.headers["location"]).text
    with session_scope() as s:
        assert s.get(Segment, segment_id) is not None


def test_an_analyst_counts_but_cannot_save_and_forged_posts_are_refused(client, as_role, world):
    as_role(Role.analyst)
    with session_scope() as s:
        segment_id = service.create_segment(session=s, segment_in=SegmentCreate(
            name="经开区", filter={"parks": [world["jk"]]})).id
    assert "经开区" in client.get("/console/segments").text
    page = client.get(f"/console/segments/{segment_id}").text
    assert counted(page) == (1, 1) and "保存分组" not in page and "删除分组" not in page and 'id="name"' not in page
    assert counted(client.get("/console/segments/new").text) == (3, 4)
    assert post(client, "/console/segments/new", name="偷偷建的").status_code == 403
    assert post(client, f"/console/segments/{segment_id}", name="改名").status_code == 403
    assert post(client, f"/console/segments/{segment_id}/delete").status_code == 403
    with session_scope() as s:
        assert [x.name for x in service.list_segments(session=s)] == ["经开区"]
        assert len(s.scalars(select(AuditEntry).where(AuditEntry.action == "role.refused")).all()) == 3


def test_a_post_without_the_csrf_token_is_refused(client, as_role, world):
    as_role(Role.editor)
    r = client.post("/console/segments/new", data={"name": "甲", "csrf_token": "forged"})
    assert r.status_code == 403 and "CSRF" in r.text
    with session_scope() as s:
        assert service.list_segments(session=s) == []


def test_in_chromium_the_count_follows_each_tick_and_the_segment_is_saved(world, browser, base_url, tmp_path):
    context = browser.new_context(base_url=base_url, locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, make_staff(Role.editor))
    page.get_by_role("link", name="分组").click()
    page.get_by_role("link", name="新建分组").click()
    followers = page.get_by_test_id("followers")
    expect(followers).to_have_text("3")
    page.locator("fieldset", has_text="包含条件").get_by_text("C 制造业").click()
    expect(followers).to_have_text("1")  # the muted follower is not reachable
    expect(page.get_by_test_id("enterprises")).to_have_text("3")
    page.get_by_label("行业大类（两位代码或名称，多个用逗号分隔，如 13，65）").first.fill("ZZ")
    expect(page.get_by_role("alert")).to_contain_text("未知行业代码“ZZ”")
    page.get_by_label("行业大类（两位代码或名称，多个用逗号分隔，如 13，65）").first.fill("")
    expect(followers).to_have_text("1")
    page.screenshot(path=str(tmp_path / "segment-builder.png"), full_page=True)
    page.get_by_label("分组名称").fill("制造业企业")
    page.get_by_role("button", name="保存分组").click()
    expect(page.get_by_role("status")).to_contain_text("已保存分组“制造业企业”")
    expect(followers).to_have_text("1")
    assert_all_local(requested)
    context.close()
