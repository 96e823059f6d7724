"""The mass_tag channel: the whole campaign is one `message/mass/sendall` to its WeChat tag, at most once.

The send is claimed in the database (`mass_started_at`, committed) before the call and its msg_id
recorded after it. A worker killed between the two leaves a claim without a msg_id: nothing ever calls
again for it (the message may have gone out), and once the lease has passed the tick finishes the
campaign telling staff that the outcome is unknown. Within one run, -1 and network errors are retried:
the call carries `clientmsgid`, and WeChat answers a repeat of a send it already took with 45065 and the
first msg_id instead of sending again. No delivery rows: WeChat's receipt brings the counts.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from core.db import session_scope, utcnow
from push import content, service
from push.delivery import Options
from push.exceptions import NotReady
from push.models import Campaign, CampaignStatus, Channel, PauseReason
from push.quiet import quiet_until
from subscriptions.segments import SegmentFilterError
from wechat.client import WeChatAPI
from wechat.errors import Action, action_for

log = logging.getLogger(__name__)
S = CampaignStatus
MASS_QUOTA_USED = 45028
CLIENTMSGID_EXISTS = 45065
MAX_BACKOFF = 10.0
NO_TAG = ("the segment is no longer one park or industry section with a WeChat tag: sync the tags or "
          "change the segment, then resume / 目标已不是单个已同步的微信标签")
QUOTA_USED = ("the account's mass sends for this month are used up (45028): resume next month or send "
              "by template message / 本月群发次数已用完")
UNKNOWN = ("the mass send was claimed but its answer never recorded (the worker stopped, or WeChat did not "
           "answer): it may have gone out and is not sent again; WeChat's MASSSENDJOBFINISH receipt (logged "
           "as 'mass send finished') tells / 群发结果未知，不会重发，请以微信群发回执为准")


class _Unanswered(Exception):
    """Every try failed and at least one got no answer from WeChat: the send may have gone out."""


def clientmsgid(campaign_id: int) -> str:
    """WeChat's de-duplication key for mass sends: the same for every try of one campaign."""
    return f"pp-mass-{campaign_id}"


def send(*, campaign_id: int, opts: Options, client: WeChatAPI) -> str:
    """Claim the campaign's mass send, make it, record its msg_id; returns what happened."""
    now = utcnow()
    with session_scope() as s:
        campaign = s.get(Campaign, campaign_id)
        if campaign is None or campaign.status is not S.running or campaign.mass_started_at is not None:
            return "not due"
        spec = campaign.quiet_hours if campaign.quiet_hours is not None else opts.quiet_hours
        if quiet_until(spec, opts.tz, now):
            return "quiet"  # the tick sends it when the quiet hours end
        if not service.approval_holds(session=s, campaign=campaign):
            service.stop_changed(session=s, campaign=campaign)
            log.warning("campaign stopped: changed since approval", extra={"campaign": campaign_id})
            return "changed"
        try:
            tag_id = service.mass_tag_id(session=s, campaign=campaign)
        except (NotReady, SegmentFilterError):  # a park of the segment was deleted since approval
            tag_id = None
        if tag_id is None:
            service.pause(session=s, campaign=campaign, reason=PauseReason.stopped, detail=NO_TAG)
            return "stopped"
        message = content.build(session=s, campaign=campaign, tz=opts.tz, now=now)
        claimed = s.execute(update(Campaign).where(Campaign.id == campaign_id, Campaign.status == S.running,
                                                   Campaign.mass_started_at.is_(None))
                            .values(mass_started_at=now)).rowcount
    if not claimed:
        return "not due"  # another worker holds it
    body = {"filter": {"is_to_all": False, "tag_id": tag_id}, "msgtype": "text",
            "text": {"content": message.text(message.page_url(opts.base_url))},
            "clientmsgid": clientmsgid(campaign_id)}
    try:
        msg_id = _call(client, body, opts)
    except _Unanswered:
        return "unknown"  # the claim stays: the tick finishes the campaign as unknown
    except WeChatClientException as exc:
        _refused(campaign_id, exc)
        return "stopped"
    with session_scope() as s:
        s.execute(update(Campaign).where(Campaign.id == campaign_id).values(mass_msg_id=msg_id))
        # it went out: finished, whatever happened meanwhile (a pause, or the tick giving up on a slow call)
        s.execute(update(Campaign).where(Campaign.id == campaign_id, Campaign.status != S.cancelled)
                  .values(status=S.finished, finished_at=utcnow(), pause_reason=None, pause_detail=None,
                          paused_until=None))
    log.info("mass send made", extra={"campaign": campaign_id, "msg_id": msg_id, "tag_id": tag_id})
    return "sent"


def _call(client: WeChatAPI, body: dict, opts: Options) -> int:
    """The mass send; -1 and network errors are tried again (clientmsgid makes a repeat a no-op)."""
    unanswered = False
    for attempt in range(1, opts.max_attempts + 1):
        try:
            return int(client.post("message/mass/sendall", data=body)["msg_id"])
        except WeChatClientException as exc:
            if exc.errcode == CLIENTMSGID_EXISTS:  # an earlier try went out: WeChat names its msg_id
                return int(exc.response.json()["msg_id"])
            unanswered = unanswered or exc.errcode is None
            if action_for(exc) not in (Action.retry, Action.refresh_token):
                raise
            if attempt == opts.max_attempts:
                if unanswered:
                    raise _Unanswered from exc
                raise
            time.sleep(min(MAX_BACKOFF, opts.retry_seconds * 2 ** attempt))
    raise AssertionError("unreachable")


def _refused(campaign_id: int, exc: WeChatClientException) -> None:
    """WeChat answered with an error, so nothing went out: release the claim (a resume sends) and stop."""
    detail = QUOTA_USED if exc.errcode == MASS_QUOTA_USED else (
        f"WeChat refused the mass send ({exc.errcode}): fix the cause, then resume / 微信拒绝群发")
    with session_scope() as s:
        s.execute(update(Campaign).where(Campaign.id == campaign_id).values(mass_started_at=None))
        campaign = s.get(Campaign, campaign_id)
        if campaign.status in (S.running, S.paused):
            service.pause(session=s, campaign=campaign, reason=PauseReason.stopped, detail=detail)
    log.warning("mass send refused", extra={"campaign": campaign_id, "errcode": exc.errcode})


def finish_unknown(*, session: Session, now: datetime, lease: timedelta) -> list[int]:
    """Running mass sends claimed longer than `lease` ago with no msg_id recorded: finish them, telling
    staff the outcome is unknown. Never call again: the message may have gone out."""
    ids = list(session.scalars(select(Campaign.id).where(
        Campaign.status == S.running, Campaign.channel == Channel.mass_tag, Campaign.mass_msg_id.is_(None),
        Campaign.mass_started_at < now - lease)))
    if ids:
        session.execute(update(Campaign).where(Campaign.id.in_(ids), Campaign.status == S.running,
                                               Campaign.mass_msg_id.is_(None))
                        .values(status=S.finished, finished_at=now, pause_detail=UNKNOWN))
        log.warning("mass send outcome unknown", extra={"campaigns": ids})
    session.flush()
    return ids
