"""问卷: the survey list, the form with its definition as SurveyJS JSON (typed, uploaded or built), the
detail page with the phone preview, the review and the lifecycle actions, the live response rate and the
results with charts. Each route parses with the API's schemas and calls the same surveys services."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from console import forms, labels, sessions
from console.deps import EDITORS, FULL_VIEW, REVIEWERS, AnyStaff, Editor, Reviewer, Staff, check_csrf
from console.templating import TZ, keyset_page, render
from core.ids import Id
from core.masking import mask_data
from policies import service as policies
from push.exceptions import CampaignError, NotReady
from staff.deps import DbSession
from staff.models import StaffUser
from staff.service import audit
from subscriptions import service as subscriptions
from surveys import definition as definitions
from surveys import export, feedback, figures, results, service
from surveys import form as survey_form
from surveys.api import MAX_DEFINITION_BYTES, XLSX
from surveys.models import Survey, SurveyStatus
from surveys.schemas import SurveyCreate, SurveyUpdate

router = APIRouter(prefix="/console/surveys", include_in_schema=False, dependencies=[Depends(check_csrf)])
PAGE = 20
S = SurveyStatus
STARTER = {"pages": [{"name": "p1", "elements": [
    {"type": "radiogroup", "name": "q1", "title": "您对这项政策的了解程度？", "isRequired": True,
     "choices": [{"value": "well", "text": "很了解"}, {"value": "some", "text": "了解一些"},
                 {"value": "none", "text": "不了解"}]}]}]}


def survey_or_404(survey_id: Id, session: DbSession) -> Survey:
    survey = service.get(session=session, survey_id=survey_id)
    if survey is None:
        raise HTTPException(404, f"问卷 {survey_id} 不存在")
    return survey


Found = Annotated[Survey, Depends(survey_or_404)]


def _audit(session: Session, staff: Staff, action: str, survey: Survey, **detail: Any) -> None:
    audit(session=session, actor=staff.user, action=f"survey.{action}", target=f"survey:{survey.id}",
          status=str(survey.status), **detail)


@router.get("", response_class=HTMLResponse)
def survey_list(request: Request, session: DbSession, staff: AnyStaff,
                status: Annotated[S | None, Query(), forms.Blank] = None, before_id: int | None = None) -> HTMLResponse:
    rows = service.list_surveys(session=session, status=status, limit=PAGE + 1, before_id=before_id)
    rows, next_id = keyset_page(rows, PAGE)
    name = "surveys/_rows.html" if request.headers.get("HX-Target") == "survey-rows" else "surveys/list.html"
    return render(request, name, {"surveys": rows, "status": status, "next_before": next_id,
                                  "statuses": labels.SURVEY_STATUS}, staff=staff)


# --- the form -----------------------------------------------------------------------------------------

class SurveyForm(BaseModel):
    """The survey form as posted: strings, turned into the API's body by `_body`."""

    title: str = ""
    introduction: str = ""
    purpose: str = "general"
    policy_id: str = ""
    opens_at: str = ""
    closes_at: str = ""
    audience: str = ""  # "public", or a saved segment's id
    anonymous: str = ""
    quotas: str = "[]"
    reminders_max: str = "2"
    reminder_gap_days: str = "3"
    definition: str = ""


Posted = Annotated[SurveyForm, Form()]
Upload = Annotated[UploadFile | None, File()]


def _china_time(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=TZ)


def _json(text: str, what: str) -> tuple[Any, str | None]:
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"{what}不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列附近有误"


def _body(form: SurveyForm, survey: Survey | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The API's JSON body, and the errors found before the schema sees it. The definition's problems are
    all listed (under "definition_problems"), each where it is, in the domain's own Chinese."""
    f = {k: v.strip() for k, v in form.model_dump().items()}
    data: dict[str, Any] = {"title": f["title"], "introduction": f["introduction"], "purpose": f["purpose"],
                            "anonymous": bool(f["anonymous"]), "public": f["audience"] == "public",
                            "policy_id": f["policy_id"] or None, "reminders_max": f["reminders_max"] or None,
                            "reminder_gap_days": f["reminder_gap_days"] or None}
    errors: dict[str, Any] = {}
    if f["audience"] not in ("", "public"):
        data["segment_id"], data["segment_filter"] = f["audience"], None
    elif survey is None or survey.segment_filter is None or f["audience"] == "public":
        data["segment_id"] = None  # a filter set through the API stays while no segment is picked
    for name in ("opens_at", "closes_at"):
        data[name] = None
        if f[name]:
            try:
                data[name] = _china_time(f[name])
            except ValueError:
                errors[name] = "时间格式有误"
    data["quotas"], problem = _json(f["quotas"] or "[]", "配额")
    if problem:
        errors["quotas"] = problem
    raw, problem = _json(f["definition"], "问卷定义") if f["definition"] else (None, "请填写问卷定义")
    if problem:
        errors["definition"] = problem
    elif not isinstance(raw, dict):
        errors["definition"] = "问卷定义应是一个 JSON 对象"
    else:
        try:
            definitions.parse(raw)
        except definitions.DefinitionError as exc:
            errors["definition"] = f"问卷定义有 {len(exc.problems)} 处问题"
            errors["definition_problems"] = exc.problems
        data["definition"] = raw
    return data, errors


def _choices(session: Session) -> dict[str, Any]:
    _, recent = policies.list_policies(session=session, limit=200)
    return {"policies": recent, "segments": subscriptions.list_segments(session=session),
            "purposes": labels.SURVEY_PURPOSE}


def _form_page(request: Request, session: Session, staff: Staff, *, values: dict[str, Any],
               errors: dict[str, Any], survey: Survey | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "surveys/form.html", {"values": values, "errors": errors, "survey": survey,
                                                 **_choices(session)}, staff=staff, status_code=status_code)


def _local(value: datetime | None) -> str:
    return value.astimezone(TZ).strftime("%Y-%m-%dT%H:%M") if value else ""


def _values(survey: Survey) -> dict[str, Any]:
    return {"title": survey.title, "introduction": survey.introduction, "purpose": survey.purpose.value,
            "policy_id": survey.policy_id or "", "opens_at": _local(survey.opens_at),
            "closes_at": _local(survey.closes_at), "anonymous": "1" if survey.anonymous else "",
            "audience": "public" if survey.public else survey.segment_id or "",
            "quotas": json.dumps(survey.quotas, ensure_ascii=False, indent=2),
            "reminders_max": survey.reminders_max, "reminder_gap_days": survey.reminder_gap_days,
            "definition": _pretty(survey.definition)}


def _pretty(definition: dict[str, Any]) -> str:
    return json.dumps(definition, ensure_ascii=False, indent=2)


async def _uploaded(form: SurveyForm, upload: UploadFile | None) -> str | None:
    """An uploaded SurveyJS file replaces the typed definition; a problem with the file itself, or None."""
    if upload is None or not upload.filename:
        return None
    raw = await upload.read(MAX_DEFINITION_BYTES + 1)
    if len(raw) > MAX_DEFINITION_BYTES:
        return "上传的问卷定义超过 512 KB"
    try:
        form.definition = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "上传的文件不是 UTF-8 编码的 JSON"
    return None


def _cn(exc: CampaignError) -> str:
    """The refusal's reasons, one after another."""
    return "；".join(exc.problems or [exc.message])


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, session: DbSession, staff: Editor) -> HTMLResponse:
    return _form_page(request, session, staff, errors={}, values={
        "anonymous": "1", "audience": "public", "quotas": "[]", "reminders_max": 2, "reminder_gap_days": 3,
        "purpose": "consult", "definition": _pretty(STARTER)})


@router.post("/new", response_class=HTMLResponse)
async def create(request: Request, form: Posted, session: DbSession, staff: Editor,
                 definition_file: Upload = None) -> Response:
    upload_problem = await _uploaded(form, definition_file)
    data, errors = _body(form, None)
    body, problems = forms.parse(SurveyCreate, data)
    errors = problems | errors | ({"definition": upload_problem} if upload_problem else {})
    values = form.model_dump()
    if body is None or errors:
        return _form_page(request, session, staff, values=values, errors=errors, status_code=422)
    try:
        survey = service.create(session=session, survey_in=body, author=staff.user)
    except CampaignError as exc:
        session.rollback()
        return _form_page(request, session, staff, values=values, errors={"": _cn(exc)}, status_code=exc.status_code)
    _audit(session, staff, "create", survey)
    sessions.flash(staff.session.token, "问卷草稿已保存")
    return RedirectResponse(f"/console/surveys/{survey.id}", status_code=303)


@router.get("/{survey_id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, survey: Found, session: DbSession, staff: Editor) -> HTMLResponse:
    return _form_page(request, session, staff, values=_values(survey), errors={}, survey=survey)


@router.post("/{survey_id}/edit", response_class=HTMLResponse)
async def edit(request: Request, survey: Found, form: Posted, session: DbSession, staff: Editor,
               definition_file: Upload = None) -> Response:
    upload_problem = await _uploaded(form, definition_file)
    data, errors = _body(form, survey)
    if data.get("closes_at") is None:
        data.pop("closes_at")  # required: the schema says so as 必填 below
        errors.setdefault("closes_at", "必填")
    body, problems = forms.parse(SurveyUpdate, data)
    errors = problems | errors | ({"definition": upload_problem} if upload_problem else {})
    values = form.model_dump()
    if body is None or errors:
        return _form_page(request, session, staff, values=values, errors=errors, survey=survey, status_code=422)
    before = survey.status
    try:
        changed = service.update(session=session, survey=survey, survey_in=body)
    except CampaignError as exc:
        session.rollback()
        session.refresh(survey)
        return _form_page(request, session, staff, values=values, errors={"": _cn(exc)}, survey=survey,
                          status_code=exc.status_code)
    _audit(session, staff, "update", survey, changed=changed, was=str(before))
    back = before not in (S.draft, S.open) and survey.status is S.draft and changed
    sessions.flash(staff.session.token, "已保存" + ("；问卷已退回草稿，请重新提交审核" if back else ""))
    return RedirectResponse(f"/console/surveys/{survey.id}", status_code=303)


@router.get("/{survey_id}/definition.json")
def definition_download(survey: Found, staff: AnyStaff) -> Response:
    return Response(_pretty(survey.definition), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="survey-{survey.id}.json"'})


@router.get("/{survey_id}/preview", response_class=HTMLResponse)
def preview(request: Request, survey: Found, staff: AnyStaff) -> HTMLResponse:
    """The questions as the respondent's phone shows them (the detail page frames it)."""
    return survey_form.preview(request, survey.definition, survey)


# --- the detail page ----------------------------------------------------------------------------------

def _rate_context(session: Session, survey: Survey) -> dict[str, Any]:
    """The live part: recipients by status and responses, polled while the survey is open."""
    by_status = figures.recipients_by_status(session=session, survey_ids=[survey.id])[survey.id]
    invited = sum(by_status.values())
    completed = by_status.get("completed", 0)
    return {"survey": survey, "labels": labels, "invited": invited, "completed": completed,
            "started": by_status.get("started", 0), "responses": service.responses(session=session, survey_id=survey.id),
            "rate": round(100 * completed / invited) if invited else 0, "live": survey.status is S.open}


@router.get("/{survey_id}", response_class=HTMLResponse)
def detail(request: Request, survey: Found, session: DbSession, staff: AnyStaff) -> HTMLResponse:
    return _detail_page(request, session, staff, survey)


def _detail_page(request: Request, session: Session, staff: Staff, survey: Survey, *, refusal: str = "",
                 status_code: int = 200) -> HTMLResponse:
    author = session.get(StaffUser, survey.author_id)
    reviewer = session.get(StaffUser, survey.approved_by_id) if survey.approved_by_id else None
    context = {"author": author.username if author else "", "reviewer": reviewer.username if reviewer else "",
               "refusal": refusal, "definition_json": _pretty(survey.definition),
               "feedback": feedback.published(session=session, survey_id=survey.id),
               "feedback_path": feedback.page_path(survey.id),
               "problems": service.problems(session=session, survey=survey) if survey.status is S.draft else [],
               "can_edit": staff.can(EDITORS) and survey.status in service.EDITABLE,
               "can_act": staff.can(EDITORS),
               "can_review": staff.can(REVIEWERS) and survey.author_id != staff.user.id,
               "pinned_intact": survey.approved_hash is None or survey.approved_hash == service.definition_hash(survey),
               **_rate_context(session, survey)}
    return render(request, "surveys/detail.html", context, staff=staff, status_code=status_code)


@router.get("/{survey_id}/rate", response_class=HTMLResponse)
def rate(request: Request, survey: Found, session: DbSession, staff: AnyStaff) -> HTMLResponse:
    return render(request, "surveys/_rate.html", _rate_context(session, survey), staff=staff)


# --- results ------------------------------------------------------------------------------------------

def chart(question: dict[str, Any]) -> dict[str, Any] | None:
    """What one question's chart draws: bars of the choices' counts, a scale's distribution (coloured by
    NPS group for 0-10), mean ranks, or a matrix's rows stacked by column; None for free text."""
    if "options" in question:
        return {"kind": "bar", "labels": [o["label"] for o in question["options"]],
                "values": [o["count"] for o in question["options"]]}
    if "distribution" in question:
        spec = {"kind": "bar", "labels": list(question["distribution"]), "values": list(question["distribution"].values())}
        return spec | ({"nps": True} if "nps" in question else {})
    if "mean_rank" in question:
        return {"kind": "bar", "labels": list(question["mean_rank"]), "values": list(question["mean_rank"].values()),
                "axis": "平均名次（越小越重要）"}
    if "rows" in question:
        columns = list(question["rows"][0]["counts"]) if question["rows"] else []
        return {"kind": "stack", "labels": [r["row"] for r in question["rows"]],
                "series": [{"name": c, "values": [r["counts"][c] for r in question["rows"]]} for c in columns]}
    if "by_month" in question:
        return {"kind": "bar", "labels": list(question["by_month"]), "values": list(question["by_month"].values())}
    return None


def _cross_labels(question: dict[str, Any]) -> list[tuple[str, str]]:
    """A cross-tab's columns: (answer value, label) in the question's order."""
    if "options" in question:
        return [(o["value"], o["label"]) for o in question["options"]]
    return [(v, v) for v in question.get("distribution", {})]


@router.get("/{survey_id}/results", response_class=HTMLResponse)
def results_page(request: Request, survey: Found, session: DbSession, staff: AnyStaff) -> HTMLResponse:
    computed = results.compute(session=session, survey=survey)
    if not staff.can(FULL_VIEW):
        computed = mask_data(computed)
    return render(request, "surveys/results.html", {"survey": survey, "results": computed, "cells": labels.CELLS,
                                                   "chart": chart, "cross_labels": _cross_labels},
                  staff=staff)


@router.get("/{survey_id}/export.xlsx")
def export_responses(survey: Found, session: DbSession, staff: AnyStaff) -> Response:
    body = export.workbook_bytes(session=session, survey=survey, masked=not staff.can(FULL_VIEW))
    _audit(session, staff, "export", survey)
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="survey-{survey.id}-responses.xlsx"'})


# --- actions ------------------------------------------------------------------------------------------

def _refused(request: Request, session: Session, staff: Staff, survey: Survey, exc: CampaignError) -> HTMLResponse:
    """A refused action changes nothing: the page again, saying why, with the API's status."""
    session.rollback()
    session.refresh(survey)
    return _detail_page(request, session, staff, survey, refusal=_cn(exc), status_code=exc.status_code)


def _act(request: Request, session: Session, staff: Staff, survey: Survey, name: str, message: str,
         **kwargs: Any) -> Response:
    try:
        getattr(service, name)(session=session, survey=survey, **kwargs)
    except CampaignError as exc:
        return _refused(request, session, staff, survey, exc)
    extra = {"hash": survey.approved_hash} if name == "approve" else {}
    _audit(session, staff, name.removesuffix("_survey"), survey, **extra,
           **({"reason": kwargs["reason"]} if "reason" in kwargs else {}))
    sessions.flash(staff.session.token, message)
    return RedirectResponse(f"/console/surveys/{survey.id}", status_code=303)


@router.post("/{survey_id}/submit")
def submit(request: Request, survey: Found, session: DbSession, staff: Editor) -> Response:
    return _act(request, session, staff, survey, "submit", "已提交审核")


@router.post("/{survey_id}/approve")
def approve(request: Request, survey: Found, session: DbSession, staff: Reviewer) -> Response:
    return _act(request, session, staff, survey, "approve", "审核通过", reviewer=staff.user)


@router.post("/{survey_id}/reject")
def reject(request: Request, survey: Found, session: DbSession, staff: Reviewer,
           reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    if not reason.strip():
        return _refused(request, session, staff, survey, NotReady("请填写退回理由"))
    return _act(request, session, staff, survey, "reject", "已退回给创建人", reviewer=staff.user, reason=reason)


@router.post("/{survey_id}/open")
def open_survey(request: Request, survey: Found, session: DbSession, staff: Editor) -> Response:
    return _act(request, session, staff, survey, "open_survey", "问卷已开始收集")


@router.post("/{survey_id}/close")
def close(request: Request, survey: Found, session: DbSession, staff: Editor) -> Response:
    return _act(request, session, staff, survey, "close", "问卷已结束收集")
