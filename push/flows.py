"""Campaign work that touches Celery or WeChat: start (write the recipients once), keep the batch
chains going, and the test send. Enqueueing happens here, always after the caller's commit."""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from core.db import session_scope, utcnow
from core.queue import celery_app
from core.redis import get_redis
from core.settings import get_settings
from push import content, deliveries, service
from push.chains import Chains
from push.exceptions import NotReady
from push.models import Campaign, CampaignKind, CampaignStatus, Channel
from push.schemas import TestSendResult
from push.templates import CampaignTemplate
from staff.models import StaffUser
from subscriptions.segments import recipient_batches
from surveys import feedback, invitations
from wechat import allowance, template_fields
from wechat.client import get_client
from wechat.errors import BAD_TEMPLATE_VALUE, action_for

log = logging.getLogger(__name__)
MATERIALIZE_LOCK_SECONDS = 120
WRITE_BATCH = 5000


def materialize_lock(campaign_id: int):
    return get_redis().lock(f"push:materialize:{campaign_id}", timeout=MATERIALIZE_LOCK_SECONDS)


def start(campaign_id: int) -> None:
    """After launch (or a due schedule): start the chains, then write every recipient once.

    The chains send while recipients are still being written (they wait for rows to appear).
    """
    ensure_chains(campaign_id)
    if write_all_recipients(campaign_id):
        ensure_chains(campaign_id)


def write_all_recipients(campaign_id: int) -> bool:
    """Write the campaign's recipients into `delivery`, once; True when this call finished it.

    Streams the segment in keyset batches and inserts with ON CONFLICT DO NOTHING, resuming after the
    last follower already written, so a repeated or interrupted run adds nothing twice.
    """
    lock = materialize_lock(campaign_id)
    if not lock.acquire(blocking=False):
        return False  # another worker is writing them
    try:
        with session_scope() as s:
            campaign = s.get(Campaign, campaign_id)
            if campaign is None or campaign.materialized_at is not None or campaign.status not in (
                    CampaignStatus.running, CampaignStatus.paused):
                return False
            filter_ = service.segment_filter(session=s, campaign=campaign)
            after = deliveries.last_written_follower(session=s, campaign_id=campaign_id)
            survey = invitations.round_of(campaign)
            asked_of = campaign.survey_id if campaign.kind is CampaignKind.feedback else None
        with session_scope() as reader:
            if survey is not None:
                source = invitations.audience(session=reader, round_=survey, filter=filter_, after_id=after,
                                              batch=WRITE_BATCH, now=utcnow())
            elif asked_of is not None:  # the 采纳情况: to the respondents who asked for it
                source = feedback.askers(session=reader, survey_id=asked_of, after_id=after, batch=WRITE_BATCH)
            else:
                source = recipient_batches(session=reader, filter=filter_, batch=WRITE_BATCH, after_id=after)
            for rows in source:
                with session_scope() as s:
                    if survey is not None and survey.number == 0:  # the invitation makes the recipients
                        invitations.add_recipients(session=s, survey_id=survey.survey_id, rows=rows)
                    deliveries.write_recipients(session=s, campaign_id=campaign_id, recipients=rows)
                lock.extend(MATERIALIZE_LOCK_SECONDS, replace_ttl=True)
        with session_scope() as s:
            targeted = deliveries.mark_materialized(session=s, campaign_id=campaign_id)
        log.info("campaign recipients written", extra={"campaign": campaign_id, "targeted": targeted})
        return True
    finally:
        try:
            lock.release()
        except Exception:  # noqa: BLE001 - expired: nothing to release
            pass


def chain_ttl() -> int:
    """Seconds a batch chain may show no sign of life before the tick restarts it."""
    return max(5, get_settings().push_lease_seconds // 2)


def ensure_chains(campaign_id: int) -> int:
    """Enqueue each chain of the campaign that is not alive; returns how many were started."""
    chains = Chains(get_redis(), ttl=chain_ttl())
    started = 0
    for n in range(get_settings().push_parallel_batches):
        if chains.reserve(campaign_id, n):
            celery_app.send_task("push.send_batch", args=(campaign_id, n))
            started += 1
    return started


def after_launch(campaign: Campaign) -> None:
    """Call after the commit that launched or resumed the campaign."""
    if campaign.status is CampaignStatus.running:
        task = "push.send_mass" if campaign.channel is Channel.mass_tag else "push.start"
        celery_app.send_task(task, args=(campaign.id,))


def test_send(*, session: Session, campaign: Campaign, staff: StaffUser) -> TestSendResult:
    """Send the campaign's message, as it stands, to the staff member's own WeChat; record it."""
    if not staff.openid:
        raise NotReady("your staff account has no openid to test-send to / 请先在“我的账号”扫码绑定本人微信")
    s = get_settings()
    message = content.build(session=session, campaign=campaign, tz=s.push_timezone, now=utcnow(),
                            notice_issuer=s.push_notice_issuer)
    url = message.page_url(s.public_base_url)
    template = CampaignTemplate.from_settings(s)
    filled = template.fill(message)
    if campaign.channel is Channel.template and filled.problems:
        raise NotReady("; ".join(filled.problems), filled.problems)
    client = get_client()
    try:
        if campaign.channel is Channel.template:
            answer = client.send_template(openid=staff.openid, template_id=campaign.template_id or s.push_template_id,
                                          data=filled.data, url=url)
            msgid = answer.get("msgid")
        elif campaign.channel is Channel.mass_tag:  # WeChat's own preview of a mass message
            answer = client.post("message/mass/preview", data={
                "touser": staff.openid, "msgtype": "text", "text": {"content": message.text(url)}})
            msgid = answer.get("msg_id")
        else:
            allowance.send_text(client, get_redis(), staff.openid, "【测试】" + message.text(url))
            msgid = None
    except allowance.Refused as exc:
        raise NotReady(f"测试发送失败：{exc} 请先用本人微信向公众号发一条消息。") from exc
    except WeChatClientException as exc:
        refused = template_fields.refused_key(exc.errmsg) if exc.errcode == BAD_TEMPLATE_VALUE else None
        why = f"模板字段{template.label(refused)}的取值不符合微信要求" if refused else "测试发送失败"
        raise NotReady(f"test send failed: WeChat {exc.errcode} {exc.errmsg} ({action_for(exc)}) / {why}") from exc
    service.record_test_send(session=session, campaign=campaign)
    return TestSendResult(openid=staff.openid, msgid=msgid)
