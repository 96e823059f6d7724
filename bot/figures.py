"""The chat's figures over time, for the dashboard and the assessment: questions by day and by month, and
the open hand-overs by how long they have waited."""
from __future__ import annotations

import statistics
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from bot.models import AskedQuestion, Question, QuestionStatus
from bot.service import outcome_totals
from core.db import local_day


def _by_outcome(session: Session, bucket, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    """Questions asked in [since, until) grouped by `bucket` (an expression of their time), as outcome_totals."""
    rows = session.execute(select(bucket, AskedQuestion.outcome, func.count())
                           .where(AskedQuestion.created_at >= since, AskedQuestion.created_at < until)
                           .group_by(bucket, AskedQuestion.outcome)).all()
    grouped: dict[str, dict] = {}
    for key, outcome, n in rows:
        grouped.setdefault(key, {})[outcome] = n
    return {key: outcome_totals(counts) for key, counts in grouped.items()}


def asked_by_day(*, session: Session, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    """{day (YYYY-MM-DD, local time): {asked, answered, handed_over}} for the days with questions."""
    return _by_outcome(session, local_day(AskedQuestion.created_at), since, until)


def answers_by_month(*, session: Session, since: datetime, until: datetime) -> dict[str, dict[str, float]]:
    """{month (YYYY-MM): {asked, answered (by the chat), handed_over, answered_by_staff, median_hours}}:
    questions asked in the month, and the handed-over ones staff answered, with their median time to answer."""
    by_month = _by_outcome(session, func.substr(local_day(AskedQuestion.created_at), 1, 7), since, until)
    empty = {"answered_by_staff": 0, "median_hours": None}
    figures = {m: {**totals, **empty} for m, totals in by_month.items()}
    waits: dict[str, list[float]] = {}
    answered = session.execute(select(func.substr(local_day(Question.created_at), 1, 7), Question.created_at,
                                      Question.answered_at)
                               .where(Question.answered_at.is_not(None), Question.created_at >= since,
                                      Question.created_at < until))
    for m, asked_at, answered_at in answered:
        waits.setdefault(m, []).append((answered_at - asked_at).total_seconds() / 3600)
    for m, hours in waits.items():
        figures.setdefault(m, {**outcome_totals({}), **empty}).update(answered_by_staff=len(hours),
                                              median_hours=round(statistics.median(hours), 1))
    return figures


AGES = [("1 小时内", timedelta(hours=1)), ("1–4 小时", timedelta(hours=4)), ("4–24 小时", timedelta(days=1)),
        ("1–3 天", timedelta(days=3)), ("3 天以上", None)]


def open_by_age(*, session: Session, now: datetime) -> dict[str, int]:
    """Open hand-overs counted by how long they have waited (AGES), in one query."""
    counts, newer = [], None
    for _, age in AGES:
        waited = [] if newer is None else [Question.created_at <= now - newer]
        if age is not None:
            waited.append(Question.created_at > now - age)
        counts.append(func.count(case((and_(*waited), 1))))
        newer = age
    row = session.execute(select(*counts).where(Question.status == QuestionStatus.open)).one()
    return {label: n for (label, _), n in zip(AGES, row, strict=True)}
