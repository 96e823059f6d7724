"""The campaign flow the README documents, with the demo accounts alone: compose, test send, submit,
approve, launch, delivered, as the sandbox shows it."""
from __future__ import annotations

import time

import httpx
import pytest

from cli.seed import DEMO_PASSWORD, demo_openid, seed_demo
from staff.models import Role
from tests import live
from tests.conftest import clear_caches

pytestmark = pytest.mark.slow


def sign_in(api: httpx.Client, username: str) -> dict:
    r = api.post("/api/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_the_demo_accounts_take_a_campaign_from_compose_to_delivered(app_env, monkeypatch):
    from server import app

    with live.sandbox(app_env) as (base, state):
        env = {**app_env, "WECHAT_API_BASE": base, "PUSH_QUIET_HOURS": ""}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        clear_caches()
        list(seed_demo())
        with live.serve(app) as url, live.worker(env), httpx.Client(base_url=url, timeout=30) as api:
            editor, reviewer = sign_in(api, "demo-editor"), sign_in(api, "demo-reviewer")
            policy_id = api.get("/api/policies", headers=editor, params={"q": "政务公开"}).json()[0]["id"]
            r = api.post("/api/campaigns", headers=editor, json={
                "title": "2024年政务公开工作要点", "policy_id": policy_id, "segment_filter": {}})
            assert r.status_code == 201, r.text
            cid = r.json()["id"]
            sent = api.post(f"/api/campaigns/{cid}/test-send", headers=editor)
            assert sent.status_code == 200 and sent.json()["openid"] == demo_openid(Role.editor), sent.text
            assert state.sent(touser=demo_openid(Role.editor))[0]["kind"] == "template"
            assert api.post(f"/api/campaigns/{cid}/submit", headers=editor).json()["status"] == "submitted"
            assert api.post(f"/api/campaigns/{cid}/approve", headers=reviewer).json()["status"] == "approved"
            assert api.post(f"/api/campaigns/{cid}/launch", headers=editor).json()["status"] == "running"
            deadline = time.monotonic() + 60
            while (detail := api.get(f"/api/campaigns/{cid}", headers=editor).json())["status"] != "finished":
                assert time.monotonic() < deadline, detail
                time.sleep(0.5)
    reached = {role: [e for e in state.sent(touser=demo_openid(role)) if e["kind"] == "template"] for role in Role}
    assert all(reached.values()), reached  # every demo follower got the push (the editor also the test)
    assert len(reached[Role.editor]) == 2
