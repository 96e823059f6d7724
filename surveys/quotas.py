"""Quotas: a total cap and caps per cell (industry section, park, size class, or a screening answer),
counted on completion. Each count is raised by `UPDATE ... WHERE count < cap`, one row per quota inside
the completing transaction, so concurrent completions never pass a cap on either backend."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from surveys.definition import Definition, messages
from surveys.models import Survey, SurveyQuotaCount


class Quota(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cap: int = Field(ge=1, le=10_000_000)
    industry_section: str | None = Field(None, pattern=r"^[A-T]$")
    park_id: int | None = Field(None, ge=1)
    size: str | None = Field(None, pattern=r"^(大|中|小|微)$")
    question: str | None = None  # a screening answer: question and value
    value: str | None = None

    @property
    def key(self) -> str:
        parts = [f"{k}={v}" for k, v in self.model_dump(exclude={"cap"}).items() if v is not None]
        return ",".join(parts) or "total"

    def matches(self, cells: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
        for name in ("industry_section", "park_id", "size"):
            wanted = getattr(self, name)
            if wanted is not None and cells.get(name) != wanted:
                return False
        if self.question is not None:
            answer = answers.get(self.question)
            given = answer if isinstance(answer, list) else [answer]
            return self.value in [str(a) for a in given if a is not None]
        return True


def parse(raw: list[Mapping[str, Any]]) -> list[Quota]:
    try:
        return [Quota.model_validate(q) for q in raw]
    except ValidationError as exc:
        raise ValueError("；".join(messages(exc))) from None


def check(raw: list[Mapping[str, Any]], definition: Definition) -> None:
    """Raises ValueError (Chinese) when a quota is malformed or names a question the survey lacks."""
    found = parse(raw)
    keys = [q.key for q in found]
    if len(set(keys)) != len(keys):
        raise ValueError("有重复的配额")
    for q in found:
        if (q.question is None) != (q.value is None):
            raise ValueError("按答案分配额须同时给出 question 和 value")
        if q.question is not None and definition.question(q.question) is None:
            raise ValueError(f"配额引用的问题“{q.question}”不存在")


def install(*, session: Session, survey: Survey) -> None:
    """The counters, made when the survey opens (once)."""
    have = set(session.scalars(select(SurveyQuotaCount.quota).where(SurveyQuotaCount.survey_id == survey.id)))
    for q in parse(survey.quotas):
        if q.key not in have:
            session.add(SurveyQuotaCount(survey_id=survey.id, quota=q.key, cap=q.cap))
    session.flush()


def full(*, session: Session, survey: Survey, cells: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    """Whether a quota this respondent falls in is full already (to stop them early)."""
    keys = [q.key for q in parse(survey.quotas) if q.matches(cells, answers)]
    if not keys:
        return False
    return session.scalar(select(SurveyQuotaCount.quota).where(
        SurveyQuotaCount.survey_id == survey.id, SurveyQuotaCount.quota.in_(keys),
        SurveyQuotaCount.count >= SurveyQuotaCount.cap).limit(1)) is not None


def take(*, session: Session, survey: Survey, cells: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    """Count a completion in every quota it falls in; False (and nothing counted) if one is full."""
    keys = sorted(q.key for q in parse(survey.quotas) if q.matches(cells, answers))
    if not keys:
        return True
    with session.begin_nested() as savepoint:
        for key in keys:  # in key order: concurrent completions lock the rows in the same order
            raised = session.execute(
                update(SurveyQuotaCount)
                .where(SurveyQuotaCount.survey_id == survey.id, SurveyQuotaCount.quota == key,
                       SurveyQuotaCount.count < SurveyQuotaCount.cap)
                .values(count=SurveyQuotaCount.count + 1)
                .execution_options(synchronize_session=False)).rowcount
            if raised != 1:
                savepoint.rollback()
                return False
    return True
