"""A public survey through WeChat's web authorisation, against the sandbox: the openid without a prompt,
codes single-use, each follower answers once."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.db import session_scope
from subscriptions.models import Follower
from tests import live
from tests.conftest import clear_caches
from tests.surveys.test_chat import _open

OPENID = "oSurveyForm00001"


@pytest.fixture
def world(app_env, monkeypatch):
    with live.sandbox(app_env) as (base, state):
        monkeypatch.setenv("WECHAT_API_BASE", base)
        clear_caches()
        from fastapi.testclient import TestClient

        from server import app

        with TestClient(app) as client, httpx.Client(base_url=base.removesuffix("/cgi-bin/")) as wechat:
            yield client, wechat


def _through_wechat(client, wechat, survey_id, openid=OPENID):
    """What the follower's WeChat browser does: open the link, follow the authorisation redirect back."""
    entry = client.get(f"/survey/{survey_id}", follow_redirects=False)
    assert entry.status_code == 302
    authorize = entry.headers["location"]
    assert authorize.startswith(str(wechat.base_url)) and authorize.endswith("#wechat_redirect")
    assert parse_qs(urlsplit(authorize).query)["scope"] == ["snsapi_base"]
    wechat.get("/sandbox/open", params={"openid": openid, "url": "http://localhost/"})  # the cookie
    back = wechat.get(authorize.split("#")[0], follow_redirects=False)
    assert back.status_code == 302
    callback = urlsplit(back.headers["location"])
    return client.get(f"{callback.path}?{callback.query}", follow_redirects=False), callback


def test_a_public_survey_knows_who_answers_without_a_prompt(world):
    client, wechat = world
    survey_id = _open()
    with session_scope() as s:
        s.add(Follower(openid=OPENID))
    first, callback = _through_wechat(client, wechat, survey_id)
    assert first.status_code == 303 and first.headers["location"].startswith("/s/")
    assert "您是否了解该政策？" in client.get(first.headers["location"]).text
    replay = client.get(f"{callback.path}?{callback.query}")  # the same code again
    assert replay.status_code == 400 and "授权已失效" in replay.text
    again, _ = _through_wechat(client, wechat, survey_id)
    assert again.headers["location"] == first.headers["location"]  # the same recipient: answers once


def test_a_stranger_and_a_forged_code_are_told_so(world):
    client, wechat = world
    survey_id = _open()
    stranger, _ = _through_wechat(client, wechat, survey_id, openid="oNeverFollowed01")
    assert stranger.status_code == 403 and "请先关注公众号" in stranger.text
    forged = client.get(f"/survey/authorized?code=forged&state={survey_id}")
    assert forged.status_code == 400
    assert client.get("/survey/authorized?code=x&state=abc").status_code == 404
    assert client.get("/survey/999999").status_code == 404
    direct = wechat.get("/connect/oauth2/authorize", params={
        "appid": "wxsandbox00000001", "redirect_uri": "http://x/", "response_type": "code", "scope": "snsapi_base"})
    assert direct.status_code in (400, 403)  # not opened in WeChat (no follower), or a wrong appid
