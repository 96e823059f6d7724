"""Staff accounts through the API: list, edit role, deactivate and reactivate, reset password (admins)."""
from __future__ import annotations

from sqlalchemy import select

from core.db import session_scope
from staff.models import AuditEntry, Role
from tests.staff.conftest import PASSWORD, bearer, make_user, token

NEW = "a brand new passphrase"


def user_id(client, headers, username: str) -> int:
    return next(u["id"] for u in client.get("/api/users", headers=headers).json() if u["username"] == username)


def test_admins_list_accounts_and_others_may_not(client):
    admin = bearer(client, Role.admin)
    make_user(Role.editor, "ed", openid="oEditor00000000000000000001")
    listed = client.get("/api/users", headers=admin).json()
    assert [(u["username"], u["role"], u["active"], u["demo"]) for u in listed] == [
        ("u-admin", "admin", True, False), ("ed", "editor", True, False)]
    editor = {"Authorization": f"Bearer {token(client, 'ed').json()['access_token']}"}
    assert client.get("/api/users", headers=editor).status_code == 403
    assert client.patch(f"/api/users/{listed[0]['id']}", headers=editor, json={"role": "editor"}).status_code == 403
    assert client.get("/api/users/999999", headers=admin).status_code == 404


def test_an_admin_changes_a_role_and_it_is_audited(client):
    admin = bearer(client, Role.admin)
    make_user(Role.editor, "ed")
    uid = user_id(client, admin, "ed")
    r = client.patch(f"/api/users/{uid}", headers=admin, json={"role": "reviewer"})
    assert r.status_code == 200 and r.json()["role"] == "reviewer"
    assert client.patch(f"/api/users/{uid}", headers=admin, json={"role": None}).status_code == 422
    assert client.patch(f"/api/users/{uid}", headers=admin, json={"role": "king"}).status_code == 422
    with session_scope() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "user.update")).one()
    assert entry.target == f"user:{uid}" and entry.detail == {
        "before": {"role": "editor", "active": True}, "after": {"role": "reviewer", "active": True}}


def test_deactivating_signs_the_account_out_and_reactivating_lets_it_sign_in_again(client):
    admin = bearer(client, Role.admin)
    make_user(Role.editor, "ed")
    uid = user_id(client, admin, "ed")
    headers = {"Authorization": f"Bearer {token(client, 'ed').json()['access_token']}"}
    assert client.patch(f"/api/users/{uid}", headers=admin, json={"active": False}).json()["active"] is False
    assert client.get("/api/me", headers=headers).status_code == 401
    assert token(client, "ed").status_code == 401
    assert client.patch(f"/api/users/{uid}", headers=admin, json={"active": True}).json()["active"] is True
    assert client.get("/api/me", headers=headers).status_code == 401  # the old token stays revoked
    assert token(client, "ed").status_code == 200


def test_the_last_active_admin_cannot_be_deactivated_or_demoted(client):
    admin = bearer(client, Role.admin)
    me = client.get("/api/me", headers=admin).json()["id"]
    for change in ({"active": False}, {"role": "editor"}):
        r = client.patch(f"/api/users/{me}", headers=admin, json=change)
        assert r.status_code == 409 and r.json()["detail"] == "至少要保留一个启用的管理员账号"
    make_user(Role.admin, "second-admin")
    assert client.patch(f"/api/users/{me}", headers=admin, json={"role": "editor"}).status_code == 200


def test_an_admin_resets_a_password_under_the_policy_and_it_ends_the_accounts_sessions(client):
    admin = bearer(client, Role.admin)
    make_user(Role.editor, "ed")
    uid = user_id(client, admin, "ed")
    headers = {"Authorization": f"Bearer {token(client, 'ed').json()['access_token']}"}
    r = client.post(f"/api/users/{uid}/password", headers=admin, json={"password": "ed"})
    assert r.status_code == 422 and "至少需要" in r.json()["detail"]
    assert token(client, "ed").status_code == 200  # unchanged
    assert client.post(f"/api/users/{uid}/password", headers=admin, json={"password": NEW}).status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401
    assert token(client, "ed", PASSWORD).status_code == 401 and token(client, "ed", NEW).status_code == 200
    with session_scope() as s:
        assert "user.password_reset" in s.scalars(select(AuditEntry.action).where(AuditEntry.target == f"user:{uid}")).all()
