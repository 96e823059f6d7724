"""Console fixtures: staff of each role and a browser-like client signed in through the login form."""
from __future__ import annotations

import re
import uuid

import pytest

from core.db import session_scope
from staff import service as staff_service
from staff.models import Role

PASSWORD = "correct horse battery"


def make_staff(role: Role, openid: str | None = None) -> str:
    username = f"{role.value}-{uuid.uuid4().hex[:6]}"
    with session_scope() as session:
        staff_service.create_user(session=session, username=username, password=PASSWORD, role=role, openid=openid)
    return username


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    page = client.get("/console/login")
    return client.post("/console/login", data={"username": username, "password": password,
                                               "csrf_token": csrf_of(page.text), "next": "/console/"},
                       follow_redirects=False)


@pytest.fixture
def as_role(client):
    """as_role(Role.editor) -> (client signed in as a new staff member of that role, their username)."""
    def signed(role: Role, openid: str | None = None):
        username = make_staff(role, openid)
        client.cookies.clear()
        assert sign_in(client, username).status_code == 303
        return username

    return signed
