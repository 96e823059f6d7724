"""Staff API for push campaigns, the tracking redirect and the notice page. Editors compose, test-send,
submit, launch, pause, resume and cancel; a reviewer who is not the author approves. Every transition
is audited; every refusal is a clear 409 (wrong status), 422 (not fit to send) or 403 (not allowed)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from sqlalchemy import update

from core import sse
from core.db import session_scope, utcnow
from core.ids import Id
from core.problems import Problem
from core.settings import get_settings
from push import content, flows, relay, service, stats, templates
from push.exceptions import CampaignError, NotAllowed
from push.models import Campaign, CampaignKind, CampaignStatus, Delivery
from push.schemas import (
    CampaignCreate,
    CampaignDetail,
    CampaignPreview,
    CampaignRead,
    CampaignReject,
    CampaignStats,
    CampaignUpdate,
    RelayPark,
    TestSendResult,
)
from staff.deps import CurrentUser, DbSession, require
from staff.models import Role, StaffUser
from staff.service import audit, record_refusal

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])
public = APIRouter(tags=["campaigns"], include_in_schema=False)
Editor = Annotated[StaffUser, Depends(require(Role.editor))]
Reviewer = Annotated[StaffUser, Depends(require(Role.reviewer))]
Reader = Annotated[StaffUser, Depends(require(Role.editor, Role.reviewer, Role.analyst))]
FULL_VIEW = frozenset({Role.admin, Role.editor})
TERMINAL = (CampaignStatus.finished, CampaignStatus.cancelled)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_REFUSALS = {409: {"model": Problem, "description": "not allowed in the campaign's status"},
             422: {"model": Problem, "description": "content or audience not fit to send"}, 403: {"model": Problem, "description": "not allowed"}}


def campaign_or_404(campaign_id: Id, session: DbSession, _user: CurrentUser) -> Campaign:
    campaign = service.get(session=session, campaign_id=campaign_id)
    if campaign is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"campaign {campaign_id} not found")
    return campaign


Found = Annotated[Campaign, Depends(campaign_or_404)]


@contextmanager
def refusals() -> Iterator[None]:
    try:
        yield
    except CampaignError as exc:
        raise HTTPException(exc.status_code, {"message": exc.message, "problems": exc.problems}) from None


def _audit(session, actor: StaffUser, action: str, campaign: Campaign, **detail) -> None:
    audit(session=session, actor=actor, action=f"campaign.{action}", target=f"campaign:{campaign.id}",
          status=str(campaign.status), **detail)


def _detail(session, campaign: Campaign) -> CampaignDetail:
    return CampaignDetail(**CampaignRead.model_validate(campaign).model_dump(),
                          counts=service.counts(session=session, campaign_id=campaign.id))


@router.post("", status_code=201, response_model=CampaignRead, responses=_REFUSALS)
def create_campaign(body: CampaignCreate, session: DbSession, user: Editor) -> Campaign:
    with refusals():
        campaign = service.create(session=session, campaign_in=body, author=user)
    _audit(session, user, "create", campaign)
    return campaign


@router.get("", response_model=list[CampaignRead])
def list_campaigns(session: DbSession, _: Reader, status_: Annotated[CampaignStatus | None, Query(alias="status")] = None,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50, before_id: Id | None = None) -> list[Campaign]:
    return service.list_campaigns(session=session, status=status_, limit=limit, before_id=before_id)


@router.get("/{campaign_id}", response_model=CampaignDetail)
def get_campaign(campaign: Found, session: DbSession, _: Reader) -> CampaignDetail:
    return _detail(session, campaign)


@router.get("/{campaign_id}/preview", response_model=CampaignPreview)
def preview(campaign: Found, session: DbSession, _: Reader) -> CampaignPreview:
    """What the follower's WeChat will show: a template message's rows fitted to their typed keys
    (`warnings` name the values shortened, `problems` those that cannot be sent and keep submit refused)."""
    return templates.preview(session=session, campaign=campaign, now=utcnow())


@router.patch("/{campaign_id}", response_model=CampaignRead, responses=_REFUSALS)
def update_campaign(campaign: Found, body: CampaignUpdate, session: DbSession, user: Editor) -> Campaign:
    before = campaign.status
    with refusals():
        changed = service.update_campaign(session=session, campaign=campaign, campaign_in=body)
    _audit(session, user, "update", campaign, changed=changed, was=str(before))
    return campaign


@router.post("/{campaign_id}/test-send", response_model=TestSendResult, responses=_REFUSALS)
def test_send(campaign: Found, session: DbSession, user: Editor) -> TestSendResult:
    with refusals():
        result = flows.test_send(session=session, campaign=campaign, staff=user)
    _audit(session, user, "test_send", campaign, msgid=result.msgid)
    return result


def _transition(name: str, campaign: Campaign, session, user: StaffUser, **kwargs) -> CampaignDetail:
    with refusals():
        try:
            getattr(service, name)(session=session, campaign=campaign, **kwargs)
        except NotAllowed as exc:  # who may not: kept in the audit log
            session.rollback()
            record_refusal(session=session, actor=user, action=f"campaign.{name}", target=f"campaign:{campaign.id}",
                           reason=exc.message)
            raise
    extra = {"approve": {"hash": campaign.approved_hash}, "reject": {"reason": campaign.reject_reason}}.get(name, {})
    _audit(session, user, name, campaign, **extra)
    return _detail(session, campaign)


@router.post("/{campaign_id}/submit", response_model=CampaignDetail, responses=_REFUSALS)
def submit(campaign: Found, session: DbSession, user: Editor) -> CampaignDetail:
    return _transition("submit", campaign, session, user,
                       require_test_send=get_settings().push_require_test_send)


@router.post("/{campaign_id}/approve", response_model=CampaignDetail, responses=_REFUSALS)
def approve(campaign: Found, session: DbSession, user: Reviewer) -> CampaignDetail:
    return _transition("approve", campaign, session, user, reviewer=user)


@router.post("/{campaign_id}/reject", response_model=CampaignDetail, responses=_REFUSALS)
def reject(campaign: Found, body: CampaignReject, session: DbSession, user: Reviewer) -> CampaignDetail:
    return _transition("reject", campaign, session, user, reviewer=user, reason=body.reason)


@router.post("/{campaign_id}/launch", response_model=CampaignDetail, responses=_REFUSALS)
def launch(campaign: Found, session: DbSession, user: Editor) -> CampaignDetail:
    try:
        detail = _transition("launch", campaign, session, user)
    except HTTPException:
        session.commit()  # a launch refused for changed content still sends the campaign back to draft
        raise
    session.commit()
    flows.after_launch(campaign)  # enqueued only after the commit
    return detail


@router.post("/{campaign_id}/pause", response_model=CampaignDetail, responses=_REFUSALS)
def pause(campaign: Found, session: DbSession, user: Editor) -> CampaignDetail:
    return _transition("pause", campaign, session, user)


@router.post("/{campaign_id}/resume", response_model=CampaignDetail, responses=_REFUSALS)
def resume(campaign: Found, session: DbSession, user: Editor) -> CampaignDetail:
    detail = _transition("resume", campaign, session, user)
    session.commit()
    flows.after_launch(campaign)
    return detail


@router.post("/{campaign_id}/cancel", response_model=CampaignDetail, responses=_REFUSALS)
def cancel(campaign: Found, session: DbSession, user: Editor) -> CampaignDetail:
    return _transition("cancel", campaign, session, user)


@router.get("/{campaign_id}/stats", response_model=CampaignStats)
def campaign_stats(campaign: Found, session: DbSession, _: Reader) -> CampaignStats:
    return stats.campaign_stats(session=session, campaign_id=campaign.id)


@router.get("/{campaign_id}/progress", summary="Server-sent events: status and counts each second until it ends",
            description="`progress` events (JSON: status, pause_reason, counts), then `finished` once the "
                        "campaign is finished, cancelled or failed.")
def progress(request: Request, campaign: Found, _: Reader,
             interval: Annotated[float, Query(ge=0.2, le=30)] = 1.0) -> StreamingResponse:
    campaign_id = campaign.id

    def read() -> tuple[str, bool]:
        with session_scope() as s:
            current = s.get(Campaign, campaign_id)
            body = {"status": str(current.status), "pause_reason": current.pause_detail,
                    "counts": service.counts(session=s, campaign_id=campaign_id).model_dump()}
            return json.dumps(body, ensure_ascii=False), current.status in TERMINAL

    return sse.follow(request, read, name="progress", interval=interval)


@router.get("/{campaign_id}/relay", response_model=list[RelayPark])
def relay_parks(campaign: Found, session: DbSession, _: Reader) -> list[RelayPark]:
    return relay.parks(session=session, campaign=campaign)


@router.get("/{campaign_id}/relay/{park_id}.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}}})
def relay_xlsx(campaign: Found, park_id: Id, session: DbSession, user: Reader) -> Response:
    data = relay.park_workbook(session=session, campaign=campaign, park_id=park_id,
                               full_contacts=user.role in FULL_VIEW)
    if data is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"park {park_id} has no enterprise in this campaign")
    audit(session=session, actor=user, action="campaign.relay_export", target=f"campaign:{campaign.id}",
          park_id=park_id, full_contacts=user.role in FULL_VIEW)
    return Response(data, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="campaign-{campaign.id}-park-{park_id}.xlsx"'})


@public.get("/t/{token}")
def track(token: str, session: DbSession) -> RedirectResponse:
    """A message's link: note the first open, then go to the policy's (or notice's) H5 page."""
    delivery_id = content.read_tracking_token(get_settings().signing_key, token)
    delivery = session.get(Delivery, delivery_id) if delivery_id is not None else None
    if delivery is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown link")
    session.execute(update(Delivery).where(Delivery.id == delivery.id, Delivery.opened_at.is_(None))
                    .values(opened_at=utcnow()))
    campaign = session.get(Campaign, delivery.campaign_id)
    if campaign.kind is CampaignKind.feedback:
        return RedirectResponse(f"/s/feedback/{campaign.survey_id}", status_code=302)
    target = (f"/p/{campaign.policy_id}" if campaign.kind is CampaignKind.policy and campaign.policy_id
              else f"/notice/{campaign.id}")
    return RedirectResponse(target, status_code=302)


@public.get("/notice/{campaign_id}", response_class=HTMLResponse)
def notice_page(campaign_id: Id, session: DbSession) -> HTMLResponse:
    campaign = service.get(session=session, campaign_id=campaign_id)
    if campaign is None or campaign.kind is not CampaignKind.notice or campaign.launched_at is None:
        return HTMLResponse("<!doctype html><meta charset=utf-8><h1>页面不存在</h1>", status_code=404)
    body = "".join(f"<p>{escape(line)}</p>" for line in campaign.notice_text.splitlines() if line.strip())
    return HTMLResponse("<!doctype html><html lang=zh-CN><head><meta charset=utf-8>"
                        "<meta name=viewport content='width=device-width,initial-scale=1'>"
                        f"<title>{escape(campaign.title)}</title></head><body style='max-width:720px;"
                        f"margin:0 auto;padding:16px;font:16px/1.7 sans-serif'><h1>{escape(campaign.title)}</h1>"
                        f"{body}</body></html>")
