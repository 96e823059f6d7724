"""Staff API and public page of a survey's 采纳情况 (surveys.feedback): editors write and publish it;
anyone may read a published one at /s/feedback/{survey_id}; a respondent asks for it on the thank-you
page of the form (/s/{token}/feedback)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from core.db import request_session
from core.text import TextInput
from push.api import refusals
from staff.deps import DbSession
from surveys import feedback, respond
from surveys.api import _REFUSALS, Editor, Found, Reader, _audit
from surveys.form import WEUI, templates
from surveys.models import RecipientStatus, Survey

router = APIRouter(prefix="/api/surveys", tags=["surveys"])
public = APIRouter(tags=["surveys"], include_in_schema=False)
Db = Annotated[Session, Depends(request_session, scope="function")]


class FeedbackBody(TextInput):
    adopted: str = Field("", max_length=feedback.MAX_CHARS, description="采纳的意见和建议")
    not_adopted: str = Field("", max_length=feedback.MAX_CHARS, description="未采纳的及原因")


class FeedbackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    survey_id: int
    adopted: str
    not_adopted: str
    published_at: datetime | None
    updated_at: datetime
    page_path: str = ""


def _read(row) -> FeedbackRead:
    return FeedbackRead.model_validate(row).model_copy(update={"page_path": feedback.page_path(row.survey_id)})


@router.get("/{survey_id}/feedback", response_model=FeedbackRead)
def get_feedback(survey: Found, session: DbSession, _: Reader) -> FeedbackRead:
    row = feedback.get(session=session, survey_id=survey.id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "尚未填写采纳情况")
    return _read(row)


@router.put("/{survey_id}/feedback", response_model=FeedbackRead, responses=_REFUSALS)
def write_feedback(survey: Found, body: FeedbackBody, session: DbSession, user: Editor) -> FeedbackRead:
    with refusals():
        row = feedback.write(session=session, survey=survey, adopted=body.adopted, not_adopted=body.not_adopted)
    _audit(session, user, "feedback", survey, published=row.published_at is not None)
    return _read(row)


@router.post("/{survey_id}/feedback/publish", response_model=FeedbackRead, responses=_REFUSALS)
def publish_feedback(survey: Found, session: DbSession, user: Editor) -> FeedbackRead:
    with refusals():
        row = feedback.publish(session=session, survey=survey)
    _audit(session, user, "feedback.publish", survey)
    return _read(row)


@public.get("/s/feedback/{survey_id}", response_class=HTMLResponse)
def feedback_page(request: Request, survey_id: int, session: Db) -> HTMLResponse:
    survey = session.get(Survey, survey_id) if 0 < survey_id < 2**31 else None
    row = feedback.published(session=session, survey_id=survey_id) if survey is not None else None
    if row is None:
        return templates.TemplateResponse(request, "message.html", {
            "weui": WEUI, "title": "采纳情况", "text": "采纳情况尚未发布。"}, status_code=404)
    return templates.TemplateResponse(request, "feedback.html", {
        "weui": WEUI, "title": f"{survey.title} · 采纳情况", "survey": survey, "feedback": row})


@public.post("/s/{token}/feedback", response_class=HTMLResponse)
def ask_for_feedback(request: Request, token: str, session: Db,
                     wants: Annotated[str, Form(max_length=8)] = "1") -> HTMLResponse:
    rec, _ = respond.by_token(session=session, token=token) or (None, None)
    if rec is None or rec.status is not RecipientStatus.completed:
        return templates.TemplateResponse(request, "message.html", {
            "weui": WEUI, "title": "问卷", "text": "链接无效，或问卷尚未提交。"}, status_code=404)
    feedback.ask(session=session, rec=rec, wants=wants == "1")
    text = ("已记下：采纳情况发布后将通过公众号消息告知您。" if rec.wants_feedback
            else "已取消：不再向您发送本问卷的采纳情况。")
    return templates.TemplateResponse(request, "message.html", {"weui": WEUI, "title": "采纳情况", "text": text})
