"""Binding one's own WeChat by scanning a one-time QR code, in the sandbox's chat simulator."""
from __future__ import annotations

import httpx
import pytest

from core.redis import get_redis
from staff import binding
from staff.models import Role
from tests import live
from tests.conftest import clear_caches
from tests.staff.conftest import make_user, token

SCANNER = "oScanningFollower0000000001"


@pytest.fixture
def world(app_env, monkeypatch):
    """The app served on a port, the sandbox posting its followers' events to it; an editor signed in."""
    from server import app

    with live.serve(app) as url, live.sandbox(app_env, webhook_url=f"{url}/wechat") as (base, state):
        monkeypatch.setenv("WECHAT_API_BASE", base)
        clear_caches()
        make_user(Role.editor, "ed")
        with httpx.Client(base_url=url) as api, httpx.Client(base_url=base.removesuffix("/cgi-bin/")) as sandbox:
            headers = {"Authorization": f"Bearer {token(api, 'ed').json()['access_token']}"}
            yield api, headers, sandbox, state


def scan(sandbox, openid: str, ticket: str) -> httpx.Response:
    return sandbox.post(f"/sandbox/chat/{openid}/event", json={"event": "scan", "ticket": ticket})


def test_scanning_the_code_binds_the_scanners_openid_once(world):
    api, headers, sandbox, state = world
    assert api.get("/api/me", headers=headers).json()["openid"] is None
    code = api.post("/api/me/openid-binding", headers=headers)
    assert code.status_code == 201, code.text
    qr = state.qrcodes[code.json()["ticket"]]
    assert qr["action_name"] == "QR_STR_SCENE" and qr["scene"].startswith("staff:")  # temporary, WeChat expires it
    r = scan(sandbox, SCANNER, code.json()["ticket"])  # a newcomer: subscribe with qrscene_staff:...
    assert "已将此微信绑定到员工账号“ed”" in r.json()["reply"]["text"]
    assert api.get("/api/me", headers=headers).json()["openid"] == SCANNER
    again = scan(sandbox, "oSomebodyElse000000000000001", code.json()["ticket"])
    assert "已使用或已过期" in again.json()["reply"]["text"]
    assert api.get("/api/me", headers=headers).json()["openid"] == SCANNER


def test_an_existing_follower_scans_and_an_expired_code_binds_nobody(world):
    api, headers, sandbox, _ = world
    sandbox.post(f"/sandbox/chat/{SCANNER}/event", json={"event": "subscribe"})
    first = api.post("/api/me/openid-binding", headers=headers).json()
    token_part = state_token(first)
    assert 0 < get_redis().ttl(binding.KEY + token_part) <= binding.LIFETIME
    get_redis().delete(binding.KEY + token_part)  # what the expiry does
    assert "已使用或已过期" in scan(sandbox, SCANNER, first["ticket"]).json()["reply"]["text"]
    assert api.get("/api/me", headers=headers).json()["openid"] is None
    second = api.post("/api/me/openid-binding", headers=headers).json()
    r = scan(sandbox, SCANNER, second["ticket"])  # a follower already: SCAN with the scene
    assert r.json()["sent"]["body"]["Event"] == "SCAN" and "已将此微信绑定" in r.json()["reply"]["text"]
    assert api.get("/api/me", headers=headers).json()["openid"] == SCANNER


def state_token(code: dict) -> str:
    keys = [k for k in get_redis().scan_iter(binding.KEY + "*") if get_redis().hget(k, "ticket") == code["ticket"]]
    return keys[0].removeprefix(binding.KEY)


def test_a_deactivated_accounts_code_binds_nothing(world):
    api, headers, sandbox, _ = world
    code = api.post("/api/me/openid-binding", headers=headers).json()
    from core.db import session_scope
    from staff import service

    with session_scope() as s:
        service.set_active(session=s, user=service.get_by_username(session=s, username="ed"), active=False)
    assert "已使用或已过期" in scan(sandbox, SCANNER, code["ticket"]).json()["reply"]["text"]
