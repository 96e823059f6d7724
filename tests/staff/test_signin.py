"""What every sign-in, by the API or the console, shares: the audit of refusals, the same work for
unknown and known names, and demo accounts only against the sandbox."""
from __future__ import annotations

import statistics
import time

from sqlalchemy import select

from cli.seed import seed_demo
from core.db import session_scope
from staff import service
from staff.models import AuditEntry, Role, StaffUser
from tests.console.conftest import sign_in as console_sign_in
from tests.staff.conftest import PASSWORD, SANDBOX, make_user, token, use_settings


def entries(action: str | None = None) -> list[AuditEntry]:
    with session_scope() as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        return list(session.scalars(query.where(AuditEntry.action == action) if action else query))


def test_a_failed_sign_in_is_audited_once_with_name_address_and_reason(client):
    make_user(Role.editor, "ed")
    assert token(client, "ED", "wrong password").status_code == 401
    (entry,) = entries()
    assert entry.action == "auth.sign_in_failed" and entry.actor_id is None and entry.target.startswith("user:")
    assert entry.detail == {"username": "ed", "reason": "wrong_password", "address": "testclient", "channel": "api"}


def test_an_unknown_name_is_audited_masked_since_it_may_be_a_password(client):
    assert token(client, "Tr0ub4dor&3-typed-here", "x").status_code == 401
    (entry,) = entries("auth.sign_in_failed")
    assert entry.detail["reason"] == "unknown_user" and entry.target is None
    assert entry.detail["username"] == "tr***（22 个字符）"


def test_the_failure_that_starts_a_lockout_says_how_long_and_refusals_meanwhile_are_not_logged(client):
    make_user(Role.editor, "ed")
    for _ in range(7):
        token(client, "ed", "wrong password")
    failed = entries("auth.sign_in_failed")
    assert len(failed) == 5 and failed[-1].detail["locked_seconds"] == 1


def test_a_deactivated_account_is_refused_as_a_wrong_password_and_audited(client):
    make_user(Role.editor, "gone")
    with session_scope() as session:
        service.get_by_username(session=session, username="gone").active = False
    r = token(client, "gone")
    assert r.status_code == 401 and r.json()["detail"] == "用户名或密码错误"
    assert entries("auth.sign_in_failed")[0].detail["reason"] == "inactive"


def test_the_console_signs_in_through_the_same_code(client):
    make_user(Role.editor, "ed")
    r = console_sign_in(client, "ed", "wrong password")
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    assert console_sign_in(client, "ED", PASSWORD).status_code == 303
    assert [(e.action, e.detail["channel"]) for e in entries()] == [
        ("auth.sign_in_failed", "console"), ("auth.sign_in", "console")]  # once each


def test_the_console_is_throttled_with_the_api_and_says_so_in_chinese(client):
    make_user(Role.editor, "ed")
    for _ in range(5):
        token(client, "ed", "wrong password")
    r = console_sign_in(client, "ed", PASSWORD)
    assert r.status_code == 429 and "登录失败次数过多，请 1 秒后再试" in r.text and r.headers["Retry-After"] == "1"
    assert "pp_session" not in r.headers.get("set-cookie", "")


def test_an_unknown_name_takes_as_long_as_a_known_one(client):
    make_user(Role.editor, "ed")

    def median(username: str) -> float:
        times = []
        for _ in range(7):
            with session_scope() as session:
                started = time.perf_counter()
                service.authenticate(session=session, username=username, password="wrong password")
                times.append(time.perf_counter() - started)
        return statistics.median(times)

    known, unknown = median("ed"), median("nobody-at-all")
    assert unknown > known / 3, (known, unknown)  # was 35 times faster: no hash was checked


def test_demo_accounts_are_seeded_only_against_the_sandbox(app_env, monkeypatch):
    lines = list(seed_demo())
    assert any("no demo staff accounts" in line for line in lines)
    with session_scope() as session:
        assert session.query(StaffUser).count() == 0
    use_settings(monkeypatch, WECHAT_API_BASE=SANDBOX)
    assert any("demo-admin" in line for line in list(seed_demo()))
    with session_scope() as session:
        demo = session.scalars(select(StaffUser)).all()
    assert sorted(u.username for u in demo) == ["demo-admin", "demo-analyst", "demo-editor", "demo-reviewer"]
    assert all(u.demo for u in demo)


def test_a_demo_account_cannot_sign_in_once_the_real_api_is_configured(client, monkeypatch):
    use_settings(monkeypatch, WECHAT_API_BASE=SANDBOX)
    make_user(Role.admin, "demo-admin", demo=True)
    assert token(client, "demo-admin").status_code == 200
    use_settings(monkeypatch, WECHAT_API_BASE="https://api.weixin.qq.com/cgi-bin/")
    r = token(client, "demo-admin")
    assert r.status_code == 403 and "沙箱" in r.json()["detail"]
    assert entries("auth.sign_in_failed")[-1].detail["reason"] == "demo_account"
    assert console_sign_in(client, "demo-admin", PASSWORD).status_code == 403
