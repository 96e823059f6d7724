"""The send loop of one batch: claim -> check the follower -> send (bounded threads, global rate) ->
record each outcome. Nothing advances on reading: a row is done only when its outcome is written.

Crash safety: a row is claimed (committed) before its WeChat call and its outcome written after it.
A worker killed between the two leaves the row claimed; once its lease runs out the tick returns it
to pending and it is sent again with the same client_msg_id, which WeChat (and the sandbox) answer
with the first send's msgid instead of sending twice.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from core.db import session_scope, utcnow
from core.redis import get_redis
from core.settings import Settings
from push import content, deliveries, service
from push.deliveries import Claimed, Outcome
from push.models import Campaign, CampaignStatus, Channel, Delivery, DeliveryStatus, PauseReason
from push.quiet import next_midnight, quiet_until
from push.ratelimit import TokenBucket
from push.templates import CampaignTemplate
from subscriptions import service as followers
from surveys import invitations
from wechat import allowance, template_fields
from wechat.client import WeChatAPI
from wechat.errors import BAD_TEMPLATE, BAD_TEMPLATE_VALUE, Action, action_for

log = logging.getLogger(__name__)
D = DeliveryStatus
INLINE_TRIES = 2  # a -1 is tried once more at once; after that the row waits (next_attempt_at)
FLUSH_SECONDS = 0.25  # outcomes are written at least this often
FLUSH_ROWS = 200


@dataclass(frozen=True)
class Options:
    batch: int
    threads: int
    lease: timedelta
    max_attempts: int
    retry_seconds: float
    quiet_hours: str
    tz: str
    template_id: str
    template: CampaignTemplate
    survey_template_id: str
    survey_template: CampaignTemplate
    notice_issuer: str
    base_url: str
    signing_key: str

    @classmethod
    def from_settings(cls, s: Settings) -> Options:
        return cls(batch=s.push_batch_size, threads=s.push_send_threads,
                   lease=timedelta(seconds=s.push_lease_seconds), max_attempts=s.push_max_attempts,
                   retry_seconds=s.push_retry_seconds, quiet_hours=s.push_quiet_hours, tz=s.push_timezone,
                   template_id=s.push_template_id, template=CampaignTemplate.from_settings(s),
                   survey_template_id=s.survey_template_id, survey_template=CampaignTemplate.survey_from_settings(s),
                   notice_issuer=s.push_notice_issuer, base_url=s.public_base_url, signing_key=s.signing_key)


@dataclass(frozen=True)
class Next:
    """What the chain does after this batch: `more` now, `wait` `delay` seconds, or `stop`."""

    kind: str
    delay: float = 0.0


@dataclass
class Halt:
    reason: PauseReason | None  # None: the campaign left `running` by someone else's hand
    detail: str = ""


@dataclass
class _Batch:
    campaign_id: int
    channel: Channel
    template_id: str
    message: content.Message
    opts: Options
    data: dict[str, dict[str, str]] = field(default_factory=dict)  # the template message's, fitted once
    survey: invitations.Round | None = None  # a survey's invitation or reminder round
    links: dict[int, str] = field(default_factory=dict)  # follower -> their own link (a survey's form)
    unfollowed: list[str] = field(default_factory=list)


def run_batch(*, campaign_id: int, token: str, opts: Options, client: WeChatAPI, bucket: TokenBucket,
              beat: Callable[[], None] = lambda: None) -> Next:
    now = utcnow()
    with session_scope() as s:
        campaign = s.get(Campaign, campaign_id)
        if campaign is None or campaign.status is not CampaignStatus.running:
            return Next("stop")
        spec = campaign.quiet_hours if campaign.quiet_hours is not None else opts.quiet_hours
        if quiet_until(spec, opts.tz, now):
            return Next("stop")  # the tick starts the chains again when the quiet hours end
        if not service.approval_holds(session=s, campaign=campaign):
            service.stop_changed(session=s, campaign=campaign)
            log.warning("campaign stopped: changed since approval", extra={"campaign": campaign_id})
            return Next("stop")
        message = content.build(session=s, campaign=campaign, tz=opts.tz, now=now, notice_issuer=opts.notice_issuer)
        survey = invitations.round_of(campaign)
        template, template_id = ((opts.survey_template, opts.survey_template_id) if survey
                                 else (opts.template, opts.template_id))
        batch = _Batch(campaign_id, campaign.channel, campaign.template_id or template_id, message, opts,
                       template.fill(message).data, survey)
        materialized = campaign.materialized_at is not None
        claimed = deliveries.claim(session=s, campaign_id=campaign_id, limit=opts.batch, token=token, now=now)
    if not claimed:
        return _idle(campaign_id, materialized, now)
    with session_scope() as s:
        to_send, skipped = _check_followers(s, batch, claimed, now)
        deliveries.record(session=s, token=token, outcomes=skipped)
    halt = _send_all(batch, to_send, token, client, bucket, beat)
    if halt is not None:
        _apply_halt(campaign_id, halt, opts.tz)
        return Next("stop")
    return Next("more")


def _idle(campaign_id: int, materialized: bool, now: datetime) -> Next:
    if not materialized:
        return Next("wait", 0.5)  # recipients are still being written
    with session_scope() as s:
        due = deliveries.due_in(session=s, campaign_id=campaign_id, now=now)
        if due is None:
            service.finish_if_done(session=s, campaign_id=campaign_id)
            return Next("stop")  # claimed rows of other workers: they finish, or the tick re-sends them
    return Next("more") if due == 0 else Next("wait", min(due, 5.0))


def _check_followers(s: Session, batch: _Batch, claimed: list[Claimed],
                     now: datetime) -> tuple[list[Claimed], list[Outcome]]:
    """Followers may have unfollowed or muted since launch: skip them now, at send time."""
    state = deliveries.followers_now(session=s, ids=[c.follower_id for c in claimed])
    to_send, skipped = [], []
    for c in claimed:
        f = state.get(c.follower_id)
        reason = None
        if f is None or f.state != "following":
            reason = "unfollowed"
        elif f.muted or (f.muted_until is not None and f.muted_until > now):
            reason = "muted"
        if reason:
            skipped.append(Outcome(c.id, D.skipped, reason=reason))
        else:
            to_send.append(c)
    if batch.survey is not None and to_send:
        batch.links, not_now = invitations.check(session=s, round_=batch.survey, now=now, base_url=batch.opts.base_url,
                                                 follower_ids=[c.follower_id for c in to_send])
        skipped += [Outcome(c.id, D.skipped, reason=not_now[c.follower_id]) for c in to_send
                    if c.follower_id in not_now]
        to_send = [c for c in to_send if c.follower_id not in not_now]
    return to_send, skipped


def _send_all(batch: _Batch, jobs: list[Claimed], token: str, client: WeChatAPI, bucket: TokenBucket,
              beat: Callable[[], None]) -> Halt | None:
    opts, cid = batch.opts, batch.campaign_id
    unsent = {j.id for j in jobs}
    done: list[Outcome] = []
    halt: Halt | None = None
    tokens = 0
    queue = iter(jobs)
    last_flush = last_renew = time.monotonic()
    inflight: set[Future[tuple[Outcome, Halt | None]]] = set()
    with ThreadPoolExecutor(opts.threads, thread_name_prefix="push-send") as pool:
        while True:
            while halt is None and len(inflight) < opts.threads:
                job = next(queue, None)
                if job is None:
                    break
                if tokens == 0:
                    tokens = bucket.take(min(opts.threads - len(inflight), len(unsent)))
                tokens -= 1
                unsent.discard(job.id)
                inflight.add(pool.submit(_send_one, batch, job, client))
            if not inflight:
                break
            finished, inflight = wait(inflight, timeout=FLUSH_SECONDS, return_when=FIRST_COMPLETED)
            for fut in finished:
                outcome, stop = fut.result()
                done.append(outcome)
                halt = halt or stop
            clock = time.monotonic()
            if len(done) >= FLUSH_ROWS or clock - last_flush >= FLUSH_SECONDS:
                renew = clock - last_renew >= opts.lease.total_seconds() / 4
                still_running = _flush(batch, token, done, renew=renew)
                done, last_flush = [], clock
                if renew:
                    last_renew = clock
                beat()
                if not still_running and halt is None:
                    halt = Halt(None)
        _flush(batch, token, done, renew=False)
    if unsent:
        with session_scope() as s:
            deliveries.release(session=s, campaign_id=cid, token=token, ids=sorted(unsent))
            _skip_if_cancelled(s, cid)
    return halt


def _flush(batch: _Batch, token: str, done: list[Outcome], *, renew: bool) -> bool:
    """Write outcomes (and renew the claim); return whether the campaign is still running."""
    with session_scope() as s:
        deliveries.record(session=s, token=token, outcomes=done)
        if batch.survey is not None:
            invitations.record_sent(session=s, round_=batch.survey, now=utcnow(),
                                    delivery_ids=[o.id for o in done if o.status is D.sent])
        if renew:
            deliveries.renew(session=s, campaign_id=batch.campaign_id, token=token, now=utcnow())
        for openid in batch.unfollowed:
            followers.unfollow(session=s, openid=openid)
        batch.unfollowed.clear()
        status = s.scalar(select(Campaign.status).where(Campaign.id == batch.campaign_id))
    return status is CampaignStatus.running


def _send_one(batch: _Batch, job: Claimed, client: WeChatAPI) -> tuple[Outcome, Halt | None]:
    opts = batch.opts
    url = batch.links.get(job.follower_id) or content.tracking_url(opts.base_url, opts.signing_key, job.id)
    channel, note = batch.channel, None
    for attempt in range(1, INLINE_TRIES + 1):
        try:
            if channel is Channel.custom:
                try:
                    allowance.send_text(client, get_redis(), job.openid, batch.message.text(url))
                    return Outcome(job.id, D.sent, sent_at=utcnow()), None
                except allowance.Refused as exc:  # the follower is reached by the other channel
                    channel, note = Channel.template, f"no customer-service allowance ({exc.errcode}): sent as template"
            answer = client.send_template(openid=job.openid, template_id=batch.template_id,
                                          data=batch.data, url=url, client_msg_id=job.client_msg_id)
            return Outcome(job.id, D.sent, reason=note, msgid=answer.get("msgid"), sent_at=utcnow()), None
        except WeChatClientException as exc:
            action = action_for(exc)
            if action in (Action.retry, Action.refresh_token) and attempt < INLINE_TRIES:
                time.sleep(opts.retry_seconds * random.uniform(0.25, 0.75))
                continue
            return _failure(batch, job, exc, action)
    raise AssertionError("unreachable")


def _failure(batch: _Batch, job: Claimed, exc: WeChatClientException,
             action: Action) -> tuple[Outcome, Halt | None]:
    code, opts = exc.errcode, batch.opts
    if action in (Action.retry, Action.refresh_token):
        if job.attempts >= opts.max_attempts:
            return Outcome(job.id, D.failed, reason="wechat busy", errcode=code), None
        delay = min(300.0, opts.retry_seconds * 2 ** job.attempts)
        return Outcome(job.id, D.pending, errcode=code, next_attempt_at=utcnow() + timedelta(seconds=delay)), None
    if action is Action.pause_quota:
        return Outcome(job.id, D.pending, errcode=code), Halt(PauseReason.quota, "daily quota used (45009) / 当日额度已用完")
    if action is Action.drop_recipient:
        if code == 43004:
            batch.unfollowed.append(job.openid)
        reason = "unfollowed" if code == 43004 else "invalid openid"
        return Outcome(job.id, D.failed, reason=reason, errcode=code), None
    if action is Action.stop_campaign:  # the same refusal would meet every recipient: staff must fix it
        return Outcome(job.id, D.pending, errcode=code), Halt(PauseReason.stopped, _stop_detail(batch, exc))
    return Outcome(job.id, D.failed, reason=f"errcode {code}", errcode=code), None


def _stop_detail(batch: _Batch, exc: WeChatClientException) -> str:
    if exc.errcode == BAD_TEMPLATE_VALUE:
        key = template_fields.refused_key(exc.errmsg) or "?"
        return (f"WeChat refused the value of template key {key} ({BAD_TEMPLATE_VALUE}): make PUSH_TEMPLATE_CONTENT "
                f"and PUSH_TEMPLATE_FIELDS match the account's template and resume / "
                f"模板字段{batch.opts.template.label(key)}的取值不符合微信要求，请核对模板配置后恢复发送")
    return (f"WeChat rejected template id {batch.template_id!r} ({BAD_TEMPLATE}): set a valid one "
            f"(PUSH_TEMPLATE_ID) and resume / 模板ID无效")


def _apply_halt(campaign_id: int, halt: Halt, tz: str) -> None:
    if halt.reason is None:
        return
    with session_scope() as s:
        campaign = s.get(Campaign, campaign_id)
        if campaign is None or campaign.status not in (CampaignStatus.running, CampaignStatus.paused):
            return
        until = next_midnight(tz, utcnow()) if halt.reason is PauseReason.quota else None
        service.pause(session=s, campaign=campaign, reason=halt.reason, detail=halt.detail, until=until)
        log.warning("campaign paused", extra={"campaign": campaign_id, "reason": str(halt.reason),
                                              "detail": halt.detail})


def _skip_if_cancelled(s: Session, campaign_id: int) -> None:
    if s.scalar(select(Campaign.status).where(Campaign.id == campaign_id)) is CampaignStatus.cancelled:
        s.execute(update(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.status == D.pending)
                  .values(status=D.skipped, reason="cancelled"))
