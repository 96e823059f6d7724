"""Usernames have one spelling; passwords follow the policy wherever they are set."""
from __future__ import annotations

import pytest

from staff import passwords, service, usernames
from staff.models import Role
from tests.staff.conftest import PASSWORD, bearer, make_user, token


@pytest.mark.parametrize("spelling", ["DEMO-ADMIN", "ｄｅｍｏ－ａｄｍｉｎ", " demo-admin ", "Demo-Admin"])
def test_another_spelling_of_a_taken_name_is_taken(session, spelling):
    service.create_user(session=session, username="demo-admin", password=PASSWORD, role="admin")
    with pytest.raises(service.Conflict, match="已存在"):
        service.create_user(session=session, username=spelling, password=PASSWORD, role="editor")


@pytest.mark.parametrize("name", ["demo-admin\u200b", "\u200ddemo", "de\u00admo", "demo\u202e", "\ufeffdemo"])
def test_invisible_characters_are_refused_in_new_names(session, name):
    with pytest.raises(service.Invalid, match="不可见字符"):
        service.create_user(session=session, username=name, password=PASSWORD, role="editor")


@pytest.mark.parametrize("name, message", [("two words", "只能包含"), ("a<b>", "只能包含"), ("\u3000", "不能为空")])
def test_other_odd_names_are_refused(session, name, message):
    with pytest.raises(service.Invalid, match=message):
        service.create_user(session=session, username=name, password=PASSWORD, role="editor")


def test_names_are_stored_folded_and_sign_in_folds_alike(client):
    make_user(Role.editor, "Zhang.San")
    for typed in ("zhang.san", "ZHANG.SAN", "Ｚｈａｎｇ.Ｓａｎ", "zhang.san\u200b", " zhang.san"):
        assert token(client, typed).status_code == 200, typed
    assert usernames.canonical("Straße") == "strasse"


@pytest.mark.parametrize("password, message", [
    ("short-1", "至少需要 10 个字符"), ("password", "至少需要"), ("12345678", "至少需要"),
    ("1234567890", "太常见"), ("qwertyuiop", "太常见"), ("Password123", "太常见"), ("woaini1314", "太常见"),
    ("zhangsan.gov", "用户名"), ("ZHANGSAN.GOV-2024!", "包含用户名"), ("x" * 257, "最多")])
def test_the_password_policy(session, password, message):
    with pytest.raises(service.Invalid, match=message):
        service.create_user(session=session, username="zhangsan.gov", password=password, role="editor")


def test_the_minimum_length_is_a_setting(session, monkeypatch):
    from core.settings import get_settings

    monkeypatch.setenv("PASSWORD_MIN_LENGTH", "16")
    get_settings.cache_clear()
    with pytest.raises(service.Invalid, match="至少需要 16 个字符"):
        service.create_user(session=session, username="ed", password="fifteen-chars-x", role="editor")
    get_settings.cache_clear()


def test_the_common_list_ships_with_the_code():
    common = passwords.common_passwords()
    assert len(common) > 3000 and {"password", "12345678", "qwertyuiop", "1qaz2wsx"} <= common


def test_the_api_refuses_a_weak_password_in_chinese_and_creates_nothing(client):
    headers = bearer(client, Role.admin)
    r = client.post("/api/users", headers=headers, json={"username": "rev", "password": "12345678", "role": "reviewer"})
    assert r.status_code == 422 and r.json()["detail"] == "密码至少需要 10 个字符"
    r = client.post("/api/users", headers=headers, json={"username": "U-ADMIN", "password": PASSWORD, "role": "editor"})
    assert r.status_code == 409
    assert [u["username"] for u in [client.get("/api/me", headers=headers).json()]] == ["u-admin"]


def test_changing_ones_password_follows_the_policy(client):
    headers = bearer(client, Role.editor)
    change = {"current_password": PASSWORD, "new_password": "password123"}
    r = client.post("/api/me/password", headers=headers, json=change)
    assert r.status_code == 422 and "太常见" in r.json()["detail"]
    r = client.post("/api/me/password", headers=headers, json={**change, "current_password": "wrong one"})
    assert r.status_code == 422 and r.json()["detail"] == "当前密码不正确"
    assert token(client, "u-editor").status_code == 200  # unchanged
