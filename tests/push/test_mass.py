"""The mass_tag channel through real Celery workers and beat, real Redis, SQLite and PostgreSQL, against the
sandbox: one mass send per campaign to its WeChat tag, never a second one, WeChat's counts from the receipt."""
from __future__ import annotations

import time

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from core.db import get_engine, session_scope
from policies.models import Policy
from push import flows, mass, receipts, service
from push.models import Campaign, Channel, Delivery, PauseReason
from staff.models import Role
from staff.security import issue_token
from subscriptions import tags
from subscriptions.models import Park, WeChatTag
from tests.conftest import BACKENDS, TEST_WECHAT
from tests.push.conftest import (
    ENGINE_REDIS_URL,
    approved_campaign,
    campaign_status,
    engine_world,
    make_followers,
    make_park,
    make_staff,
    wait_for,
)
from wechat.client import get_client
from wechat.messages import Inbound

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=BACKENDS)
def mass_engine(request, tmp_path_factory):
    """The engine with no standing worker: each test starts its own (the crash test kills it)."""
    with engine_world(request.param, tmp_path_factory) as world:
        yield world


@pytest.fixture
def eng(mass_engine):
    mass_engine.state.reset()
    redis.Redis.from_url(ENGINE_REDIS_URL).delete(f"wechat:token:{TEST_WECHAT['WECHAT_APPID']}")
    started = len(mass_engine.procs)
    yield mass_engine
    for proc in mass_engine.procs[started:]:
        if proc.poll() is None:
            mass_engine.kill(proc)


@pytest.fixture
def worker(eng):
    return eng.start_worker("mass")


def tagged_parks(n: int = 5) -> tuple[int, list[str], list[str]]:
    """Two parks of n followers each, mirrored as WeChat tags by the tag sync; returns the first park's id
    and both parks' openids."""
    with session_scope() as s:
        park, other = make_park(s), make_park(s)
        ids = park.id, make_followers(s, park, n), make_followers(s, other, n)
    with session_scope() as s:
        tags.sync(session=s, client=get_client(), backoff=0.001)
    return ids


def approved_mass(park_id: int) -> Campaign:
    with session_scope() as s:
        return approved_campaign(s, park=s.get(Park, park_id), author=make_staff(s, Role.editor),
                                 reviewer=make_staff(s, Role.reviewer), channel=Channel.mass_tag, title="稳岗补贴政策")


def launch(campaign: Campaign) -> int:
    with session_scope() as s:
        launched = service.launch(session=s, campaign=s.get(Campaign, campaign.id))
    flows.after_launch(launched)
    return campaign.id


def campaign(campaign_id: int) -> Campaign:
    with session_scope() as s:
        return s.get(Campaign, campaign_id)


def mass_records(state) -> list[dict]:
    return [r for r in list(state.records) if r["kind"] == "mass"]


def finished(campaign_id: int, timeout: float = 60) -> bool:
    return bool(wait_for(lambda: campaign_status(campaign_id) == "finished", timeout))


def test_one_mass_send_reaches_the_tag_and_no_one_else(eng, worker):
    park_id, tagged, others = tagged_parks()
    cid = launch(approved_mass(park_id))
    assert finished(cid)
    time.sleep(2)  # beat ticks every second meanwhile: nothing calls again
    (sent,) = mass_records(eng.state)
    assert set(sent["touser"]) == set(tagged) and not set(sent["touser"]) & set(others)
    c = campaign(cid)
    with session_scope() as s:
        tag_id = s.scalar(select(WeChatTag.tag_id).where(WeChatTag.park_id == park_id))
        assert s.scalar(select(func.count()).select_from(Delivery).where(Delivery.campaign_id == cid)) == 0
    assert sent["body"]["filter"] == {"is_to_all": False, "tag_id": tag_id}
    assert sent["body"]["clientmsgid"] == f"pp-mass-{cid}" and sent["body"]["msgtype"] == "text"
    assert sent["text"].startswith("【稳岗补贴政策】") and f"http://policypush.test/p/{c.policy_id}" in sent["text"]
    assert c.mass_msg_id == sent["msgid"] and c.finished_at is not None and eng.state.stats["mass"] == 1


def test_the_receipt_brings_wechats_counts_to_the_campaign(eng, worker):
    from server import app

    park_id, tagged, _ = tagged_parks()
    eng.state.knobs.blocked, eng.state.knobs.unfollowed = {tagged[0]}, {tagged[1]}
    cid = launch(approved_mass(park_id))
    assert finished(cid)
    with session_scope() as s:
        analyst = make_staff(s, Role.analyst)
        headers = {"Authorization": f"Bearer {issue_token(analyst.id, analyst.role.value)}"}
    web = TestClient(app)
    before = web.get(f"/api/campaigns/{cid}", headers=headers).json()
    assert before["counts"]["targeted"] == 0 and before["mass_status"] is None
    (sent,) = mass_records(eng.state)
    receipts.record_receipt(Inbound.from_fields({
        "ToUserName": "gh_policypush", "FromUserName": "oSandboxMassSendSystem", "CreateTime": str(int(sent["at"])),
        "MsgType": "event", "Event": "MASSSENDJOBFINISH", "MsgID": str(sent["msgid"]), "Status": "send success",
        **{key: str(n) for key, n in sent["counts"].items()}}))
    detail = web.get(f"/api/campaigns/{cid}", headers=headers).json()
    counts = detail["counts"]
    assert detail["mass_status"] == "send success" and detail["mass_msg_id"] == sent["msgid"]
    assert (counts["targeted"], counts["sent"], counts["delivered"], counts["failed"], counts["skipped"]) == (5, 3, 3, 1, 1)
    stats = web.get(f"/api/campaigns/{cid}/stats", headers=headers).json()
    assert stats["counts"] == counts and stats["by_industry"] == []
    [park] = stats["by_park"]  # the tag's park, with WeChat's counts
    assert park["key"] == str(park_id) and (park["targeted"], park["sent"], park["delivered"]) == (5, 3, 3)


def test_a_mass_campaign_whose_park_was_deleted_has_counts_but_no_breakdown(eng):
    from push.stats import campaign_stats

    park_id, _, _ = tagged_parks(2)
    cid = approved_mass(park_id).id
    with session_scope() as s:
        assert [r.key for r in campaign_stats(session=s, campaign_id=cid).by_park] == [str(park_id)]
        s.delete(s.get(Park, park_id))
    with session_scope() as s:
        stats = campaign_stats(session=s, campaign_id=cid)
        assert stats.by_park == [] and stats.by_industry == [] and stats.counts.targeted == 0


def test_a_used_up_monthly_quota_stops_the_campaign_and_says_why(eng, worker):
    park_id, tagged, _ = tagged_parks()
    eng.state.knobs.mass_monthly_limit = 0
    cid = launch(approved_mass(park_id))
    assert wait_for(lambda: campaign_status(cid) == "paused")
    time.sleep(2)  # ticks: a stopped campaign is not tried again
    c = campaign(cid)
    assert c.pause_reason is PauseReason.stopped and "45028" in c.pause_detail and c.mass_started_at is None
    assert eng.state.errors[45028] == 1 and mass_records(eng.state) == []
    eng.state.knobs.mass_monthly_limit = 4  # a new month: staff resume
    with session_scope() as s:
        resumed = service.resume(session=s, campaign=s.get(Campaign, cid))
    flows.after_launch(resumed)
    assert finished(cid)
    assert [set(r["touser"]) for r in mass_records(eng.state)] == [set(tagged)]


def test_a_policy_changed_after_launch_is_not_mass_sent(eng, worker):
    park_id, _, _ = tagged_parks()
    c = approved_mass(park_id)
    with session_scope() as s:
        launched = service.launch(session=s, campaign=s.get(Campaign, c.id))
        s.get(Policy, c.policy_id).source_url = "https://www.hld.gov.cn/zwgk/changed.html"
    flows.after_launch(launched)
    assert wait_for(lambda: campaign_status(c.id) == "paused")
    time.sleep(2)  # ticks: it is not tried again
    stopped = campaign(c.id)
    assert stopped.pause_reason is PauseReason.changed and "审核后内容已变更" in stopped.pause_detail
    assert stopped.mass_started_at is None and mass_records(eng.state) == []


def test_busy_wechat_is_tried_again_then_the_campaign_stops_with_nothing_sent(eng, worker):
    park_id, _, _ = tagged_parks()
    eng.state.knobs.error_rate = 1.0
    cid = launch(approved_mass(park_id))
    assert wait_for(lambda: campaign_status(cid) == "paused")
    c = campaign(cid)
    assert c.pause_reason is PauseReason.stopped and "-1" in c.pause_detail and c.mass_started_at is None
    assert eng.state.stats["errors_injected"] == 6  # PUSH_MAX_ATTEMPTS tries
    assert mass_records(eng.state) == []


def test_a_send_wechat_already_took_is_not_made_again(eng, worker):
    """An earlier try whose answer was lost: WeChat knows the campaign's clientmsgid and names its msg_id."""
    park_id, _, _ = tagged_parks()
    c = approved_mass(park_id)
    with session_scope() as s:
        tag_id = s.scalar(select(WeChatTag.tag_id).where(WeChatTag.park_id == park_id))
    first = get_client().post("message/mass/sendall", data={
        "filter": {"is_to_all": False, "tag_id": tag_id}, "msgtype": "text", "text": {"content": "稳岗补贴政策"},
        "clientmsgid": mass.clientmsgid(c.id)})
    assert finished(launch(c))
    assert len(mass_records(eng.state)) == 1 and eng.state.errors[45065] == 1
    assert campaign(c.id).mass_msg_id == first["msg_id"]


def test_a_worker_killed_after_the_call_and_before_recording_it_is_never_called_again(eng, worker):
    park_id, tagged, _ = tagged_parks()
    eng.state.knobs.latency_ms = 1500  # the call takes long enough to hold the recording back before it ends
    cid = launch(approved_mass(park_id))
    assert wait_for(lambda: campaign(cid).mass_started_at is not None, 30)
    with get_engine().connect() as blocker:  # holds the campaign's row: the worker cannot record the answer
        blocker.execute(update(Campaign).where(Campaign.id == cid).values(title=Campaign.title))
        assert wait_for(lambda: mass_records(eng.state), 30)  # WeChat took the send ...
        time.sleep(0.5)
        eng.kill(worker)  # ... and the worker dies before writing its msg_id
        blocker.rollback()
    eng.state.knobs.latency_ms = 0
    eng.start_worker("after")  # the ticks go on
    assert finished(cid)  # once the lease (6 s) has passed
    time.sleep(2)
    c = campaign(cid)
    assert c.mass_msg_id is None and "MASSSENDJOBFINISH" in c.pause_detail
    (sent,) = mass_records(eng.state)
    assert set(sent["touser"]) == set(tagged) and eng.state.errors[45065] == 0
