"""管理·审计日志 over HTTP: admins only, filters at the top, times in China time, refusals kept."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from core.db import session_scope
from staff import service
from staff.models import AuditEntry, Role
from tests.console.conftest import csrf_of
from tests.console.test_campaign_pages import submitted_campaign


def test_only_admins_see_the_page_and_its_menu(client, as_role):
    as_role(Role.editor)
    assert "审计日志" not in client.get("/console/").text
    assert client.get("/console/audit").status_code == 403
    as_role(Role.admin)
    home = client.get("/console/").text
    assert "审计日志" in home and 'href="/console/audit"' in home
    assert client.get("/console/audit").status_code == 200


def test_entries_show_in_china_time_with_names_and_filter(client, as_role):
    admin = as_role(Role.admin)
    with session_scope() as s:
        me = service.get_by_username(session=s, username=admin)
        service.audit(session=s, actor=me, action="campaign.approve", target="campaign:7")
        service.audit(session=s, actor=None, action="policy.update", target="policy:3")
        s.execute(update(AuditEntry).where(AuditEntry.target == "campaign:7")
                  .values(at=datetime(2024, 5, 1, 16, 30, 5, tzinfo=UTC)))
    page = client.get("/console/audit").text
    assert "2024-05-02 00:30:05" in page and admin in page and "审核通过" in page and "推送 #7" in page
    only = client.get("/console/audit", params={"object_type": "policy"}).text
    assert "政策 #3" in only and "推送 #7" not in only
    may = client.get("/console/audit", params={"since": "2024-05-02T00:00", "until": "2024-05-02T01:00"}).text
    rows = may[may.index("<table"):]
    assert "推送 #7" in rows and "政策 #3" not in rows and "auth.sign_in" not in rows
    fragment = client.get("/console/audit", params={"actor_id": "1"}, headers={"HX-Request": "true", "HX-Target": "audit-rows"})
    assert fragment.text.lstrip().startswith("<table")


def test_a_bad_filter_says_so_at_its_field(client, as_role):
    as_role(Role.admin)
    page = client.get("/console/audit", params={"object_id": "三", "since": "昨天"})
    assert page.status_code == 422 and "须为整数" in page.text and "时间格式有误" in page.text


def test_refused_posts_are_kept_and_shown_as_refused(client, as_role):
    editor = as_role(Role.editor)
    campaign_id = submitted_campaign(editor)
    analyst = as_role(Role.analyst)
    page = client.get(f"/console/campaigns/{campaign_id}").text
    assert client.post(f"/console/campaigns/{campaign_id}/approve", data={"csrf_token": csrf_of(page)}).status_code == 403
    admin = as_role(Role.admin)
    own = submitted_campaign(admin)  # an admin may approve, but not their own campaign
    page = client.get(f"/console/campaigns/{own}").text
    assert client.post(f"/console/campaigns/{own}/approve", data={"csrf_token": csrf_of(page)}).status_code == 403
    refused = client.get("/console/audit", params={"refused": "1"}).text
    assert refused.count("table-danger") == 2 and analyst in refused and "角色无权（被拒绝）" in refused
    assert "审核通过（被拒绝）" in refused and f"推送 #{own}" in refused
