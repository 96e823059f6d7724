"""推送: the campaign list, compose and edit, the detail page with its preview, actions and live
progress. Each route parses with the API's schemas and calls the same push services and flows."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from console import forms, labels, sessions
from console.deps import EDITORS, REVIEWERS, AnyStaff, Editor, Reviewer, Staff, check_csrf
from console.templating import TZ, keyset_page, render
from console.templating import templates as page_templates
from core import cache, sse
from core.db import session_scope, utcnow
from core.ids import Id
from core.settings import get_settings
from policies import service as policies
from policies.models import PolicyStatus
from push import flows, service, stats, templates
from push.exceptions import CampaignError, NotAllowed
from push.models import Campaign, CampaignStatus
from push.quiet import quiet_until
from push.schemas import CampaignCreate, CampaignStats, CampaignUpdate
from staff.deps import DbSession
from staff.models import StaffUser
from staff.service import audit, record_refusal
from subscriptions import service as subscriptions
from subscriptions.models import Park, Segment

router = APIRouter(prefix="/console/campaigns", include_in_schema=False, dependencies=[Depends(check_csrf)])
PAGE = 20
S = CampaignStatus


def campaign_or_404(campaign_id: Id, session: DbSession) -> Campaign:
    campaign = service.get(session=session, campaign_id=campaign_id)
    if campaign is None:
        raise HTTPException(404, f"推送 {campaign_id} 不存在")
    return campaign


Found = Annotated[Campaign, Depends(campaign_or_404)]


def _audit(session: Session, staff: Staff, action: str, campaign: Campaign, **detail: Any) -> None:
    audit(session=session, actor=staff.user, action=f"campaign.{action}", target=f"campaign:{campaign.id}",
          status=str(campaign.status), **detail)


@router.get("", response_class=HTMLResponse)
def campaign_list(request: Request, session: DbSession, staff: AnyStaff,
                  status: Annotated[S | None, Query(), forms.Blank] = None,
                  before_id: int | None = None) -> HTMLResponse:
    rows = service.list_campaigns(session=session, status=status, limit=PAGE + 1, before_id=before_id)
    rows, next_id = keyset_page(rows, PAGE)
    name = "campaigns/_rows.html" if request.headers.get("HX-Target") == "campaign-rows" else "campaigns/list.html"
    return render(request, name, {"campaigns": rows, "status": status, "next_before": next_id,
                                  "statuses": labels.CAMPAIGN_STATUS, "labels": labels}, staff=staff)


# --- compose and edit ---------------------------------------------------------------------------------

def _choices(session: Session) -> dict[str, Any]:
    _, in_force = policies.list_policies(session=session, status=PolicyStatus.in_force, limit=200)
    return {"policies": in_force, "segments": subscriptions.list_segments(session=session),
            "parks": subscriptions.list_parks(session=session), "channels": labels.CHANNEL}


class ComposeForm(BaseModel):
    """The compose form as posted: strings, turned into the API's body by `_body`."""

    title: str = ""
    kind: str = "policy"
    policy_id: str = ""
    notice_text: str = ""
    summary: str = ""
    channel: str = "template"
    segment_id: str = ""
    park_id: str = ""
    send_at: str = ""
    quiet: str = "default"  # default (the settings' window), none, or custom (quiet_hours)
    quiet_hours: str = ""


Compose = Annotated[ComposeForm, Form()]


def _body(form: ComposeForm) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's JSON body: audience from a saved segment, one park, or everyone; the send time read
    as China time."""
    f = {k: v.strip() for k, v in form.model_dump().items()}
    data: dict[str, Any] = {k: f[k] for k in ("title", "kind", "summary", "notice_text")}
    data["channel"] = f["channel"] or None
    errors: dict[str, str] = {}
    if f["policy_id"]:
        data["policy_id"] = f["policy_id"]
    if f["segment_id"]:
        data["segment_id"] = f["segment_id"]
    elif park := f["park_id"]:  # a number, as in the API's JSON (the stored filter is hashed at approval)
        data["segment_filter"] = {"parks": [int(park) if park.isdecimal() else park]}
    else:
        data["segment_filter"] = {}
    data["send_at"] = None
    if f["send_at"]:
        try:
            data["send_at"] = datetime.fromisoformat(f["send_at"]).replace(tzinfo=TZ)
        except ValueError:
            errors["send_at"] = "时间格式有误"
    data["quiet_hours"] = {"none": "", "custom": f["quiet_hours"]}.get(f["quiet"])
    return data, errors


def _form_page(request: Request, session: Session, staff: Staff, *, values: dict[str, Any],
               errors: dict[str, str], campaign: Campaign | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "campaigns/form.html", {"values": values, "errors": errors, "campaign": campaign,
                                                   "default_quiet": get_settings().push_quiet_hours,
                                                   **_choices(session)}, staff=staff, status_code=status_code)


def _values(campaign: Campaign) -> dict[str, Any]:
    parks = (campaign.segment_filter or {}).get("parks") or [""]
    return {"title": campaign.title, "kind": campaign.kind.value, "policy_id": campaign.policy_id,
            "summary": campaign.summary, "channel": campaign.channel.value, "notice_text": campaign.notice_text,
            "segment_id": campaign.segment_id, "park_id": parks[0],
            "send_at": campaign.send_at.astimezone(TZ).strftime("%Y-%m-%dT%H:%M") if campaign.send_at else "",
            "quiet": {None: "default", "": "none"}.get(campaign.quiet_hours, "custom"),
            "quiet_hours": campaign.quiet_hours or ""}


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, session: DbSession, staff: Editor) -> HTMLResponse:
    return _form_page(request, session, staff, values={"kind": "policy", "channel": "template", "quiet": "default"},
                      errors={})


@router.post("/new", response_class=HTMLResponse)
def create(request: Request, form: Compose, session: DbSession, staff: Editor) -> Response:
    data, errors = _body(form)
    body, problems = forms.parse(CampaignCreate, data)
    errors |= problems
    values = form.model_dump()
    if body is None or errors:
        return _form_page(request, session, staff, values=values, errors=errors, status_code=422)
    try:
        campaign = service.create(session=session, campaign_in=body, author=staff.user)
    except CampaignError as exc:
        return _form_page(request, session, staff, values=values, errors={"": _cn(exc)}, status_code=422)
    _audit(session, staff, "create", campaign)
    sessions.flash(staff.session.token, "推送草稿已保存")
    return RedirectResponse(f"/console/campaigns/{campaign.id}", status_code=303)


@router.get("/{campaign_id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, campaign: Found, session: DbSession, staff: Editor) -> HTMLResponse:
    return _form_page(request, session, staff, values=_values(campaign), errors={}, campaign=campaign)


@router.post("/{campaign_id}/edit", response_class=HTMLResponse)
def edit(request: Request, campaign: Found, form: Compose, session: DbSession, staff: Editor) -> Response:
    data, errors = _body(form)
    data.pop("kind")  # a campaign keeps its kind
    body, problems = forms.parse(CampaignUpdate, data)
    errors |= problems
    values = form.model_dump()
    if body is None or errors:
        return _form_page(request, session, staff, values=values, errors=errors, campaign=campaign,
                          status_code=422)
    before = campaign.status
    try:
        changed = service.update_campaign(session=session, campaign=campaign, campaign_in=body)
    except CampaignError as exc:
        return _form_page(request, session, staff, values=values, errors={"": _cn(exc)}, campaign=campaign,
                          status_code=422)
    _audit(session, staff, "update", campaign, changed=changed, was=str(before))
    back = before is not S.draft and changed
    sessions.flash(staff.session.token, "已保存" + ("；推送已退回草稿，请重新测试发送并提交审核" if back else ""))
    return RedirectResponse(f"/console/campaigns/{campaign.id}", status_code=303)


def _cn(exc: CampaignError) -> str:
    """The Chinese half of the domain's "English / 中文" messages."""
    parts = exc.problems or [exc.message]
    return "；".join(p.rsplit(" / ", 1)[-1] if " / " in p else p for p in parts)


# --- the detail page ----------------------------------------------------------------------------------

def _progress_context(session: Session, campaign: Campaign) -> dict[str, Any]:
    """The live part of the page: status and counts, streamed while the campaign may still move."""
    counts = service.counts(session=session, campaign_id=campaign.id)
    done = counts.targeted - counts.pending - counts.claimed
    settings = get_settings()
    quiet = campaign.quiet_hours if campaign.quiet_hours is not None else settings.push_quiet_hours
    waits = quiet_until(quiet, settings.push_timezone, utcnow()) if campaign.status is S.running else None
    return {"campaign": campaign, "counts": counts, "labels": labels, "percent": round(100 * done / counts.targeted) if counts.targeted else 0,
            "live": campaign.status in (S.running, S.scheduled, S.paused), "quiet": quiet, "quiet_until": waits}


def _stats(session: Session, campaign: Campaign) -> CampaignStats:
    """The breakdown by industry and park, cached (it joins every delivery to its enterprise) per status, so
    that a change of status, such as the end of sending, is shown at once."""
    return CampaignStats.model_validate(cache.cached(
        f"campaign-stats:{campaign.id}:{campaign.status}",
        lambda: stats.campaign_stats(session=session, campaign_id=campaign.id).model_dump(mode="json")))


@router.get("/{campaign_id}", response_class=HTMLResponse)
def detail(request: Request, campaign: Found, session: DbSession, staff: AnyStaff) -> HTMLResponse:
    return _detail_page(request, session, staff, campaign)


def _detail_page(request: Request, session: Session, staff: Staff, campaign: Campaign, *, refusal: str = "",
                 status_code: int = 200) -> HTMLResponse:
    launched = campaign.launched_at is not None
    author = session.get(StaffUser, campaign.author_id)
    context = {"preview": templates.preview(session=session, campaign=campaign, now=utcnow()),
               "audience": _audience(session, campaign), "author": author.username if author else "",
               "is_author": campaign.author_id == staff.user.id, "refusal": refusal,
               "problems": service.problems(session=session, campaign=campaign) if campaign.status is S.draft else [],
               "stats": _stats(session, campaign) if launched else None,
               "rejection": _last_rejection(session, campaign), "can_edit": staff.can(EDITORS),
               "can_review": staff.can(REVIEWERS) and campaign.author_id != staff.user.id,
               **_progress_context(session, campaign)}
    return render(request, "campaigns/detail.html", context, staff=staff, status_code=status_code)


def _audience(session: Session, campaign: Campaign) -> str:
    """Who the campaign is for, by the names staff chose them by."""
    if campaign.segment_id:
        segment = session.get(Segment, campaign.segment_id)
        return f"分组：{segment.name}" if segment else f"分组 #{campaign.segment_id}"
    criteria = campaign.segment_filter or {}
    if parks := [int(p) for p in criteria.get("parks") or [] if str(p).isdecimal()]:
        return "园区：" + "、".join(session.scalars(select(Park.name).where(Park.id.in_(parks))))
    return "按条件筛选的粉丝" if any(criteria.values()) else "全部可达粉丝"


def _last_rejection(session: Session, campaign: Campaign) -> dict[str, Any] | None:
    """The reviewer's reason, shown to the author while the campaign is back in draft."""
    if campaign.status is not S.draft or campaign.rejected_at is None:
        return None
    reviewer = session.get(StaffUser, campaign.rejected_by_id) if campaign.rejected_by_id else None
    return {"reason": campaign.reject_reason, "by": reviewer.username if reviewer else "", "at": campaign.rejected_at}


@router.get("/{campaign_id}/progress/stream")
def progress_stream(request: Request, campaign: Found, _staff: AnyStaff) -> Response:
    """The live part of the page as server-sent events, each second until the campaign can no longer move."""
    campaign_id = campaign.id

    def read() -> tuple[str, bool]:
        with session_scope() as s:
            context = _progress_context(s, s.get(Campaign, campaign_id))
            return page_templates.get_template("campaigns/_progress_body.html").render(context), not context["live"]

    return sse.follow(request, read, name="progress", interval=1.0)


# --- actions ------------------------------------------------------------------------------------------

def _refused(request: Request, session: Session, staff: Staff, campaign: Campaign, exc: CampaignError,
             *, keep: bool = False) -> HTMLResponse:
    """A refused action changes nothing (except what the domain itself keeps: a launch refused for
    changed content sends the campaign back to draft): the page again, saying why, with the API's status.
    A refusal of who may act (403) is kept in the audit log."""
    if keep:
        session.commit()
    else:
        session.rollback()
    if isinstance(exc, NotAllowed):
        action = request.url.path.rsplit("/", 1)[-1].replace("-", "_")
        record_refusal(session=session, actor=staff.user, action=f"campaign.{action}",
                       target=f"campaign:{campaign.id}", reason=exc.message)
    session.refresh(campaign)
    return _detail_page(request, session, staff, campaign, refusal=_cn(exc), status_code=exc.status_code)


def _done(staff: Staff, campaign: Campaign, message: str) -> RedirectResponse:
    sessions.flash(staff.session.token, message)
    return RedirectResponse(f"/console/campaigns/{campaign.id}", status_code=303)


@router.post("/{campaign_id}/test-send")
def test_send(request: Request, campaign: Found, session: DbSession, staff: Editor) -> Response:
    try:
        result = flows.test_send(session=session, campaign=campaign, staff=staff.user)
    except CampaignError as exc:
        return _refused(request, session, staff, campaign, exc)
    _audit(session, staff, "test_send", campaign, msgid=result.msgid)
    return _done(staff, campaign, f"已测试发送到本人微信（{result.openid}）")


@router.post("/{campaign_id}/submit")
def submit(request: Request, campaign: Found, session: DbSession, staff: Editor) -> Response:
    try:
        service.submit(session=session, campaign=campaign, require_test_send=get_settings().push_require_test_send)
    except CampaignError as exc:
        return _refused(request, session, staff, campaign, exc)
    _audit(session, staff, "submit", campaign)
    return _done(staff, campaign, "已提交审核")


@router.post("/{campaign_id}/approve")
def approve(request: Request, campaign: Found, session: DbSession, staff: Reviewer) -> Response:
    try:
        service.approve(session=session, campaign=campaign, reviewer=staff.user)
    except CampaignError as exc:
        return _refused(request, session, staff, campaign, exc)
    _audit(session, staff, "approve", campaign, hash=campaign.approved_hash)
    return _done(staff, campaign, "审核通过")


@router.post("/{campaign_id}/reject")
def reject(request: Request, campaign: Found, session: DbSession, staff: Reviewer,
           reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        service.reject(session=session, campaign=campaign, reviewer=staff.user, reason=reason)
    except CampaignError as exc:
        return _refused(request, session, staff, campaign, exc)
    _audit(session, staff, "reject", campaign, reason=campaign.reject_reason)
    return _done(staff, campaign, "已退回给撰写人")


@router.post("/{campaign_id}/launch")
def launch(request: Request, campaign: Found, session: DbSession, staff: Editor) -> Response:
    try:
        service.launch(session=session, campaign=campaign)
    except CampaignError as exc:
        return _refused(request, session, staff, campaign, exc, keep=True)
    _audit(session, staff, "launch", campaign)
    session.commit()
    flows.after_launch(campaign)  # enqueued only after the commit
    return _done(staff, campaign, "已启动发送" if campaign.status is S.running else "已排期，到时自动发送")


@router.post("/{campaign_id}/pause")
def pause(request: Request, campaign: Found, session: DbSession, staff: Editor) -> Response:
    try:
        service.pause(session=session, campaign=campaign)
    except CampaignError as exc:
        return _refused(request, session, staff, campaign, exc)
    _audit(session, staff, "pause", campaign)
    return _done(staff, campaign, "已暂停")


@router.post("/{campaign_id}/resume")
def resume(request: Request, campaign: Found, session: DbSession, staff: Editor) -> Response:
    try:
        service.resume(session=session, campaign=campaign)
    except CampaignError as exc:
        return _refused(request, session, staff, campaign, exc)
    _audit(session, staff, "resume", campaign)
    session.commit()
    flows.after_launch(campaign)
    return _done(staff, campaign, "已恢复发送")


@router.post("/{campaign_id}/cancel")
def cancel(request: Request, campaign: Found, session: DbSession, staff: Editor) -> Response:
    try:
        service.cancel(session=session, campaign=campaign)
    except CampaignError as exc:
        return _refused(request, session, staff, campaign, exc)
    _audit(session, staff, "cancel", campaign)
    return _done(staff, campaign, "已取消")
