"""问卷 · 采纳情况: staff write what was adopted from a survey's answers and what not and why, publish it as
the page the survey links to, and compose the push that sends it to the respondents who asked for it, which
then goes through review like any campaign. The same services and validation as the staff API."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from console import forms, sessions
from console.deps import EDITORS, AnyStaff, Editor, Staff, check_csrf
from console.campaigns import _audit as audit_campaign
from console.surveys import Found, _audit
from console.templating import render
from push import service as campaigns
from push.exceptions import CampaignError
from push.models import CampaignKind
from push.schemas import CampaignCreate
from staff.deps import DbSession
from surveys import feedback
from surveys.feedback_api import FeedbackBody
from surveys.models import Survey

router = APIRouter(prefix="/console/surveys", include_in_schema=False, dependencies=[Depends(check_csrf)])


class FeedbackForm(BaseModel):
    adopted: str = ""
    not_adopted: str = ""
    action: str = "save"  # save, or publish (save and publish)


def _page(request: Request, session: Session, staff: Staff, survey: Survey, *, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    row = feedback.get(session=session, survey_id=survey.id)
    values = values or {"adopted": row.adopted if row else "", "not_adopted": row.not_adopted if row else ""}
    return render(request, "surveys/feedback.html", {
        "survey": survey, "row": row, "values": values, "errors": errors or {},
        "askers": feedback.askers_count(session=session, survey_id=survey.id),
        "page_path": feedback.page_path(survey.id), "can_edit": staff.can(EDITORS)},
        staff=staff, status_code=status_code)


@router.get("/{survey_id}/feedback", response_class=HTMLResponse)
def show(request: Request, survey: Found, session: DbSession, staff: AnyStaff) -> HTMLResponse:
    return _page(request, session, staff, survey)


@router.post("/{survey_id}/feedback", response_class=HTMLResponse)
def save(request: Request, survey: Found, form: Annotated[FeedbackForm, Form()], session: DbSession,
         staff: Editor) -> Response:
    values = {"adopted": form.adopted, "not_adopted": form.not_adopted}
    body, errors = forms.parse(FeedbackBody, values)
    if body is None:
        return _page(request, session, staff, survey, values=values, errors=errors, status_code=422)
    try:
        row = feedback.write(session=session, survey=survey, adopted=body.adopted, not_adopted=body.not_adopted)
        if form.action == "publish":
            feedback.publish(session=session, survey=survey)
    except CampaignError as exc:
        return _page(request, session, staff, survey, values=values, errors={"": str(exc)}, status_code=422)
    _audit(session, staff, "feedback", survey, published=row.published_at is not None)
    if form.action == "publish":
        _audit(session, staff, "feedback.publish", survey)
    sessions.flash(staff.session.token, "采纳情况已发布" if form.action == "publish" else "采纳情况已保存")
    return RedirectResponse(f"/console/surveys/{survey.id}/feedback", status_code=303)


@router.post("/{survey_id}/feedback/push")
def compose_push(request: Request, survey: Found, session: DbSession, staff: Editor) -> Response:
    """A draft campaign to the respondents who asked; its review, launch and progress are the campaign's."""
    if feedback.published(session=session, survey_id=survey.id) is None:
        return _page(request, session, staff, survey, errors={"": "请先发布采纳情况，再生成推送"}, status_code=409)
    try:
        campaign = campaigns.create(session=session, author=staff.user, campaign_in=CampaignCreate(
            title=f"{survey.title} · 采纳情况"[:200], kind=CampaignKind.feedback, survey_id=survey.id))
    except CampaignError as exc:
        return _page(request, session, staff, survey, errors={"": str(exc)}, status_code=422)
    audit_campaign(session, staff, "create", campaign, survey=survey.id)
    sessions.flash(staff.session.token, "已生成采纳情况推送草稿：预览、测试发送后提交审核")
    return RedirectResponse(f"/console/campaigns/{campaign.id}", status_code=303)
