"""Sign-in, the session cookie, CSRF, idle expiry and sign-out."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from console import sessions
from core.db import session_scope
from core.redis import get_redis
from staff.models import AuditEntry, Role
from tests.console.conftest import PASSWORD, csrf_of, make_staff, sign_in


def test_pages_need_a_sign_in_and_lead_back_after_it(client):
    r = client.get("/console/campaigns?status=draft", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login?next=/console/campaigns%3Fstatus%3Ddraft"
    username = make_staff(Role.editor)
    page = client.get(r.headers["location"])
    r = client.post("/console/login", follow_redirects=False, data={
        "username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text), "next": "/console/campaigns?status=draft"})
    assert r.status_code == 303 and r.headers["location"] == "/console/campaigns?status=draft"
    assert "推送" in client.get("/console/campaigns").text


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_only_over_https(client):
    username = make_staff(Role.editor)
    cookie = sign_in(client, username).headers["set-cookie"]
    assert "pp_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie
    client.cookies.clear()
    client.base_url = "https://testserver"
    cookie = sign_in(client, username).headers["set-cookie"]
    assert "Secure" in cookie


def test_a_wrong_password_is_refused_in_chinese_and_signs_nobody_in(client):
    username = make_staff(Role.editor)
    r = sign_in(client, username, "wrong password")
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    assert "pp_session" not in r.headers.get("set-cookie", "")
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_sign_in_without_the_login_forms_token_is_refused(client):
    username = make_staff(Role.editor)
    r = client.post("/console/login", data={"username": username, "password": PASSWORD, "csrf_token": "forged"},
                    follow_redirects=False)
    assert r.status_code == 403 and "pp_session" not in r.headers.get("set-cookie", "")


def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(client, as_role):
    as_role(Role.editor)
    form = {"title": "伪造的推送", "kind": "notice", "notice_text": "x"}
    r = client.post("/console/campaigns/new", data={**form, "csrf_token": "forged"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = client.post("/console/campaigns/new", data=form)
    assert r.status_code == 403
    assert "伪造的推送" not in client.get("/console/campaigns").text
    token = csrf_of(client.get("/console/campaigns/new").text)
    assert client.post("/console/campaigns/new", data={**form, "csrf_token": token},
                       follow_redirects=False).status_code == 303


def test_sign_in_and_out_are_audited_and_signing_out_ends_the_session_at_once(client, as_role):
    username = as_role(Role.analyst)
    old_cookie = client.cookies.get(sessions.COOKIE)
    page = client.get("/console/")
    r = client.post("/console/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    client.cookies.set(sessions.COOKIE, old_cookie)
    assert client.get("/console/", follow_redirects=False).status_code == 303
    with session_scope() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-2:] == ["auth.sign_in", "auth.sign_out"], username


def test_a_session_expires_after_the_idle_time_and_each_request_renews_it(client, as_role):
    as_role(Role.editor)
    key = sessions._key(client.cookies.get(sessions.COOKIE))
    r = get_redis()
    assert 0 < r.ttl(key) <= 30 * 60
    r.expire(key, 5)
    client.get("/console/")
    assert r.ttl(key) > 60  # renewed by the request
    r.delete(key)  # what the idle expiry does
    assert client.get("/console/", follow_redirects=False).headers["location"].startswith("/console/login")


def test_a_deactivated_account_is_signed_out_on_its_next_request(client, as_role):
    username = as_role(Role.editor)
    from staff.service import get_by_username

    with session_scope() as s:
        get_by_username(session=s, username=username).active = False
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_next_never_leads_to_another_site(client):
    username = make_staff(Role.editor)
    page = client.get("/console/login?next=//evil.example/x")
    r = client.post("/console/login", follow_redirects=False, data={
        "username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text), "next": "https://evil.example/"})
    assert r.headers["location"] == "/console/"


@pytest.mark.parametrize("path", ["/console/surveys/{}", "/console/campaigns/{}", "/console/questions/{}",
                                  "/console/knowledge/{}",
                                  "/console/policies/{}", "/console/enterprises/{}", "/console/segments/{}"])
def test_an_id_no_row_can_have_is_refused_not_a_server_error(client, as_role, path):
    from fastapi.testclient import TestClient

    from server import app

    as_role(Role.admin)
    with TestClient(app, raise_server_exceptions=False, cookies=client.cookies) as loose:
        for huge in (str(2**64), str(2**31)):
            r = loose.get(path.format(huge))
            assert r.status_code in (404, 422), (path, huge, r.status_code)
