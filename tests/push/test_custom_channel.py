"""The customer-service channel within WeChat's allowance: a follower whose allowance is used up or
closed is reached by a template message instead. A batch runs in this process against the sandbox."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.redis import get_redis
from core.settings import get_settings
from push import delivery, flows, service
from push.models import Channel, Delivery, DeliveryStatus
from push.ratelimit import TokenBucket
from staff.models import Role
from tests import live
from tests.bot.conftest import say
from tests.conftest import clear_caches
from tests.push.conftest import approved_campaign, make_followers, make_park, make_staff
from wechat import allowance
from wechat.client import get_client


@pytest.fixture
def world(client, app_env, monkeypatch):
    with live.sandbox(app_env, receipts=False) as (base, state):
        monkeypatch.setenv("WECHAT_API_BASE", base)
        monkeypatch.setenv("PUSH_QUIET_HOURS", "")
        clear_caches()
        yield client, state


def run_custom_campaign(park) -> int:
    with session_scope() as s:
        campaign = approved_campaign(s, park=park, author=make_staff(s, Role.editor),
                                     reviewer=make_staff(s, Role.reviewer), channel=Channel.custom)
        service.launch(session=s, campaign=campaign)
    assert flows.write_all_recipients(campaign.id)
    settings = get_settings()
    delivery.run_batch(campaign_id=campaign.id, token="t", opts=delivery.Options.from_settings(settings),
                       client=get_client(), bucket=TokenBucket(get_redis(), rate=settings.push_rate))
    return campaign.id


def test_followers_without_an_allowance_get_the_push_as_a_template_message(world):
    client, state = world
    with session_scope() as s:
        park = make_park(s)
        wrote, used_up, silent = make_followers(s, park, 3)
    say(client, wrote, "你好")
    say(client, used_up, "你好")
    for _ in range(allowance.MESSAGE_COUNT):  # five late answers, say, since their message
        allowance.take(get_redis(), used_up)
    cid = run_custom_campaign(park)
    kinds = {o: [e["kind"] for e in state.sent(touser=o)] for o in (wrote, used_up, silent)}
    assert kinds == {wrote: ["custom"], used_up: ["template"], silent: ["template"]}
    with session_scope() as s:
        rows = {r.openid: r for r in s.scalars(select(Delivery).where(Delivery.campaign_id == cid))}
    assert {r.status for r in rows.values()} == {DeliveryStatus.sent}
    assert rows[wrote].reason is None and rows[wrote].msgid is None
    assert "45047" in rows[used_up].reason and rows[used_up].msgid
    assert "45015" in rows[silent].reason


def test_wechats_45047_is_believed_over_our_count(world):
    """Messages sent outside this system (WeChat's own customer-service tools) count too."""
    client, state = world
    with session_scope() as s:
        park = make_park(s)
        [follower] = make_followers(s, park, 1)
    say(client, follower, "你好")
    state.note_activity(follower, "text")  # the sandbox saw the message as well ...
    state.allowances[(follower, "message")].left = 0  # ... and five sent from elsewhere
    run_custom_campaign(park)
    assert [e["kind"] for e in state.sent(touser=follower)] == ["template"]
    with pytest.raises(allowance.Refused) as refused:
        allowance.take(get_redis(), follower)
    assert refused.value.errcode == 45047
