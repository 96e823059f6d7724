"""Staff API for surveys: editors compose, submit, open and close; a reviewer who is not the author
approves or rejects with a reason. Every change is audited; refusals are 409 / 422 / 403 with a reason."""
from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Query, Response, UploadFile, status

from core.ids import Id
from core.problems import Problem
from push.api import refusals
from staff.deps import CurrentUser, DbSession, require
from staff.models import FULL_VIEW, Role, StaffUser
from staff.service import audit
from core.masking import mask_data
from surveys import export, figures, results, service
from surveys.definition import DefinitionError
from surveys.models import Survey, SurveyStatus
from surveys.schemas import RecipientCounts, RejectBody, SurveyCreate, SurveyRead, SurveyUpdate, normalised

router = APIRouter(prefix="/api/surveys", tags=["surveys"])
Editor = Annotated[StaffUser, Depends(require(Role.editor))]
Reviewer = Annotated[StaffUser, Depends(require(Role.reviewer))]
Reader = Annotated[StaffUser, Depends(require(Role.editor, Role.reviewer, Role.analyst))]
MAX_DEFINITION_BYTES = 512 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "not allowed in the survey's status"},
    422: {"model": Problem, "description": "definition or audience not fit"},
    403: {"model": Problem, "description": "not allowed"}}


def survey_or_404(survey_id: Id, session: DbSession, _user: CurrentUser) -> Survey:
    survey = service.get(session=session, survey_id=survey_id)
    if survey is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"问卷 {survey_id} 不存在")
    return survey


Found = Annotated[Survey, Depends(survey_or_404)]


def _audit(session, actor: StaffUser, action: str, survey: Survey, **detail) -> None:
    audit(session=session, actor=actor, action=f"survey.{action}", target=f"survey:{survey.id}",
          status=str(survey.status), **detail)


@router.post("", status_code=201, response_model=SurveyRead, responses=_REFUSALS)
def create_survey(body: SurveyCreate, session: DbSession, user: Editor) -> Survey:
    with refusals():
        survey = service.create(session=session, survey_in=body, author=user)
    _audit(session, user, "create", survey)
    return survey


@router.get("", response_model=list[SurveyRead])
def list_surveys(session: DbSession, _: Reader, status_: Annotated[SurveyStatus | None, Query(alias="status")] = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50, before_id: Id | None = None) -> list[Survey]:
    return service.list_surveys(session=session, status=status_, limit=limit, before_id=before_id)


@router.get("/{survey_id}", response_model=SurveyRead)
def get_survey(survey: Found, _: Reader) -> Survey:
    return survey


@router.get("/{survey_id}/recipients", response_model=RecipientCounts)
def recipient_counts(survey: Found, session: DbSession, _: Reader) -> RecipientCounts:
    return RecipientCounts.of(figures.recipients_by_status(session=session, survey_ids=[survey.id])[survey.id])


@router.patch("/{survey_id}", response_model=SurveyRead, responses=_REFUSALS)
def update_survey(survey: Found, body: SurveyUpdate, session: DbSession, user: Editor) -> Survey:
    before = survey.status
    with refusals():
        changed = service.update(session=session, survey=survey, survey_in=body)
    _audit(session, user, "update", survey, changed=changed, was=str(before))
    return survey


def _transition(name: str, survey: Survey, session, user: StaffUser, **kwargs) -> Survey:
    with refusals():
        getattr(service, name)(session=session, survey=survey, **kwargs)
    extra = {"hash": survey.approved_hash} if name == "approve" else {}
    _audit(session, user, name, survey, **extra, **({"reason": kwargs["reason"]} if "reason" in kwargs else {}))
    return survey


@router.post("/{survey_id}/submit", response_model=SurveyRead, responses=_REFUSALS)
def submit(survey: Found, session: DbSession, user: Editor) -> Survey:
    return _transition("submit", survey, session, user)


@router.post("/{survey_id}/approve", response_model=SurveyRead, responses=_REFUSALS)
def approve(survey: Found, session: DbSession, user: Reviewer) -> Survey:
    return _transition("approve", survey, session, user, reviewer=user)


@router.post("/{survey_id}/reject", response_model=SurveyRead, responses=_REFUSALS)
def reject(survey: Found, body: RejectBody, session: DbSession, user: Reviewer) -> Survey:
    return _transition("reject", survey, session, user, reviewer=user, reason=body.reason)


@router.post("/{survey_id}/open", response_model=SurveyRead, responses=_REFUSALS)
def open_survey(survey: Found, session: DbSession, user: Editor) -> Survey:
    return _transition("open_survey", survey, session, user)


@router.post("/{survey_id}/close", response_model=SurveyRead, responses=_REFUSALS)
def close(survey: Found, session: DbSession, user: Editor) -> Survey:
    return _transition("close", survey, session, user)


@router.get("/{survey_id}/definition.json")
def export_definition(survey: Found, _: Reader) -> Response:
    body = json.dumps(survey.definition, ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="survey-{survey.id}.json"'})


@router.post("/definition/check", responses={422: {"model": Problem, "description": "not a valid definition"}})
async def check_definition(file: Annotated[UploadFile, File(description="SurveyJS JSON")],
                           _: Editor) -> dict[str, Any]:
    """Read an uploaded definition (SurveyJS JSON) and return it normalised, or every problem in Chinese."""
    raw = await file.read(MAX_DEFINITION_BYTES + 1)
    if len(raw) > MAX_DEFINITION_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "问卷定义超过 512 KB")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(422, {"message": f"不是 UTF-8 的 JSON：{exc}", "problems": [str(exc)]}) from None
    if not isinstance(data, dict):
        raise HTTPException(422, {"message": "问卷定义应是一个 JSON 对象", "problems": ["应是一个 JSON 对象"]})
    try:
        return normalised(data)
    except DefinitionError as exc:
        raise HTTPException(422, {"message": str(exc), "problems": exc.problems}) from None


@router.get("/{survey_id}/results")
def survey_results(survey: Found, session: DbSession, user: Reader) -> dict[str, Any]:
    """Counts and shares per question, scales' mean and median, NPS, free text's frequent terms, cross-tabs
    by industry section, park and size, response rates per cell, drop-off and responses per day."""
    computed = results.compute(session=session, survey=survey)
    return computed if user.role in FULL_VIEW else mask_data(computed)


@router.get("/{survey_id}/export.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "答卷, 答卷代码, 编码表, 汇总"}})
def export_responses(survey: Found, session: DbSession, user: Reader) -> Response:
    body = export.workbook_bytes(session=session, survey=survey, masked=user.role not in FULL_VIEW)
    audit(session=session, actor=user, action="survey.export", target=f"survey:{survey.id}")
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="survey-{survey.id}-responses.xlsx"'})
