"""The delivery engine through real Celery workers and beat, real Redis, SQLite and PostgreSQL, against
the sandbox: exactly once per follower, crash safety, error codes, quiet hours, skips at send time."""
from __future__ import annotations

import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, update

from core.db import session_scope, utcnow
from policies.models import Policy
from push import flows, schedule, service
from push.exceptions import WrongState
from push.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, PauseReason
from sandbox.templates import DEFAULT_TEMPLATES
from staff.models import Role
from subscriptions.models import Follower, FollowerState
from tests.push.conftest import (
    approved_campaign,
    campaign_status,
    make_followers,
    make_park,
    make_staff,
    template_records,
    wait_for,
)

pytestmark = pytest.mark.slow
D = DeliveryStatus


def launch(n: int, *, go: bool = True, **values) -> tuple[int, list[str]]:
    """n followers in a new park and an approved, launched campaign for them."""
    with session_scope() as s:
        park = make_park(s)
        openids = make_followers(s, park, n)
        author, reviewer = make_staff(s, Role.editor), make_staff(s, Role.reviewer)
        campaign = approved_campaign(s, park=park, author=author, reviewer=reviewer, **values)
        service.launch(session=s, campaign=campaign)
    if go:
        flows.after_launch(campaign)
    return campaign.id, openids


def deliveries(campaign_id: int) -> list[Delivery]:
    with session_scope() as s:
        return list(s.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id).order_by(Delivery.id)))


def finished(campaign_id: int, timeout: float = 90) -> bool:
    return bool(wait_for(lambda: campaign_status(campaign_id) == "finished", timeout))


def test_every_follower_gets_exactly_one_message_and_the_token_is_fetched_once(eng):
    second = eng.start_worker("w2")
    try:
        cid, openids = launch(600)
        assert finished(cid)
    finally:
        eng.kill(second)
    sent = template_records(eng.state, openids)
    assert len(sent) == 600 and set(sent.values()) == {1}
    assert eng.state.stats["tokens_issued"] == 1, (dict(eng.state.errors), dict(eng.state.stats), [e - eng.state.started_at for e in eng.state.tokens.values()])  # two workers, four processes, one shared token
    rows = deliveries(cid)
    assert {r.status for r in rows} == {D.sent}
    assert all(r.msgid and r.client_msg_id == f"pp-{cid}-{r.follower_id}" for r in rows)
    record = next(r for r in eng.state.records if r["kind"] == "template" and r["touser"] == openids[0])
    assert record["body"]["client_msg_id"] == rows[0].client_msg_id
    assert record["body"]["url"].startswith("http://policypush.test/t/")
    with session_scope() as s:
        c = s.get(Campaign, cid)
        assert c.targeted == 600 and c.finished_at is not None


def test_a_worker_killed_mid_campaign_loses_nothing_and_sends_nothing_twice(eng):
    """SIGKILL on a worker's whole process group while it sends; another takes over."""
    eng.state.knobs.latency_ms = 50
    doomed = eng.start_worker("doomed")
    cid, openids = launch(3000)
    assert wait_for(lambda: len(template_records(eng.state, openids)) >= 600, 60)
    eng.kill(doomed)
    with session_scope() as s:
        claimed = s.scalar(select(Delivery.id).where(Delivery.campaign_id == cid, Delivery.status == D.claimed))
    assert finished(cid, 180)
    sent = template_records(eng.state, openids)
    assert len(sent) == 3000, f"{3000 - len(sent)} followers got nothing"
    assert max(sent.values()) == 1, f"duplicates: {[o for o, n in sent.items() if n > 1][:5]}"
    rows = deliveries(cid)
    assert all(r.status is D.sent for r in rows), {r.status for r in rows}
    print(f"claimed at kill: {claimed is not None}; re-sends answered by client_msg_id: "
          f"{eng.state.stats['template_deduped']}")


def test_busy_wechat_is_retried_until_every_message_is_out(eng):
    eng.state.knobs.error_rate = 0.3
    cid, openids = launch(300)
    assert finished(cid)
    sent = template_records(eng.state, openids)
    assert len(sent) == 300 and set(sent.values()) == {1}
    assert eng.state.stats["errors_injected"] > 50
    assert max(r.attempts for r in deliveries(cid)) >= 2


def test_an_expired_token_is_refreshed_once_and_sending_goes_on(eng):
    eng.state.knobs.latency_ms = 20
    cid, openids = launch(400)
    assert wait_for(lambda: len(template_records(eng.state, openids)) >= 50)
    httpx.post(eng.env["WECHAT_API_BASE"].replace("/cgi-bin/", "/sandbox/tokens/expire"))
    assert finished(cid)
    assert len(template_records(eng.state, openids)) == 400
    assert eng.state.stats["tokens_issued"] == 2
    assert eng.state.errors[42001] >= 1


def test_unfollowed_recipients_are_marked_and_never_retried(eng):
    cid, openids = launch(50, go=False)
    gone = set(openids[:5])
    eng.state.knobs.unfollowed = gone
    with session_scope() as s:
        flows.after_launch(s.get(Campaign, cid))
    assert finished(cid)
    rows = {r.openid: r for r in deliveries(cid)}
    assert all(rows[o].status is D.failed and rows[o].errcode == 43004 and rows[o].reason == "unfollowed"
               and rows[o].attempts == 1 for o in gone)
    assert eng.state.errors[43004] == 5
    assert len(template_records(eng.state, openids)) == 45
    with session_scope() as s:
        states = set(s.scalars(select(Follower.state).where(Follower.openid.in_(gone))))
    assert states == {FollowerState.unfollowed}


def test_the_daily_quota_pauses_the_campaign_until_it_resets(eng):
    eng.state.knobs.daily_quota = 40
    cid, openids = launch(100)
    assert wait_for(lambda: campaign_status(cid) == "paused")
    time.sleep(1)
    with session_scope() as s:
        c = s.get(Campaign, cid)
        assert c.pause_reason is PauseReason.quota and c.paused_until > utcnow()
        reset = c.paused_until
        assert reset.astimezone(ZoneInfo("Asia/Shanghai")).hour == 0
    assert len(template_records(eng.state, openids)) == 40
    time.sleep(2)  # beat ticks meanwhile: a quota pause stays until the reset
    assert campaign_status(cid) == "paused"
    eng.state.knobs.daily_quota = 100_000  # midnight in China: WeChat's counter starts again
    report = schedule.tick(now=reset + timedelta(seconds=1))
    assert cid in report["resumed"]
    assert finished(cid)
    sent = template_records(eng.state, openids)
    assert len(sent) == 100 and set(sent.values()) == {1}


def test_a_rejected_template_stops_the_campaign_and_says_why(eng):
    eng.state.knobs.templates = {"SURVEY_TPL": DEFAULT_TEMPLATES["SURVEY_TPL"]}  # the account lost the campaign's
    cid, openids = launch(30)
    assert wait_for(lambda: campaign_status(cid) == "paused")
    with session_scope() as s:
        c = s.get(Campaign, cid)
        assert c.pause_reason is PauseReason.stopped and "40037" in c.pause_detail
    time.sleep(1.5)  # the other chain's sends already in flight come back
    rejected = eng.state.errors[40037]
    time.sleep(1.5)
    assert template_records(eng.state, openids) == {}
    assert rejected <= 2 * 8 and eng.state.errors[40037] == rejected  # the sends in flight; then none
    assert {r.status for r in deliveries(cid)} == {D.pending}
    eng.state.knobs.templates = dict(DEFAULT_TEMPLATES)  # staff fixed it: resume
    with session_scope() as s:
        c = service.resume(session=s, campaign=s.get(Campaign, cid))
    flows.after_launch(c)
    assert finished(cid)
    assert len(template_records(eng.state, openids)) == 30


def test_a_value_wechat_refuses_stops_the_campaign_naming_the_field_and_is_not_retried(eng):
    """47003: the account's template now has a key the campaign's values do not fill (or fill wrongly);
    every message would be refused alike, so the campaign stops for staff instead of failing each one."""
    eng.state.knobs.templates = {"POLICY_NOTICE_TPL": {"title": "政策推送通知", "content": (
        "政策名称：{{thing1.DATA}}\n发文单位：{{thing2.DATA}}\n发布日期：{{date3.DATA}}\n办理状态：{{phrase4.DATA}}")}}
    cid, openids = launch(30)
    assert wait_for(lambda: campaign_status(cid) == "paused")
    with session_scope() as s:
        c = s.get(Campaign, cid)
        assert c.pause_reason is PauseReason.stopped
        assert "47003" in c.pause_detail and "模板字段「phrase4」的取值不符合微信要求" in c.pause_detail
    refused = eng.state.errors[47003]
    time.sleep(1.5)
    assert template_records(eng.state, openids) == {}
    assert refused <= 2 * 8 and eng.state.errors[47003] == refused  # the sends in flight; no retries after
    assert {r.status for r in deliveries(cid)} == {D.pending}
    eng.state.knobs.templates = dict(DEFAULT_TEMPLATES)  # the template is put right: resume
    with session_scope() as s:
        c = service.resume(session=s, campaign=s.get(Campaign, cid))
    flows.after_launch(c)
    assert finished(cid)
    assert len(template_records(eng.state, openids)) == 30


def test_followers_who_unfollow_or_mute_after_launch_are_skipped_at_send_time(eng):
    cid, openids = launch(20, go=False)
    with session_scope() as s:
        c = s.get(Campaign, cid)
        assert c.status is CampaignStatus.running
    assert flows.write_all_recipients(cid)  # recipients written at launch ...
    assert not flows.write_all_recipients(cid)  # ... once
    with session_scope() as s:  # ... then, before the send, two unfollow and two mute
        s.execute(update(Follower).where(Follower.openid.in_(openids[:2])).values(state=FollowerState.unfollowed))
        s.execute(update(Follower).where(Follower.openid.in_(openids[2:3])).values(muted=True))
        s.execute(update(Follower).where(Follower.openid.in_(openids[3:4]))
                  .values(muted_until=utcnow() + timedelta(days=1)))
    flows.ensure_chains(cid)
    assert finished(cid)
    rows = {r.openid: r for r in deliveries(cid)}
    assert [rows[o].reason for o in openids[:4]] == ["unfollowed", "unfollowed", "muted", "muted"]
    assert all(rows[o].status is D.skipped for o in openids[:4])
    assert set(template_records(eng.state, openids)) == set(openids[4:])


def test_nothing_is_sent_in_quiet_hours_and_sending_resumes_after_them(eng):
    now = utcnow().astimezone(ZoneInfo("Asia/Shanghai"))
    end = (now + timedelta(minutes=1 if now.second < 45 else 2)).replace(second=0, microsecond=0)
    start = now - timedelta(hours=1)
    cid, openids = launch(30, quiet_hours=f"{start:%H:%M}-{end:%H:%M}")
    time.sleep(3)
    assert template_records(eng.state, openids) == {}
    assert campaign_status(cid) == "running"
    assert finished(cid, (end - now).total_seconds() + 60)
    first = min(r.sent_at for r in deliveries(cid))
    assert first >= end
    assert len(template_records(eng.state, openids)) == 30


def test_cancel_skips_what_is_not_yet_sent(eng):
    eng.state.knobs.latency_ms = 50
    cid, openids = launch(2000)
    assert wait_for(lambda: len(template_records(eng.state, openids)) >= 100)
    with session_scope() as s:
        service.cancel(session=s, campaign=s.get(Campaign, cid))
    time.sleep(2)
    sent_now = len(template_records(eng.state, openids))
    time.sleep(1)
    assert len(template_records(eng.state, openids)) == sent_now < 2000
    rows = deliveries(cid)
    assert {r.status for r in rows} <= {D.sent, D.skipped}
    assert sum(r.status is D.sent for r in rows) == sent_now


def _receipt(record: dict):
    from wechat.messages import Inbound

    return Inbound.from_fields({"ToUserName": "gh_policypush", "FromUserName": record["touser"],
                                "CreateTime": str(int(record["at"])), "MsgType": "event",
                                "Event": "TEMPLATESENDJOBFINISH", "MsgID": str(record["msgid"]),
                                "Status": record["status"]})


def test_receipts_update_deliveries_and_links_record_opens(eng):
    from fastapi.testclient import TestClient

    from push import receipts
    from server import app

    eng.state.knobs.blocked = set()
    cid, openids = launch(30, go=False)
    eng.state.knobs.blocked = {openids[0]}
    eng.state.knobs.system_fail_rate = 0.0
    with session_scope() as s:
        flows.after_launch(s.get(Campaign, cid))
    assert finished(cid)
    records = [r for r in eng.state.records if r["kind"] == "template" and r["touser"] in set(openids)]
    early = next(r for r in records if r["touser"] == openids[1])  # a delivered one, whatever the send order
    receipts.record_receipt(_receipt({**early, "msgid": 999_999_999_999}))  # matches nothing (yet)
    for record in records:
        receipts.record_receipt(_receipt(record))
    rows = {r.openid: r for r in deliveries(cid)}
    assert rows[openids[0]].status is D.blocked and rows[openids[0]].receipt_at is not None
    assert all(rows[o].status is D.delivered for o in openids[1:])
    with session_scope() as s:  # a receipt that overtook its outcome is applied by a later tick
        s.execute(update(Delivery).where(Delivery.id == rows[openids[1]].id)
                  .values(status=D.sent, msgid=999_999_999_999))
    assert receipts.retry_unmatched() == 1
    assert {r.openid: r for r in deliveries(cid)}[openids[1]].status is D.delivered

    url = next(r for r in records if r["touser"] == openids[2])["body"]["url"]
    web = TestClient(app)
    answer = web.get(url.replace("http://policypush.test", ""), follow_redirects=False)
    assert answer.status_code == 302
    with session_scope() as s:
        policy_id = s.get(Campaign, cid).policy_id
        assert answer.headers["location"] == f"/p/{policy_id}"
        web.get(url.replace("http://policypush.test", ""), follow_redirects=False)  # a second open
        counts = service.counts(session=s, campaign_id=cid)
    assert (counts.targeted, counts.sent, counts.delivered, counts.blocked, counts.opened) == (30, 30, 29, 1, 1)
    assert web.get("/t/1.deadbeefdeadbeef", follow_redirects=False).status_code == 404


def test_a_scheduled_campaign_due_while_the_system_was_down_starts_on_the_next_tick(eng):
    with session_scope() as s:
        park = make_park(s)
        openids = make_followers(s, park, 10)
        c = approved_campaign(s, park=park, author=make_staff(s, Role.editor), reviewer=make_staff(s, Role.reviewer),
                              send_at=utcnow() + timedelta(seconds=2))
        service.launch(session=s, campaign=c)
        assert c.status is CampaignStatus.scheduled
    # no ETA task exists: the beat tick (every second here) finds it due in the database
    assert finished(c.id, 30)
    assert len(template_records(eng.state, openids)) == 10


def test_a_policy_changed_after_launch_stops_the_sending_with_nothing_sent(eng):
    cid, openids = launch(20, go=False)
    with session_scope() as s:
        campaign = s.get(Campaign, cid)
        policy = s.get(Policy, campaign.policy_id)
        policy.issued_on = date(2024, 3, 1)
    flows.after_launch(campaign)
    assert wait_for(lambda: campaign_status(cid) == "paused")
    with session_scope() as s:
        c = s.get(Campaign, cid)
        assert c.pause_reason is PauseReason.changed and "审核后内容已变更" in c.pause_detail
        with pytest.raises(WrongState, match="审核后内容已变更"):  # resuming cannot send it either
            service.resume(session=s, campaign=c)
        s.rollback()
    time.sleep(1.5)  # beat ticks meanwhile: nothing restarts it
    assert template_records(eng.state, openids) == {}
    assert {r.status for r in deliveries(cid)} <= {D.pending}
    with session_scope() as s:  # what was approved is restored: it may go on
        s.get(Policy, policy.id).issued_on = None
    with session_scope() as s:
        c = service.resume(session=s, campaign=s.get(Campaign, cid))
    flows.after_launch(c)
    assert finished(cid)
    assert template_records(eng.state, openids) == dict.fromkeys(openids, 1)
