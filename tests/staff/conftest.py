"""Staff fixtures: accounts, sign-in through the API, and a clean slate for the sign-in throttle."""
from __future__ import annotations

import pytest

from core.db import session_scope
from core.settings import get_settings
from staff import service, throttle
from staff.models import Role

PASSWORD = "correct horse battery"
SANDBOX = "http://127.0.0.1:8121/cgi-bin/"


def make_user(role: Role, username: str | None = None, **values) -> None:
    with session_scope() as session:
        service.create_user(session=session, username=username or f"u-{role.value}", password=PASSWORD,
                            role=role, **values)


def token(client, username: str, password: str = PASSWORD):
    return client.post("/api/auth/token", data={"username": username, "password": password})


def bearer(client, role: Role) -> dict:
    make_user(role)
    return {"Authorization": f"Bearer {token(client, f'u-{role.value}').json()['access_token']}"}


def use_settings(monkeypatch, **env: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def fresh_throttle(monkeypatch):
    """The in-process fallback counts of one test are not the next one's."""
    monkeypatch.setattr(throttle, "_memory", throttle._Memory())
