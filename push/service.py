"""The campaign lifecycle: draft -> submitted -> approved -> scheduled/running <-> paused -> finished,
or cancelled. Functions flush; the caller commits. No WeChat, HTTP or Celery here."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, inspect, select, update
from sqlalchemy.orm import Session

from core.db import utcnow
from core.settings import get_settings
from policies.models import Policy
from push import content, templates
from push.exceptions import NotAllowed, NotReady, WrongState
from push.models import (
    OPEN,
    Campaign,
    CampaignKind,
    CampaignStatus,
    Channel,
    Delivery,
    DeliveryStatus,
    PauseReason,
)
from push.schemas import CampaignCreate, CampaignUpdate, Counts
from staff.models import Role, StaffUser
from subscriptions import segments
from subscriptions.models import Segment, WeChatTag
from surveys import feedback
from surveys.models import Survey

S = CampaignStatus
EDITABLE = (S.draft, S.submitted, S.approved, S.scheduled)  # an edit sends these back to draft
CHANGED = ("what was approved has changed since (the policy, its interpretation, the message or the audience): "
           "nothing more is sent. Restore it and resume, or cancel and submit a new campaign for review / "
           "审核后内容已变更，已停止发送：恢复原内容后可继续发送，或取消后重新提交审核")
_CONTENT = ("title", "kind", "policy_id", "survey_id", "notice_text", "summary", "segment_id", "segment_filter", "channel",
            "template_id", "send_at", "quiet_hours")


def get(*, session: Session, campaign_id: int) -> Campaign | None:
    return session.get(Campaign, campaign_id)


def list_campaigns(*, session: Session, status: CampaignStatus | None = None, limit: int = 50,
                   before_id: int | None = None) -> list[Campaign]:
    query = select(Campaign).order_by(Campaign.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Campaign.status == status)
    if before_id is not None:
        query = query.where(Campaign.id < before_id)
    return list(session.scalars(query))


def check_refs(session: Session, values: dict[str, Any]) -> None:
    """NotReady unless the policy and segment named in `values` exist and an inline filter parses
    (surveys check their audience with it too)."""
    if values.get("policy_id") is not None and session.get(Policy, values["policy_id"]) is None:
        raise NotReady(f"policy {values['policy_id']} does not exist / 政策不存在")
    if values.get("segment_id") is not None and session.get(Segment, values["segment_id"]) is None:
        raise NotReady(f"segment {values['segment_id']} does not exist / 人群不存在")
    if values.get("survey_id") is not None and session.get(Survey, values["survey_id"]) is None:
        raise NotReady(f"survey {values['survey_id']} does not exist / 问卷不存在")
    if values.get("segment_filter") is not None:
        try:
            segments.parse_filter(session=session, filter=values["segment_filter"])
        except segments.SegmentFilterError as exc:
            raise NotReady(f"segment filter: {exc}", exc.errors) from None


def create(*, session: Session, campaign_in: CampaignCreate, author: StaffUser) -> Campaign:
    values = campaign_in.model_dump(exclude_unset=True)
    check_refs(session, values)
    if values.get("channel") is None:
        values.pop("channel", None)
    if campaign_in.kind is not CampaignKind.policy:
        values["policy_id"] = None
    if campaign_in.kind is not CampaignKind.feedback:
        values["survey_id"] = None
    campaign = Campaign(**values, author_id=author.id)
    session.add(campaign)
    session.flush()
    return campaign


def update_campaign(*, session: Session, campaign: Campaign, campaign_in: CampaignUpdate) -> list[str]:
    """Apply an edit; returns the changed fields. Any edit after submission sends the campaign back
    to draft and clears its approval: what was reviewed is no longer what would go out."""
    if campaign.status not in EDITABLE:
        raise WrongState(f"a {campaign.status} campaign cannot be edited / 当前状态不可编辑")
    values = campaign_in.model_dump(exclude_unset=True)
    if "channel" in values and values["channel"] is None:
        values.pop("channel")
    if values.get("segment_id") is not None:
        values.setdefault("segment_filter", None)
    if values.get("segment_filter") is not None:
        values.setdefault("segment_id", None)
    check_refs(session, values)
    changed = [k for k, v in values.items() if getattr(campaign, k) != v]
    for key in changed:
        setattr(campaign, key, values[key])
    if changed and campaign.status is not S.draft:
        _back_to_draft(campaign)
    session.flush()
    return changed


def _back_to_draft(campaign: Campaign) -> None:
    campaign.status = S.draft
    campaign.submitted_at = campaign.approved_at = campaign.approved_by_id = campaign.approved_hash = None


# --- what is approved ---------------------------------------------------------------------------

def segment_filter(*, session: Session, campaign: Campaign) -> dict[str, Any]:
    """The filter the campaign targets now: the saved segment's, or the inline one ({} is everyone)."""
    if campaign.segment_id is not None:
        saved = session.get(Segment, campaign.segment_id)
        if saved is None:
            raise NotReady(f"segment {campaign.segment_id} no longer exists / 人群已删除")
        return dict(saved.filter)
    return dict(campaign.segment_filter or {})


# A notice's date is the day it goes out, not content: the hashed message is drawn at one fixed instant.
_HASH_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
_LINK = "{link}"  # stands for the per-delivery tracking link in a hashed text
_NOT_CONTENT = frozenset({"created_at", "updated_at"})


def _columns(row: Any) -> dict[str, Any]:
    """Every stored field of a row: a field added later is hashed without anyone remembering to."""
    return {a.key: getattr(row, a.key) for a in inspect(row).mapper.column_attrs if a.key not in _NOT_CONTENT}


def content_hash(*, session: Session, campaign: Campaign) -> str:
    """A hash of exactly what would go out: the message as the campaign's channel sends it (template id
    and data, or the text), every field of the policy and its interpretation that the link shows, the
    audience (the filter itself, not only a saved segment's id), the channel and the send time."""
    s = get_settings()
    payload: dict[str, Any] = {k: getattr(campaign, k) for k in _CONTENT}
    payload["filter"] = segment_filter(session=session, campaign=campaign)
    message = content.build(session=session, campaign=campaign, tz=s.push_timezone, now=_HASH_INSTANT,
                            notice_issuer=s.push_notice_issuer)
    payload["landing"] = message.landing_path
    if campaign.channel is Channel.template:
        filled = templates.CampaignTemplate.from_settings(s).fill(message)
        payload["template"] = {"id": campaign.template_id or s.push_template_id, "title": filled.title,
                               "data": filled.data}
    else:
        payload["text"] = message.text(_LINK)
    if campaign.kind is CampaignKind.policy and campaign.policy_id is not None:
        policy = session.get(Policy, campaign.policy_id)
        if policy is not None:
            interp = policy.interpretation
            payload["policy"] = _columns(policy)
            payload["interpretation"] = None if interp is None else _columns(interp)
    if campaign.kind is CampaignKind.feedback and campaign.survey_id is not None:
        row = feedback.published(session=session, survey_id=campaign.survey_id)
        payload["feedback"] = None if row is None else [row.adopted, row.not_adopted]
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def approval_holds(*, session: Session, campaign: Campaign) -> bool:
    """Whether what would go out now is still exactly what was approved. A survey's rounds are approved
    with the survey: they hold while the survey still matches its own pinned hash."""
    if campaign.kind is CampaignKind.survey:
        from surveys.service import definition_hash  # surveys.service imports this module

        survey = session.get(Survey, campaign.survey_id) if campaign.survey_id is not None else None
        return survey is not None and campaign.approved_hash == survey.approved_hash == definition_hash(survey)
    try:
        return content_hash(session=session, campaign=campaign) == campaign.approved_hash
    except NotReady:  # the saved segment is gone
        return False


def stop_changed(*, session: Session, campaign: Campaign) -> Campaign:
    """A launched campaign whose approved content changed sends nothing more, and says why."""
    return pause(session=session, campaign=campaign, reason=PauseReason.changed, detail=CHANGED)


def problems(*, session: Session, campaign: Campaign, now: datetime | None = None) -> list[str]:
    """Everything that keeps the campaign from going out, each a sentence staff can act on."""
    found: list[str] = []
    if campaign.kind is CampaignKind.policy:
        policy = session.get(Policy, campaign.policy_id) if campaign.policy_id is not None else None
        if policy is None:
            found.append("the campaign names no existing policy / 未指定政策")
        else:
            if not policy.in_force:
                found.append(f"policy {policy.id} is {policy.status}, not in force / 政策不是现行有效状态")
            missing = policy.missing_parts()
            if missing:
                found.append("the policy's interpretation is incomplete (三同步), missing: "
                             + "、".join(missing) + " / 政策解读不完整")
    elif campaign.kind is CampaignKind.feedback:
        if campaign.survey_id is None or feedback.published(session=session, survey_id=campaign.survey_id) is None:
            return [*found, "the survey's 采纳情况 is not published / 问卷的采纳情况尚未发布"]
        if not feedback.askers_count(session=session, survey_id=campaign.survey_id):
            found.append("no respondent asked for the 采纳情况 / 没有答卷人订阅采纳情况")
        found += templates.problems(session=session, campaign=campaign, now=now or utcnow())
        if campaign.channel is Channel.mass_tag:
            found.append("the 采纳情况 goes to the respondents who asked, not by tag / 采纳情况不能按标签群发")
        return found
    elif not campaign.notice_text.strip():
        found.append("the notice has no text / 通知内容为空")
    try:
        filter_ = segments.parse_filter(session=session, filter=segment_filter(session=session, campaign=campaign))
    except NotReady as exc:
        return [*found, exc.message]
    except segments.SegmentFilterError as exc:
        return [*found, *(f"segment: {e}" for e in exc.errors)]
    reach = segments.preview(session=session, filter=filter_, sample_size=0, now=now).followers
    if reach == 0:
        found.append("the segment reaches no follower / 目标人群为空")
    found += templates.problems(session=session, campaign=campaign, now=now or utcnow())
    if campaign.channel is Channel.mass_tag and mass_tag_id(session=session, campaign=campaign) is None:
        found.append("mass send by tag needs a segment of exactly one park or industry section that has a "
                     "WeChat tag (synced) / 按标签群发的目标须为恰好一个已同步为微信标签的园区或行业门类")
    return found


def mass_tag_id(*, session: Session, campaign: Campaign) -> int | None:
    """WeChat's tag id when the segment is exactly one mirrored park or industry section."""
    f = segments.parse_filter(session=session, filter=segment_filter(session=session, campaign=campaign))
    dumped = f.model_dump()
    exclude = dumped.pop("exclude")
    keys = {k: v for k, v in dumped.items() if v}
    if any(exclude.values()) or len(keys) != 1:
        return None
    ((key, values),) = keys.items()
    if len(values) != 1:
        return None
    if key == "parks":
        row = session.scalar(select(WeChatTag).where(WeChatTag.park_id == values[0]))
    elif key == "industries" and len(values[0]) == 1:
        row = session.scalar(select(WeChatTag).where(WeChatTag.section == values[0]))
    else:
        row = None
    return row.tag_id if row is not None else None


# --- transitions ------------------------------------------------------------------------------------

def _require(campaign: Campaign, *allowed: CampaignStatus, to: str) -> None:
    if campaign.status not in allowed:
        names = " or ".join(s.value for s in allowed)
        raise WrongState(f"cannot {to} a {campaign.status} campaign (needs {names}) / 当前状态不允许此操作")


def record_test_send(*, session: Session, campaign: Campaign) -> None:
    campaign.test_sent_hash = content_hash(session=session, campaign=campaign)
    campaign.test_sent_at = utcnow()
    session.flush()


def submit(*, session: Session, campaign: Campaign, require_test_send: bool = True) -> Campaign:
    _require(campaign, S.draft, to="submit")
    found = problems(session=session, campaign=campaign)
    if require_test_send and campaign.test_sent_hash != content_hash(session=session, campaign=campaign):
        found.append("send a test message of the current content to yourself first / 提交前请先测试发送")
    if found:
        raise NotReady("; ".join(found), found)
    campaign.status, campaign.submitted_at = S.submitted, utcnow()
    session.flush()
    return campaign


def approve(*, session: Session, campaign: Campaign, reviewer: StaffUser) -> Campaign:
    """三审三校: a reviewer who is not the author approves; who, when and what exactly is recorded."""
    _require(campaign, S.submitted, to="approve")
    if reviewer.role not in (Role.reviewer, Role.admin):
        raise NotAllowed("only a reviewer approves / 仅审核人员可审核")
    if reviewer.id == campaign.author_id:
        raise NotAllowed("the author cannot approve their own campaign / 不能审核自己撰写的推送")
    if reviewer.created_by_id is not None and reviewer.created_by_id == campaign.author_id:
        raise NotAllowed("an account the author created cannot approve their campaign / "
                         "撰写人创建的账号不能审核其撰写的推送，请由其他审核人员审核")
    found = problems(session=session, campaign=campaign)
    if found:
        raise NotReady("; ".join(found), found)
    campaign.status = S.approved
    campaign.approved_by_id, campaign.approved_at = reviewer.id, utcnow()
    campaign.approved_hash = content_hash(session=session, campaign=campaign)
    session.flush()
    return campaign


def reject(*, session: Session, campaign: Campaign, reviewer: StaffUser, reason: str) -> Campaign:
    """Back to the author with the reviewer's reason, kept on the campaign for the author to read."""
    _require(campaign, S.submitted, S.approved, to="reject")
    if reviewer.role not in (Role.reviewer, Role.admin):
        raise NotAllowed("only a reviewer rejects / 仅审核人员可退回")
    reason = reason.strip()
    if not reason:
        raise NotReady("a rejection needs a reason for the author / 请填写退回理由")
    _back_to_draft(campaign)
    campaign.rejected_by_id, campaign.rejected_at, campaign.reject_reason = reviewer.id, utcnow(), reason
    session.flush()
    return campaign


def launch(*, session: Session, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Approved -> scheduled (send_at ahead) or running. Refused when anything approved has changed
    since (a saved segment, the policy or its interpretation): then it goes back to draft."""
    _require(campaign, S.approved, to="launch")
    now = now or utcnow()
    if not approval_holds(session=session, campaign=campaign):
        _back_to_draft(campaign)
        session.flush()
        raise WrongState("the content, policy or segment changed since approval; the campaign is back "
                         "in draft for review / 审核后内容已变更，已退回草稿，请重新测试发送并提交审核")
    campaign.launched_at = now
    if campaign.send_at is not None and campaign.send_at > now:
        campaign.status = S.scheduled
    else:
        campaign.status = S.running
    session.flush()
    return campaign


def start_due(*, session: Session, now: datetime) -> list[int]:
    """Scheduled campaigns whose send time has come (or passed while the system was down) -> running."""
    due = list(session.scalars(select(Campaign).where(Campaign.status == S.scheduled, Campaign.send_at <= now)))
    for campaign in due:
        campaign.status = S.running
    session.flush()
    return [c.id for c in due]


def pause(*, session: Session, campaign: Campaign, reason: PauseReason = PauseReason.staff,
          detail: str | None = None, until: datetime | None = None) -> Campaign:
    _require(campaign, S.running, S.scheduled, S.paused, to="pause")
    if campaign.status is S.paused and campaign.pause_reason is PauseReason.stopped:
        return campaign  # a stop outranks later pauses: staff must see why
    campaign.status, campaign.pause_reason = S.paused, reason
    campaign.pause_detail, campaign.paused_until = detail, until
    session.flush()
    return campaign


def resume(*, session: Session, campaign: Campaign) -> Campaign:
    _require(campaign, S.paused, to="resume")
    if not approval_holds(session=session, campaign=campaign):
        raise WrongState(CHANGED)
    campaign.status = S.running
    campaign.pause_reason = campaign.pause_detail = campaign.paused_until = None
    session.flush()
    return campaign


def resume_after_quota(*, session: Session, now: datetime) -> list[int]:
    rows = list(session.scalars(select(Campaign).where(
        Campaign.status == S.paused, Campaign.pause_reason == PauseReason.quota, Campaign.paused_until <= now)))
    resumed = []
    for campaign in rows:
        if approval_holds(session=session, campaign=campaign):
            resume(session=session, campaign=campaign)
            resumed.append(campaign.id)
        else:
            stop_changed(session=session, campaign=campaign)
    return resumed


def cancel(*, session: Session, campaign: Campaign) -> Campaign:
    """Stops a campaign for good; deliveries not yet sent are skipped (a claimed one may still go out)."""
    _require(campaign, S.draft, S.submitted, S.approved, S.scheduled, S.running, S.paused, to="cancel")
    campaign.status, campaign.finished_at = S.cancelled, utcnow()
    session.execute(update(Delivery).where(Delivery.campaign_id == campaign.id,
                                           Delivery.status == DeliveryStatus.pending)
                    .values(status=DeliveryStatus.skipped, reason="cancelled"))
    session.flush()
    return campaign


def finish_if_done(*, session: Session, campaign_id: int) -> bool:
    """Running and every recipient written and no delivery open -> finished."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status is not S.running or campaign.materialized_at is None:
        return False
    open_ = session.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.campaign_id == campaign_id, Delivery.status.in_(OPEN)))
    if open_:
        return False
    done = session.execute(update(Campaign).where(Campaign.id == campaign_id, Campaign.status == S.running)
                           .values(status=S.finished, finished_at=utcnow())).rowcount
    session.flush()
    return bool(done)


# --- counts -----------------------------------------------------------------------------------

def counts(*, session: Session, campaign_id: int) -> Counts:
    campaign = session.get(Campaign, campaign_id)
    if campaign is not None and campaign.channel is Channel.mass_tag:
        return _mass_counts(campaign)
    c = Counts()
    rows = session.execute(select(Delivery.status, Delivery.reason, func.count())
                           .where(Delivery.campaign_id == campaign_id)
                           .group_by(Delivery.status, Delivery.reason)).all()
    for status, reason, n in rows:
        c.targeted += n
        setattr(c, status.value, getattr(c, status.value) + n)
        if status is DeliveryStatus.failed:
            c.failed_by_reason[reason or "unknown"] = c.failed_by_reason.get(reason or "unknown", 0) + n
        if status is DeliveryStatus.skipped:
            c.skipped_by_reason[reason or "unknown"] = c.skipped_by_reason.get(reason or "unknown", 0) + n
    c.sent += c.delivered + c.blocked
    c.opened = session.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.campaign_id == campaign_id, Delivery.opened_at.is_not(None))) or 0
    return c


def _mass_counts(campaign: Campaign) -> Counts:
    """A mass send has no delivery rows: WeChat's counts from MASSSENDJOBFINISH, zero until it arrives."""
    if campaign.mass_total is None:
        return Counts()
    total, filtered = campaign.mass_total, campaign.mass_filtered or 0
    sent, errors = campaign.mass_sent or 0, campaign.mass_errors or 0
    return Counts(targeted=total, sent=sent, delivered=sent, failed=errors, skipped=total - filtered,
                  failed_by_reason={"receipt: failed": errors} if errors else {},
                  skipped_by_reason={"filtered by WeChat": total - filtered} if total > filtered else {})
