"""Tokens and console sessions end with sign-out, a new password and deactivation."""
from __future__ import annotations

from console import sessions
from core.db import session_scope
from staff import service
from staff.models import Role
from tests.console.conftest import sign_in as console_sign_in
from tests.staff.conftest import PASSWORD, make_user, token

NEW = "a new and better passphrase"


def auth(r) -> dict:
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_sign_out_revokes_the_token(client):
    make_user(Role.editor, "ed")
    headers = auth(token(client, "ed"))
    assert client.get("/api/me", headers=headers).status_code == 200
    assert client.post("/api/auth/sign-out", headers=headers).status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401
    assert client.get("/api/me", headers=auth(token(client, "ed"))).status_code == 200  # a new sign-in works


def test_a_password_change_revokes_every_earlier_token_and_console_session(client):
    make_user(Role.editor, "ed")
    first, second = auth(token(client, "ed")), auth(token(client, "ed"))
    assert console_sign_in(client, "ed").status_code == 303
    r = client.post("/api/me/password", headers=first, json={"current_password": PASSWORD, "new_password": NEW})
    assert r.status_code == 200
    assert client.get("/api/me", headers=first).status_code == 401
    assert client.get("/api/me", headers=second).status_code == 401
    assert client.get("/console/", follow_redirects=False).status_code == 303  # the console session too
    assert client.get("/api/me", headers=auth(r)).status_code == 200  # the token the change answered
    assert token(client, "ed").status_code == 401 and token(client, "ed", NEW).status_code == 200


def test_deactivation_revokes_tokens_for_good(client):
    make_user(Role.editor, "ed")
    headers = auth(token(client, "ed"))
    with session_scope() as session:
        user = service.get_by_username(session=session, username="ed")
        service.set_active(session=session, user=user, active=False)
    assert client.get("/api/me", headers=headers).status_code == 401
    with session_scope() as session:
        user = service.get_by_username(session=session, username="ed")
        service.set_active(session=session, user=user, active=True)
    assert client.get("/api/me", headers=headers).status_code == 401  # reactivating brings no old token back
    assert token(client, "ed").status_code == 200


def test_a_console_session_from_before_a_revocation_is_ended(client):
    make_user(Role.editor, "ed")
    assert console_sign_in(client, "ed").status_code == 303
    live = sessions.load(client.cookies.get(sessions.COOKIE))
    with session_scope() as session:
        service.revoke_tokens(session=session, user=service.get_by_username(session=session, username="ed"))
    assert client.get("/console/", follow_redirects=False).status_code == 303
    assert live.version == 1
