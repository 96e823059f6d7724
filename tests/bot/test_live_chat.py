"""Followers in the sandbox's chat simulator talking to the real webhook (served on a real port)."""
import httpx
import pytest

from bot import menu
from tests import live


@pytest.fixture
def simulator(client, app_env):
    """POST {simulator}/{openid}/text|event as a follower; the sandbox posts to the app's webhook."""
    with live.serve(client.app) as url, live.sandbox(app_env, webhook_url=f"{url}/wechat") as (base, state):
        yield base.removesuffix("/cgi-bin/") + "/sandbox/chat", state


def test_a_newcomer_who_types_before_following_is_welcomed_on_follow(simulator):
    chat, _ = simulator
    typed = httpx.post(f"{chat}/oNewcomer01/text", json={"content": "帮助"}, timeout=10).json()
    assert typed["reply"]["text"] == menu.HELP
    followed = httpx.post(f"{chat}/oNewcomer01/event", json={"event": "subscribe"}, timeout=10)
    assert followed.status_code == 200 and followed.json()["reply"]["text"] == menu.WELCOME
