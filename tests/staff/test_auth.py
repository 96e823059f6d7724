import pytest
from typer.testing import CliRunner

from cli.main import app as cli
from core.db import session_scope
from server import app
from staff import service
from staff.models import AuditEntry, Role, StaffUser
from tests.staff.conftest import PASSWORD, bearer, make_user, token


def test_password_is_hashed_with_argon2(client):
    make_user(Role.editor, "ed")
    with session_scope() as session:
        stored = service.get_by_username(session=session, username="ed").password_hash
    assert PASSWORD not in stored and stored.startswith("$argon2")


def test_sign_in_returns_a_bearer_token_that_works(client):
    make_user(Role.analyst, "ana")
    r = token(client, "ana")
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    me = client.get("/api/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["username"] == "ana" and me.json()["role"] == "analyst"


@pytest.mark.parametrize("username, password", [("ana", "wrong password"), ("nobody", PASSWORD), ("", "")])
def test_wrong_credentials_are_401(client, username, password):
    make_user(Role.analyst, "ana")
    assert token(client, username, password).status_code in (401, 422)


def test_deactivated_user_cannot_sign_in_or_use_a_token(client):
    make_user(Role.editor, "gone")
    headers = {"Authorization": f"Bearer {token(client, 'gone').json()['access_token']}"}
    with session_scope() as session:
        service.get_by_username(session=session, username="gone").active = False
    assert token(client, "gone").status_code == 401
    assert client.get("/api/me", headers=headers).status_code == 401


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "Basic dXNlcjpwYXNz"])
def test_bad_tokens_are_401(client, header):
    assert client.get("/api/me", headers={"Authorization": header}).status_code == 401


def api_routes():
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api/") and path != "/api/auth/token":
            for method in operations:
                yield method.upper(), path.replace("{", "").replace("}", "")


def test_every_api_route_but_sign_in_refuses_anonymous_calls(client):
    routes = list(api_routes())
    assert routes
    for method, path in routes:
        assert client.request(method, path).status_code == 401, (method, path)


def test_admin_only_routes_refuse_other_roles(client):
    headers = bearer(client, Role.editor)
    assert client.get("/api/audit", headers=headers).status_code == 403
    r = client.post("/api/users", headers=headers, json={"username": "x", "password": PASSWORD, "role": "admin"})
    assert r.status_code == 403


def test_admin_creates_users_and_it_is_audited(client):
    headers = bearer(client, Role.admin)
    r = client.post("/api/users", headers=headers, json={"username": "rev", "password": PASSWORD, "role": "reviewer"})
    assert r.status_code == 201 and r.json()["role"] == "reviewer"
    again = client.post("/api/users", headers=headers, json={"username": "rev", "password": PASSWORD, "role": "reviewer"})
    assert again.status_code == 409
    actions = [e["action"] for e in client.get("/api/audit", headers=headers).json()]
    assert actions[0] == "user.create" and "auth.sign_in" in actions


def test_user_create_validates_input(client):
    headers = bearer(client, Role.admin)
    for body in ({"username": "x", "password": "short", "role": "editor"},
                 {"username": "x", "password": PASSWORD, "role": "boss"},
                 {"username": "", "password": PASSWORD, "role": "editor"}):
        assert client.post("/api/users", headers=headers, json=body).status_code == 422


def test_service_refuses_bad_accounts(session):
    with pytest.raises(service.Invalid, match="至少需要 10 个字符"):
        service.create_user(session=session, username="a", password="short", role="editor")
    with pytest.raises(service.Invalid, match="未知的角色"):
        service.create_user(session=session, username="a", password=PASSWORD, role="boss")
    service.create_user(session=session, username="a", password=PASSWORD, role="editor")
    with pytest.raises(service.Conflict, match="已存在"):
        service.create_user(session=session, username="a", password=PASSWORD, role="editor")


def test_cli_creates_a_user_and_prompts_for_the_password(client):
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "create", "cli-ed", "--role", "editor"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert token(client, "cli-ed").status_code == 200
    with session_scope() as session:
        assert session.query(AuditEntry).filter_by(action="user.create").count() == 1


def test_cli_records_who_asked_for_the_account(client):
    with session_scope() as session:
        admin = service.create_user(session=session, username="boss", password=PASSWORD, role="admin")
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "create", "rev", "--role", "reviewer", "--password", PASSWORD, "--by", "nobody"])
    assert r.exit_code == 1 and "创建人账号不存在" in r.output
    r = runner.invoke(cli, ["user", "create", "rev", "--role", "reviewer", "--password", PASSWORD, "--by", "boss"])
    assert r.exit_code == 0, r.output
    with session_scope() as session:
        assert service.get_by_username(session=session, username="rev").created_by_id == admin.id
        entry = session.query(AuditEntry).filter_by(action="user.create").one()
        assert entry.actor_id == admin.id


def test_cli_reports_errors_and_creates_nothing(client):
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "create", "x", "--role", "editor", "--password", "short"])
    assert r.exit_code == 1 and "至少需要" in r.output
    r = runner.invoke(cli, ["user", "create", "x", "--role", "king", "--password", PASSWORD])
    assert r.exit_code == 2
    with session_scope() as session:
        assert session.query(StaffUser).count() == 0
