"""Invitations and reminders of a targeted survey, sent by the push engine (no loop of its own).

Each round is a campaign of kind `survey`: round 0 the invitation, round n the n-th reminder. The beat
tick (push/schedule.py) makes them:
- round 0 once the survey is open (and its opening time has come); writing its deliveries also writes a
  SurveyRecipient, with a token and the segment cells, per reachable follower of the survey's segment,
  in the worker and idempotently (ON CONFLICT DO NOTHING on both tables);
- round n when round n-1 has finished at least `reminder_gap_days` ago, up to `reminders_max`, to the
  recipients who have not completed, whose last message is at least the gap ago.
No round needs an approval of its own: the rounds are what the survey's approval covered (its pinned hash
holds the audience, the closing time and the reminder settings; the wording comes from the survey's title
and deadline), and no round starts unless the survey still matches that hash. The engine keeps its rules
for them: exactly once per recipient (client_msg_id), quiet hours, rate, daily quota, the 48 h window of
customer-service messages. Closing the survey cancels its rounds, and a recipient is checked at send time
(survey still open, not completed, not reminded in this round), so nothing goes out after closing.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.settings import get_settings
from push import deliveries
from push import service as campaigns
from push.models import Campaign, CampaignKind, CampaignStatus, Channel, Delivery
from subscriptions import reference
from subscriptions.models import Enterprise, EnterpriseBinding, Follower
from subscriptions.segments import Recipient, recipient_batches
from surveys import service
from surveys.models import RecipientStatus, Survey, SurveyRecipient, SurveyStatus, new_token

log = logging.getLogger(__name__)
R = RecipientStatus
DONE = (R.completed, R.screened_out)
LIVE = (CampaignStatus.scheduled, CampaignStatus.running, CampaignStatus.paused)


@dataclass(frozen=True, slots=True)
class Round:
    survey_id: int
    number: int  # 0: the invitation


def round_of(campaign: Campaign) -> Round | None:
    if campaign.kind is not CampaignKind.survey or campaign.survey_id is None:
        return None
    return Round(campaign.survey_id, campaign.survey_round or 0)


# --- the beat: rounds that are due --------------------------------------------------------------------

def tick(*, session: Session, now: datetime) -> list[int]:
    """Close surveys past their closing time, cancel the rounds of closed surveys, and start each due
    round (running, so the push tick writes its deliveries at once). Returns the campaigns started."""
    service.close_due(session=session, now=now)
    stale = session.scalars(select(Campaign).join(Survey, Campaign.survey_id == Survey.id).where(
        Campaign.kind == CampaignKind.survey, Campaign.status.in_(LIVE), Survey.status != SurveyStatus.open))
    for campaign in list(stale):
        campaigns.cancel(session=session, campaign=campaign)
    started = []
    targeted = session.scalars(select(Survey).where(
        Survey.status == SurveyStatus.open, Survey.public.is_(False), Survey.closes_at > now,
        Survey.opens_at.is_(None) | (Survey.opens_at <= now)))
    for survey in list(targeted):
        number = _due_round(session, survey, now)
        if number is None:
            continue
        if survey.approved_hash != service.definition_hash(survey):
            log.warning("survey changed since approval: no invitation", extra={"survey": survey.id})
            continue
        campaign = _round_campaign(survey, number, now)
        try:
            with session.begin_nested():
                session.add(campaign)
        except IntegrityError:  # another tick made it
            continue
        started.append(campaign.id)
    return started


def _due_round(session: Session, survey: Survey, now: datetime) -> int | None:
    last = session.scalars(select(Campaign).where(Campaign.survey_id == survey.id)
                           .order_by(Campaign.survey_round.desc()).limit(1)).first()
    if last is None:
        return 0
    if (last.survey_round >= survey.reminders_max or last.status is not CampaignStatus.finished
            or last.finished_at is None or last.finished_at > now - timedelta(days=survey.reminder_gap_days)):
        return None
    return last.survey_round + 1


def _round_campaign(survey: Survey, number: int, now: datetime) -> Campaign:
    label = "问卷邀请" if number == 0 else f"问卷提醒（第{number}次）"
    return Campaign(
        title=f"{label}：{survey.title}"[:200], kind=CampaignKind.survey, survey_id=survey.id, survey_round=number,
        segment_id=survey.segment_id, segment_filter=survey.segment_filter,
        channel=Channel(get_settings().survey_channel), status=CampaignStatus.running, author_id=survey.author_id,
        approved_by_id=survey.approved_by_id, approved_at=survey.approved_at, approved_hash=survey.approved_hash,
        submitted_at=survey.submitted_at, launched_at=now)


# --- writing a round's deliveries (push/flows.py) --------------------------------------------------------

def audience(*, session: Session, round_: Round, filter: dict[str, Any], after_id: int, batch: int,
             now: datetime) -> Iterator[list[Recipient]]:
    """Who a round goes to, by ascending follower id after `after_id`: the segment's reachable followers
    for the invitation; for a reminder, the recipients not completed, reminded fewer times than this
    round, and last sent a message at least the gap ago."""
    if round_.number == 0:
        yield from recipient_batches(session=session, filter=filter, batch=batch, after_id=after_id, now=now)
        return
    survey = session.get(Survey, round_.survey_id)
    gap = now - timedelta(days=survey.reminder_gap_days)
    last_sent = func.coalesce(SurveyRecipient.last_reminded_at, SurveyRecipient.invited_at)
    while True:
        rows = session.execute(
            select(Follower.id, Follower.openid).join(SurveyRecipient, SurveyRecipient.follower_id == Follower.id)
            .where(SurveyRecipient.survey_id == survey.id, SurveyRecipient.status.not_in(DONE),
                   SurveyRecipient.reminders_sent < round_.number, last_sent <= gap, Follower.id > after_id)
            .order_by(Follower.id).limit(batch)).all()
        if not rows:
            return
        yield [Recipient(r[0], r[1]) for r in rows]
        after_id = rows[-1][0]


def add_recipients(*, session: Session, survey_id: int, rows: list[Recipient]) -> None:
    """A recipient row (token, cells) for each follower invited; one already there is left as it is."""
    if not rows:
        return
    ids = [r.follower_id for r in rows]
    cells: dict[int, dict[str, Any]] = {}
    bound = session.execute(
        select(EnterpriseBinding.follower_id, Enterprise.industry_code, Enterprise.park_id, Enterprise.size)
        .join(Enterprise, EnterpriseBinding.enterprise_id == Enterprise.id)
        .where(EnterpriseBinding.follower_id.in_(ids))
        .order_by(EnterpriseBinding.follower_id, EnterpriseBinding.bound_at, Enterprise.id)).all()
    divisions = reference.divisions()
    for follower_id, code, park_id, size in bound:  # the first bound enterprise, as respond.cells
        if follower_id not in cells:
            division = divisions.get(code) if code else None
            cells[follower_id] = {"industry_section": division.section if division else None,
                                  "park_id": park_id, "size": size}
    parks = dict(session.execute(select(Follower.id, Follower.park_id).where(Follower.id.in_(ids))).all())
    values = []
    for fid in ids:
        cell = cells.get(fid, {"industry_section": None, "park_id": None, "size": None})
        values.append({"survey_id": survey_id, "follower_id": fid, "token": new_token(),
                       "status": R.invited.value, "reminders_sent": 0, "wants_feedback": False,
                       **cell, "park_id": cell["park_id"] or parks.get(fid)})
    table = SurveyRecipient.__table__
    session.execute(deliveries.insert_ignoring(session, table, ["survey_id", "follower_id"]).values(values))
    session.flush()


# --- at send time (push/delivery.py) ----------------------------------------------------------------------

def check(*, session: Session, round_: Round, follower_ids: list[int], now: datetime,
          base_url: str) -> tuple[dict[int, str], dict[int, str]]:
    """Each follower's form link, or why nothing is sent to them now (closed, completed, reminded)."""
    survey = session.get(Survey, round_.survey_id)
    if survey is None or service.accepting(survey, now) is not None:
        return {}, dict.fromkeys(follower_ids, "survey closed")
    rows = {r[0]: r for r in session.execute(
        select(SurveyRecipient.follower_id, SurveyRecipient.token, SurveyRecipient.status,
               SurveyRecipient.reminders_sent)
        .where(SurveyRecipient.survey_id == survey.id, SurveyRecipient.follower_id.in_(follower_ids))).all()}
    links, skips = {}, {}
    for fid in follower_ids:
        row = rows.get(fid)
        if row is None:
            skips[fid] = "not a recipient"
        elif row[2] in DONE:
            skips[fid] = "completed"
        elif round_.number and row[3] >= round_.number:
            skips[fid] = "already reminded"
        else:
            links[fid] = f"{base_url.rstrip('/')}/s/{row[1]}"
    return links, skips


def record_sent(*, session: Session, round_: Round, delivery_ids: list[int], now: datetime) -> None:
    """WeChat took these: the invitation's time, or the reminder's count and time, on the recipient.
    Set (not added) to the round's number, so a re-sent claim counts once."""
    if not delivery_ids:
        return
    sent = select(Delivery.follower_id).where(Delivery.id.in_(delivery_ids))
    values = ({"invited_at": now} if round_.number == 0
              else {"reminders_sent": round_.number, "last_reminded_at": now})
    session.execute(update(SurveyRecipient).where(SurveyRecipient.survey_id == round_.survey_id,
                                                  SurveyRecipient.follower_id.in_(sent)).values(**values))
