"""The survey lifecycle: draft -> submitted -> approved -> open -> closed. A second person approves and
the approval pins a hash of the whole definition (questions, audience, quotas, dates, reminders); opening
checks it. Once responses exist only wording may change (audited by the caller), never the structure.
Functions flush; the caller commits. Refusals are push's lifecycle errors (409 / 422 / 403)."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from push.exceptions import NotAllowed, NotReady, WrongState
from push.service import check_refs
from staff.models import Role, StaffUser
from surveys import definition as definitions
from surveys import quotas
from surveys.models import Survey, SurveyResponse, SurveyStatus
from surveys.schemas import SurveyCreate, SurveyUpdate

S = SurveyStatus
EDITABLE = (S.draft, S.submitted, S.approved, S.open)
# what the approval pins besides the definition
_PINNED = ("title", "introduction", "purpose", "policy_id", "opens_at", "closes_at", "public", "segment_id",
           "segment_filter", "anonymous", "quotas", "reminders_max", "reminder_gap_days")
# wording: the definition's texts, which may be corrected once responses exist
_WORDING = frozenset({"title", "description", "text", "otherText", "minRateDescription", "maxRateDescription"})


def get(*, session: Session, survey_id: int) -> Survey | None:
    return session.get(Survey, survey_id)


def list_surveys(*, session: Session, status: SurveyStatus | None = None, limit: int = 50,
                 before_id: int | None = None) -> list[Survey]:
    query = select(Survey).order_by(Survey.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Survey.status == status)
    if before_id is not None:
        query = query.where(Survey.id < before_id)
    return list(session.scalars(query))


def _check(session: Session, values: dict[str, Any]) -> None:
    check_refs(session, values)
    if "definition" in values:
        try:
            parsed = definitions.parse(values["definition"])
        except definitions.DefinitionError as exc:
            raise NotReady(str(exc), exc.problems) from None
        if values.get("quotas"):
            try:
                quotas.check(values["quotas"], parsed)
            except ValueError as exc:
                raise NotReady(f"配额：{exc}") from None


def create(*, session: Session, survey_in: SurveyCreate, author: StaffUser) -> Survey:
    values = {k: v for k, v in survey_in.model_dump(exclude_unset=True).items() if v is not None}
    _check(session, values)
    survey = Survey(**values, author_id=author.id)
    session.add(survey)
    session.flush()
    return survey


def responses(*, session: Session, survey_id: int) -> int:
    return session.scalar(select(func.count()).select_from(SurveyResponse)
                          .where(SurveyResponse.survey_id == survey_id)) or 0


def _structure(value: Any) -> Any:
    """The definition without its wording: what answers were given against."""
    if isinstance(value, dict):
        return {k: _structure(v) for k, v in value.items() if k not in _WORDING}
    if isinstance(value, list):
        return [_structure(v) for v in value]
    return value


def update(*, session: Session, survey: Survey, survey_in: SurveyUpdate) -> list[str]:
    """Apply an edit; returns the changed fields. Before opening an edit sends the survey back to draft
    (what was approved is no longer what would go out). Once responses exist only wording may change:
    the fix is applied in place and re-pinned, the caller audits it."""
    if survey.status not in EDITABLE:
        raise WrongState(f"{_label(survey.status)}的问卷不可编辑")
    values = {k: v for k, v in survey_in.model_dump(exclude_unset=True).items() if v != getattr(survey, k)}
    if not values:
        return []
    _check(session, values if "definition" not in values else {**values, "quotas": values.get(
        "quotas", survey.quotas)})
    answered = survey.status is S.open or responses(session=session, survey_id=survey.id) > 0
    if answered:
        structural = set(values) - {"definition", "title", "introduction", "closes_at"}
        if "definition" in values and _structure(values["definition"]) != _structure(survey.definition):
            structural.add("definition")
        if structural:
            raise WrongState("问卷已开始收集答卷，只能修改文字，不能改动题目结构、对象或配额："
                             + "、".join(sorted(structural)))
    for key, value in values.items():
        setattr(survey, key, value)
    if answered:
        survey.approved_hash = definition_hash(survey)
    else:
        _back_to_draft(survey)
    session.flush()
    return sorted(values)


def _back_to_draft(survey: Survey) -> None:
    survey.status = S.draft
    survey.submitted_at = survey.approved_at = survey.approved_by_id = survey.approved_hash = None


def definition_hash(survey: Survey) -> str:
    payload = {k: getattr(survey, k) for k in _PINNED} | {"definition": survey.definition}
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def problems(*, session: Session, survey: Survey, now: datetime | None = None) -> list[str]:
    """What keeps the survey from going out, in Chinese; empty when it may."""
    now = now or utcnow()
    found = []
    try:
        definitions.parse(survey.definition)
    except definitions.DefinitionError as exc:
        found.extend(exc.problems)
    if survey.closes_at <= now:
        found.append("截止时间已过")
    if survey.opens_at is not None and survey.opens_at >= survey.closes_at:
        found.append("开始时间不早于截止时间")
    if not survey.public and survey.segment_id is None and survey.segment_filter is None:
        found.append("未选择调查对象：选一个人群，或设为公开问卷")
    return found


def _require(survey: Survey, *allowed: SurveyStatus, to: str) -> None:
    if survey.status not in allowed:
        raise WrongState(f"{_label(survey.status)}的问卷不能{to}")


def _label(status: SurveyStatus) -> str:
    return {S.draft: "草稿", S.submitted: "待审核", S.approved: "已审核", S.open: "收集中",
            S.closed: "已结束"}[status]


def submit(*, session: Session, survey: Survey) -> Survey:
    _require(survey, S.draft, to="提交审核")
    found = problems(session=session, survey=survey)
    if found:
        raise NotReady("；".join(found), found)
    survey.status, survey.submitted_at, survey.rejection_reason = S.submitted, utcnow(), None
    session.flush()
    return survey


def approve(*, session: Session, survey: Survey, reviewer: StaffUser) -> Survey:
    """A reviewer who is not the author approves; who, when and the hash of what are recorded."""
    _require(survey, S.submitted, to="审核通过")
    if reviewer.role not in (Role.reviewer, Role.admin):
        raise NotAllowed("仅审核人员可审核")
    if reviewer.id == survey.author_id:
        raise NotAllowed("不能审核自己创建的问卷")
    if reviewer.created_by_id is not None and reviewer.created_by_id == survey.author_id:
        raise NotAllowed("撰写人创建的账号不能审核其创建的问卷，请由其他审核人员审核")
    found = problems(session=session, survey=survey)
    if found:
        raise NotReady("；".join(found), found)
    survey.status, survey.approved_by_id, survey.approved_at = S.approved, reviewer.id, utcnow()
    survey.approved_hash = definition_hash(survey)
    session.flush()
    return survey


def reject(*, session: Session, survey: Survey, reviewer: StaffUser, reason: str) -> Survey:
    _require(survey, S.submitted, S.approved, to="退回")
    if reviewer.role not in (Role.reviewer, Role.admin):
        raise NotAllowed("仅审核人员可退回")
    if not reason.strip():
        raise NotReady("退回须写明原因")
    _back_to_draft(survey)
    survey.rejection_reason = reason.strip()
    session.flush()
    return survey


def open_survey(*, session: Session, survey: Survey, now: datetime | None = None) -> Survey:
    """Open for answers: only what was approved, unchanged since."""
    _require(survey, S.approved, to="开始收集")
    if survey.approved_hash != definition_hash(survey):
        raise NotAllowed("问卷在审核后被改动，须重新提交审核")
    found = problems(session=session, survey=survey, now=now)
    if found:
        raise NotReady("；".join(found), found)
    survey.status, survey.opened_at = S.open, now or utcnow()
    quotas.install(session=session, survey=survey)
    session.flush()
    return survey


def close(*, session: Session, survey: Survey, now: datetime | None = None) -> Survey:
    _require(survey, S.open, to="结束")
    survey.status, survey.closed_at = S.closed, now or utcnow()
    session.flush()
    return survey


def close_due(*, session: Session, now: datetime) -> list[int]:
    """Close the open surveys whose closing time has passed (the scheduler calls this)."""
    due = list(session.scalars(select(Survey).where(Survey.status == S.open, Survey.closes_at <= now)))
    for survey in due:
        close(session=session, survey=survey, now=now)
    return [s.id for s in due]


def open_for_policy(*, session: Session, policy_id: int, now: datetime | None = None) -> list[Survey]:
    """The open surveys about a policy, for its page."""
    now = now or utcnow()
    return list(session.scalars(select(Survey).where(
        Survey.policy_id == policy_id, Survey.status == S.open, Survey.closes_at > now).order_by(Survey.id)))


def accepting(survey: Survey, now: datetime | None = None) -> str | None:
    """Why the survey takes no answers now (for the respondent), or None when it does."""
    now = now or utcnow()
    if survey.status is S.closed or survey.status is S.open and survey.closes_at <= now:
        return "本问卷已结束，感谢关注。"
    if survey.status is not S.open or survey.opens_at is not None and survey.opens_at > now:
        return "本问卷尚未开始。"
    return None
