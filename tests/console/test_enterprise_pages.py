"""企业与粉丝 pages over HTTP: the enterprise list's filters, search and pages, an enterprise's page with its
tags and bound followers (masked for analysts), the editor's inline errors, the audited export, parks with
their QR code, topics and tags, and the refusals."""
from __future__ import annotations

import io

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.db import session_scope
from staff.models import AuditEntry, Role
from subscriptions import credit_code, service
from subscriptions.models import Enterprise, EnterpriseTag, Park, Topic
from subscriptions.schemas import EnterpriseCreate, ParkCreate, TagCreate, TopicCreate
from tests import live
from tests.conftest import clear_caches
from tests.console.conftest import csrf_of, make_staff
from tests.console.test_browser import assert_all_local, base_url, browser, sign_in  # noqa: F401 (fixtures)


def post(client, path: str, **data):
    token = csrf_of(client.get("/console/account").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def code(n: int) -> str:
    return credit_code.complete(f"91211400{n:09d}")


@pytest.fixture
def world(client):
    """Two parks, a tag and a topic, and enterprises: 30 manufacturers in 高新区 (the first tagged, bound to a
    follower who subscribes to the topic) and one software company in 经开区 with nobody bound."""
    with session_scope() as s:
        gx = service.create_park(session=s, park_in=ParkCreate(name="高新区", qr_scene="park-gx"))
        jk = service.create_park(session=s, park_in=ParkCreate(name="经开区"))
        tag = service.create_tag(session=s, tag_in=TagCreate(name="链主企业甲"))
        topic = service.create_topic(session=s, topic_in=TopicCreate(name="园区惠企专题"))
        ids = [service.add_enterprise(session=s, enterprise_in=EnterpriseCreate(
            credit_code=code(n), name=f"葫芦岛制造{n:02d}有限公司", industry_code="13", park_id=gx.id, size="中",
            tag_ids=[tag.id] if n == 0 else [], contact_name="张三丰", contact_phone="13912345678")).id
            for n in range(30)]
        soft = service.add_enterprise(session=s, enterprise_in=EnterpriseCreate(
            credit_code=code(99), name="葫芦岛软件有限公司", industry_code="65", park_id=jk.id, size="小")).id
        follower = service.follow(session=s, openid="oFollower0000000001")
        service.bind_enterprise(session=s, follower_id=follower.id, enterprise_id=ids[0])
        service.subscribe(session=s, follower_id=follower.id, topic_ids=[topic.id])
        return {"gx": gx.id, "jk": jk.id, "tag": tag.id, "topic": topic.id, "ids": ids, "soft": soft}


def rows(client, **params) -> str:
    r = client.get("/console/enterprises", params=params,
                   headers={"HX-Request": "true", "HX-Target": "enterprise-rows"})
    assert r.status_code == 200 and "<nav" not in r.text
    return r.text


def test_the_list_filters_by_industry_park_size_tag_and_binding_searches_and_pages(client, as_role, world):
    as_role(Role.editor)
    page = client.get("/console/enterprises").text
    assert "企业与粉丝" in page and "葫芦岛制造00有限公司" in page and "葫芦岛制造19有限公司" in page
    assert "葫芦岛制造20有限公司" not in page and f"after_id={world['ids'][19]}" in page
    rest = rows(client, after_id=world["ids"][19])
    assert "葫芦岛制造20有限公司" in rest and "葫芦岛软件有限公司" in rest and "葫芦岛制造19" not in rest
    assert "下一页" not in rest
    assert "葫芦岛软件" in rows(client, industry="I") and "制造" not in rows(client, industry="I")  # section
    assert "葫芦岛软件" not in rows(client, industry="13")  # division
    assert "制造" not in rows(client, park_id=world["jk"]) and "葫芦岛软件" in rows(client, park_id=world["jk"])
    assert "葫芦岛软件" in rows(client, size="小") and "制造" not in rows(client, size="小")
    tagged = rows(client, tag_id=world["tag"])
    assert "葫芦岛制造00有限公司" in tagged and "葫芦岛制造01" not in tagged
    bound = rows(client, bound="1")
    assert "葫芦岛制造00有限公司" in bound and "葫芦岛制造01" not in bound and "软件" not in bound
    assert "葫芦岛制造00有限公司" not in rows(client, bound="0", after_id=0)
    assert "葫芦岛软件" in rows(client, q="软件") and "制造" not in rows(client, q="软件")
    by_code = rows(client, q=code(99).lower())
    assert "葫芦岛软件" in by_code and "制造" not in by_code
    # the next page keeps the filters
    paged = client.get("/console/enterprises", params={"park_id": world["gx"], "size": "中"}).text
    assert f"park_id={world['gx']}&amp;size=%E4%B8%AD&amp;after_id={world['ids'][19]}" in paged


def test_bad_filters_are_said_at_the_field_never_a_500(client, as_role, world):
    as_role(Role.analyst)
    r = client.get("/console/enterprises", params={"industry": "ZZ", "park_id": "x", "size": "巨", "bound": "maybe"})
    assert r.status_code == 422
    assert "未知行业代码“ZZ”" in r.text and "规模“巨”应为 大、中、小、微 之一" in r.text and "is-invalid" in r.text
    assert "须为列表中的一项" in r.text and "没有符合条件的企业" in r.text
    assert client.get("/console/enterprises", params={"park_id": str(2**70)}).status_code == 422
    assert client.get("/console/enterprises", params={"q": "a\x00b"}).status_code == 422
    assert client.get("/console/enterprises", params={"after_id": "-1"}).status_code == 422
    assert client.get(f"/console/enterprises/{2**40}").status_code == 422
    assert client.get("/console/enterprises/999999").status_code == 404


def test_an_analyst_sees_contacts_and_codes_masked_and_no_edit_controls(client, as_role, world):
    as_role(Role.analyst)
    listed = client.get("/console/enterprises").text
    assert code(0) not in listed and "13912345678" not in listed and "张三丰" not in listed
    assert "139****5678" in listed and "新增企业" not in listed and "导出" not in listed and "导入" not in listed
    page = client.get(f"/console/enterprises/{world['ids'][0]}").text
    assert "链主企业甲" in page and "园区惠企专题" in page and "已脱敏" in page
    assert code(0) not in page and "13912345678" not in page and "oFollower0000000001" not in page
    assert 'name="csrf_token"' in page  # the sign-out form only:
    assert "删除企业" not in page and 'action="/console/enterprises/' not in page
    assert client.get("/console/enterprises/new").status_code == 403
    assert client.get("/console/enterprises/export").status_code == 403


def test_forged_posts_from_an_analyst_are_refused_and_audited(client, as_role, world):
    as_role(Role.analyst)
    target = world["ids"][0]
    assert post(client, f"/console/enterprises/{target}", name="改名").status_code == 403
    assert post(client, f"/console/enterprises/{target}/delete").status_code == 403
    assert post(client, "/console/enterprises/new", credit_code=code(5000), name="新企业").status_code == 403
    assert post(client, "/console/enterprises/parks", name="新园区").status_code == 403
    assert post(client, f"/console/enterprises/parks/{world['gx']}/qrcode").status_code == 403
    assert post(client, "/console/enterprises/topics/topic", name="新主题").status_code == 403
    assert post(client, f"/console/enterprises/topics/tag/{world['tag']}", name="改名").status_code == 403
    with session_scope() as s:
        assert s.get(Enterprise, target).name == "葫芦岛制造00有限公司"
        assert s.scalar(select(Park).where(Park.name == "新园区")) is None
        refused = s.scalars(select(AuditEntry.action).where(AuditEntry.action == "role.refused")).all()
    assert len(refused) == 7


def test_an_editor_sees_everything_in_full_and_edits_with_inline_errors(client, as_role, world):
    as_role(Role.editor)
    target = world["ids"][1]
    page = client.get(f"/console/enterprises/{world['ids'][0]}").text
    assert code(0) in page and "oFollower0000000001" in page and "13912345678" in page
    r = post(client, f"/console/enterprises/{target}", name="", industry_code="C", park_id="x",
             contact_phone="1" * 40, size="中")
    assert r.status_code == 422
    assert "不能为空" in r.text and "只是门类" in r.text and "须为整数" in r.text and "最多 32 个字" in r.text
    assert 'value="' + "1" * 40 + '"' in r.text  # what was typed stays
    r = post(client, f"/console/enterprises/{target}", name="葫芦岛新名有限公司", industry_code="13",
             park_id=str(world["jk"]), size="大", tag_ids=[str(world["tag"])], contact_name="", contact_phone="")
    assert r.status_code == 303 and "已保存" in client.get(r.headers["location"]).text
    with session_scope() as s:
        e = s.get(Enterprise, target)
        assert (e.name, e.park_id, e.size, [t.id for t in e.tags], e.contact_phone) == (
            "葫芦岛新名有限公司", world["jk"], "大", [world["tag"]], None)
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "enterprise.update"))
    assert entry.detail["fields"] == ["contact_name", "contact_phone", "name", "park_id", "size", "tag_ids"]
    r = post(client, f"/console/enterprises/{target}", name="甲", park_id="999999")
    assert r.status_code == 422 and "园区不存在" in r.text


def test_an_editor_creates_and_deletes_an_enterprise(client, as_role, world):
    as_role(Role.editor)
    r = post(client, "/console/enterprises/new", credit_code="91211400000000000X", name="新企业")
    assert r.status_code == 422 and 'id="credit_code"' in r.text and "is-invalid" in r.text
    r = post(client, "/console/enterprises/new", credit_code=code(0), name="重复企业")
    assert r.status_code == 409 and "已有该统一社会信用代码的企业" in r.text
    r = post(client, "/console/enterprises/new", credit_code=code(7000), name="新企业有限公司", industry_code="65")
    assert r.status_code == 303
    new_id = int(r.headers["location"].rsplit("/", 1)[-1])
    assert "已新增企业" in client.get(r.headers["location"]).text
    assert post(client, f"/console/enterprises/{new_id}/delete").status_code == 303
    with session_scope() as s:
        assert s.get(Enterprise, new_id) is None
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.target == f"enterprise:{new_id}")).all() == [
            "enterprise.create", "enterprise.delete"]


def test_the_export_is_the_apis_workbook_and_is_audited(client, as_role, world):
    as_role(Role.editor)
    r = client.get("/console/enterprises/export")
    assert r.status_code == 200 and "enterprises.xlsx" in r.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet.cell(1, 1).value == "统一社会信用代码" and sheet.max_row == 32
    with session_scope() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "enterprise.export"))
    assert entry.detail["rows"] == 31


@pytest.fixture
def sandboxed(app_env, monkeypatch):
    with live.sandbox(app_env) as (base, state):
        monkeypatch.setenv("WECHAT_API_BASE", base)
        clear_caches()
        yield state


def test_parks_are_edited_with_inline_errors_and_show_their_qr_code(sandboxed, client, as_role, world):
    as_role(Role.editor)
    page = client.get("/console/enterprises/parks").text
    assert "高新区" in page and "尚未生成二维码" in page
    r = post(client, "/console/enterprises/parks", name="高新区", qr_scene="")
    assert r.status_code == 422 and "已有同名园区" in r.text
    r = post(client, "/console/enterprises/parks", name="", qr_scene="s" * 65)
    assert r.status_code == 422 and "不能为空" in r.text and "最多 64 个字" in r.text
    r = post(client, f"/console/enterprises/parks/{world['jk']}", name="经开区", qr_scene="park-gx")
    assert r.status_code == 422 and "该场景值已被其他园区使用" in r.text
    assert post(client, "/console/enterprises/parks", name="北港园区").status_code == 303
    r = post(client, f"/console/enterprises/parks/{world['gx']}/qrcode")
    assert r.status_code == 303 and "已生成“高新区”的二维码" in client.get(r.headers["location"]).text
    page = client.get("/console/enterprises/parks").text
    assert f'src="/console/enterprises/parks/{world["gx"]}/qrcode"' in page and "北港园区" in page
    image = client.get(f"/console/enterprises/parks/{world['gx']}/qrcode")
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/")
    with session_scope() as s:
        ticket = s.get(Park, world["gx"]).qr_ticket
    assert sandboxed.qrcodes[ticket]["scene"] == "park-gx"
    assert client.get(f"/console/enterprises/parks/{world['jk']}/qrcode").status_code == 404  # none made
    assert post(client, f"/console/enterprises/parks/{world['jk']}/delete").status_code == 303
    with session_scope() as s:
        assert s.get(Park, world["jk"]) is None and s.get(Enterprise, world["soft"]).park_id is None


def test_a_qr_code_wechat_refuses_is_a_notice_not_a_500(client, as_role, world, monkeypatch):
    monkeypatch.setenv("WECHAT_API_BASE", "http://127.0.0.1:9/cgi-bin/")  # nothing answers there
    clear_caches()
    as_role(Role.editor)
    r = post(client, f"/console/enterprises/parks/{world['gx']}/qrcode")
    assert r.status_code == 303 and "微信未能生成二维码" in client.get(r.headers["location"]).text
    with session_scope() as s:
        assert s.get(Park, world["gx"]).qr_ticket is None


def test_topics_and_tags_are_created_edited_and_deactivated_with_inline_errors(client, as_role, world):
    as_role(Role.editor)
    page = client.get("/console/enterprises/topics").text
    assert "园区惠企专题" in page and "链主企业甲" in page
    r = post(client, "/console/enterprises/topics/topic", name="园区惠企专题")
    assert r.status_code == 422 and "已有同名主题" in r.text
    r = post(client, "/console/enterprises/topics/topic", name="引才专题乙", sort_order="x")
    assert r.status_code == 422 and "须为整数" in r.text and 'value="引才专题乙"' in r.text
    assert post(client, "/console/enterprises/topics/topic", name="引才专题乙", description="引才").status_code == 303
    r = post(client, f"/console/enterprises/topics/topic/{world['topic']}", name="园区惠企专题", sort_order="5")
    assert r.status_code == 303  # no `active` box ticked: deactivated
    r = post(client, f"/console/enterprises/topics/tag/{world['tag']}", name="", active="1")
    assert r.status_code == 422 and "不能为空" in r.text
    assert post(client, "/console/enterprises/topics/tag", name="出口示范企业").status_code == 303
    assert post(client, "/console/enterprises/topics/nothing", name="x").status_code == 404
    assert post(client, "/console/enterprises/topics/tag/999999", name="x").status_code == 404
    with session_scope() as s:
        topic = s.get(Topic, world["topic"])
        assert (topic.sort_order, topic.active) == (5, False)
        assert s.scalar(select(Topic).where(Topic.name == "引才专题乙")).description == "引才"
        assert s.scalar(select(EnterpriseTag).where(EnterpriseTag.name == "出口示范企业")).active


def test_followers_are_listed_by_state_and_park_with_their_subscriptions_and_enterprises(client, as_role, world):
    with session_scope() as s:
        service.unfollow(session=s, openid=service.follow(session=s, openid="oGone000000000000001").openid)
        scanner = service.follow(session=s, openid="oScan000000000000001", qr_scene="park-gx")
        follower_id = service.get_by_openid(session=s, openid="oFollower0000000001").id
        scanner_id = scanner.id
    as_role(Role.editor)
    page = client.get("/console/enterprises/followers", params={"state": "", "park_id": ""}).text
    assert "oFollower0000000001" in page and "oGone000000000000001" in page and "已取消关注" in page
    following = client.get("/console/enterprises/followers", params={"state": "following"},
                           headers={"HX-Request": "true", "HX-Target": "follower-rows"}).text
    assert "<nav" not in following and "oGone" not in following and "oScan000000000000001" in following
    in_park = client.get("/console/enterprises/followers", params={"park_id": world["gx"]}).text
    assert "oScan000000000000001" in in_park and "oFollower0000000001" not in in_park
    assert client.get("/console/enterprises/followers", params={"state": "gone"}).status_code == 422
    detail = client.get(f"/console/enterprises/followers/{follower_id}").text
    assert "园区惠企专题" in detail and "葫芦岛制造00有限公司" in detail and code(0) in detail
    as_role(Role.analyst)
    listed = client.get("/console/enterprises/followers").text
    assert "oFollower0000000001" not in listed and "oFo***001" in listed
    detail = client.get(f"/console/enterprises/followers/{follower_id}").text
    assert "oFollower0000000001" not in detail and code(0) not in detail and "葫芦岛制造00有限公司" in detail
    assert "高新区" in client.get(f"/console/enterprises/followers/{scanner_id}").text
    assert client.get("/console/enterprises/followers/999999").status_code == 404

def test_a_post_without_the_csrf_token_is_refused(client, as_role, world):
    as_role(Role.editor)
    r = client.post(f"/console/enterprises/{world['ids'][0]}/delete", data={"csrf_token": "forged"})
    assert r.status_code == 403 and "CSRF" in r.text
    with session_scope() as s:
        assert s.get(Enterprise, world["ids"][0]) is not None


def test_in_chromium_an_analyst_filters_the_list_and_reads_an_enterprise_masked(world, browser, base_url, tmp_path):
    context = browser.new_context(base_url=base_url, locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, make_staff(Role.analyst))
    page.get_by_role("link", name="企业与粉丝").click()
    expect(page.get_by_role("link", name="葫芦岛制造00有限公司")).to_be_visible()
    page.get_by_label("园区").select_option(label="经开区")
    expect(page.get_by_role("link", name="葫芦岛制造00有限公司")).to_have_count(0)
    expect(page.get_by_role("link", name="葫芦岛软件有限公司")).to_be_visible()
    assert "park_id=" in page.url  # the filter is in the address, so reload and back keep it
    page.get_by_label("园区").select_option(label="全部园区")
    page.get_by_label("绑定").select_option(label="已有粉丝绑定")
    page.get_by_role("link", name="葫芦岛制造00有限公司").click()
    expect(page.get_by_text("园区惠企专题")).to_be_visible()
    expect(page.get_by_text("139****5678")).to_be_visible()
    assert "13912345678" not in page.content() and page.get_by_role("button", name="保存").count() == 0
    page.screenshot(path=str(tmp_path / "enterprise-analyst.png"), full_page=True)
    page.get_by_role("link", name="返回企业列表").click()
    page.get_by_role("link", name="园区", exact=True).click()
    expect(page.get_by_text("尚未生成二维码").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "parks.png"), full_page=True)
    assert_all_local(requested)
    context.close()
