"""管理 > 员工账号 and 我的账号 in the console."""
from __future__ import annotations

import pytest

from console import sessions
from core.db import session_scope
from staff import binding, service
from staff.models import Role
from tests import live
from tests.conftest import clear_caches
from tests.console.conftest import PASSWORD, csrf_of, make_staff, sign_in


def post(client, path: str, **data):
    token = csrf_of(client.get("/console/account").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def test_only_admins_see_and_use_the_staff_accounts_page(client, as_role):
    as_role(Role.editor)
    assert "员工账号" not in client.get("/console/").text
    assert client.get("/console/admin/users").status_code == 403
    target = make_staff(Role.analyst)
    with session_scope() as s:
        uid = service.get_by_username(session=s, username=target).id
    assert post(client, f"/console/admin/users/{uid}/role", role="admin").status_code == 403  # a forged POST
    with session_scope() as s:
        assert service.get_by_username(session=s, username=target).role is Role.analyst


def test_an_admin_creates_an_account_and_a_weak_password_is_refused_at_the_field(client, as_role):
    as_role(Role.admin)
    assert "员工账号" in client.get("/console/").text
    r = post(client, "/console/admin/users", username="zhangsan", role="editor", password="12345678")
    assert r.status_code == 422 and "密码至少需要 10 个字符" in r.text and 'value="zhangsan"' in r.text
    r = post(client, "/console/admin/users", username="ZhangSan", role="editor", password=PASSWORD)
    assert r.status_code == 303
    page = client.get("/console/admin/users").text
    assert "已创建员工账号“zhangsan”" in page and "zhangsan" in page
    r = post(client, "/console/admin/users", username="ZHANGSAN", role="editor", password=PASSWORD)
    assert r.status_code == 409 and "已存在" in r.text


def test_an_admin_changes_a_role_deactivates_reactivates_and_resets_a_password(client, as_role):
    as_role(Role.admin)
    target = make_staff(Role.editor)
    with session_scope() as s:
        uid = service.get_by_username(session=s, username=target).id
    assert post(client, f"/console/admin/users/{uid}/role", role="reviewer").status_code == 303
    assert post(client, f"/console/admin/users/{uid}/active", active="0").status_code == 303
    assert "已停用" in client.get("/console/admin/users").text
    assert post(client, f"/console/admin/users/{uid}/active", active="1").status_code == 303
    r = post(client, f"/console/admin/users/{uid}/password", password="password")
    assert "密码未重置" in client.get(r.headers["location"]).text
    assert post(client, f"/console/admin/users/{uid}/password", password="another good passphrase").status_code == 303
    with session_scope() as s:
        user = service.get_by_username(session=s, username=target)
        assert (user.role, user.active, user.token_version) == (Role.reviewer, True, 3)


def test_the_last_admin_cannot_deactivate_themselves(client, as_role):
    me = as_role(Role.admin)
    with session_scope() as s:
        uid = service.get_by_username(session=s, username=me).id
    r = post(client, f"/console/admin/users/{uid}/active", active="0")
    assert "至少要保留一个启用的管理员账号" in client.get(r.headers["location"]).text


@pytest.fixture
def sandboxed(app_env, monkeypatch):
    with live.sandbox(app_env) as (base, state):
        monkeypatch.setenv("WECHAT_API_BASE", base)
        clear_caches()
        yield state


def test_anyone_binds_their_own_wechat_with_a_qr_code_shown_on_the_page(sandboxed, client, as_role):
    me = as_role(Role.analyst)
    r = post(client, "/console/account/binding")
    assert r.status_code == 303 and r.headers["location"].startswith("/console/account?code=")
    page = client.get(r.headers["location"]).text
    code = r.headers["location"].split("=", 1)[1]
    assert f'src="/console/account/binding/{code}/image"' in page and "10 分钟内有效" in page
    image = client.get(f"/console/account/binding/{code}/image")
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/")
    fragment = client.get(f"/console/account/wechat?code={code}").text
    assert "未绑定" in fragment and 'hx-trigger="every 2s"' in fragment
    with session_scope() as s:
        binding.redeem(session=s, scene=binding.SCENE_PREFIX + code, openid="oAnalystPhone00000000000001")
    fragment = client.get(f"/console/account/wechat?code={code}").text
    assert "已绑定" in fragment and "hx-trigger" not in fragment
    assert client.get(f"/console/account/binding/{code}/image").status_code == 404  # used
    with session_scope() as s:
        assert service.get_by_username(session=s, username=me).openid == "oAnalystPhone00000000000001"


def test_someone_elses_code_image_is_not_shown(sandboxed, client, as_role):
    as_role(Role.editor)
    code = post(client, "/console/account/binding").headers["location"].split("=", 1)[1]
    as_role(Role.editor)
    assert client.get(f"/console/account/binding/{code}/image").status_code == 404
    assert "binding/" not in client.get(f"/console/account?code={code}").text


def test_changing_ones_password_keeps_this_session_and_ends_the_others(client, as_role):
    me = as_role(Role.editor)
    old = client.cookies.get(sessions.COOKIE)
    other = client.__class__(client.app)
    assert sign_in(other, me).status_code == 303
    r = post(client, "/console/account/password", current_password=PASSWORD, new_password="password123")
    assert r.status_code == 422 and "太常见" in r.text
    r = post(client, "/console/account/password", current_password=PASSWORD, new_password="a fresh passphrase")
    assert r.status_code == 303
    assert "密码已修改" in client.get("/console/account").text and client.cookies.get(sessions.COOKIE) != old
    assert other.get("/console/", follow_redirects=False).status_code == 303
