"""Surveys' figures, for the dashboard and the assessment: open surveys and response rates by month."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from core.db import local_day
from policies.models import Policy
from surveys.models import RecipientStatus, Survey, SurveyRecipient, SurveyStatus


def response_rates_by_month(*, session: Session, since: datetime, until: datetime) -> list[dict]:
    """Surveys opened in the period, by month (YYYY-MM) and the issuing department of their policy:
    surveys, people invited and people who completed them."""
    month = func.substr(local_day(Survey.opened_at), 1, 7)
    issuer = func.coalesce(Policy.issuer, "")
    completed = func.count(case((SurveyRecipient.status == RecipientStatus.completed, 1)))
    rows = session.execute(
        select(month, issuer, func.count(distinct(Survey.id)), func.count(SurveyRecipient.id), completed)
        .select_from(Survey).outerjoin(Policy, Policy.id == Survey.policy_id)
        .outerjoin(SurveyRecipient, SurveyRecipient.survey_id == Survey.id)
        .where(Survey.opened_at >= since, Survey.opened_at < until).group_by(month, issuer))
    return [{"month": m, "issuer": i, "surveys": s, "invited": n, "completed": c} for m, i, s, n, c in rows]


def recipients_by_status(*, session: Session, survey_ids: list[int]) -> dict[int, dict[RecipientStatus, int]]:
    """Each survey's recipients counted by status (from the (survey, status) index)."""
    counts: dict[int, dict[RecipientStatus, int]] = {i: {} for i in survey_ids}
    if survey_ids:
        rows = session.execute(select(SurveyRecipient.survey_id, SurveyRecipient.status, func.count())
                               .where(SurveyRecipient.survey_id.in_(survey_ids))
                               .group_by(SurveyRecipient.survey_id, SurveyRecipient.status))
        for survey_id, status, n in rows:
            counts[survey_id][status] = n
    return counts


def open_surveys(*, session: Session) -> list[dict]:
    """Every open survey, newest first, with people invited and people who completed it."""
    surveys = list(session.scalars(select(Survey).where(Survey.status == SurveyStatus.open)
                                   .order_by(Survey.id.desc())))
    counts = recipients_by_status(session=session, survey_ids=[s.id for s in surveys])
    return [{"survey": s, "invited": sum(counts[s.id].values()),
             "completed": counts[s.id].get(RecipientStatus.completed, 0)} for s in surveys]
