"""采纳情况: what the office adopted from a survey's answers and what not (and why), written by staff once
the survey has been answered, published as a public page (/s/feedback/{survey_id}) and sent, through
the push engine, to the respondents who asked for it (a campaign of kind `feedback`, approved as every
campaign is). Functions flush; the caller commits."""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from push.exceptions import NotReady, WrongState
from subscriptions.models import Follower, FollowerState
from subscriptions.segments import Recipient
from surveys.models import RecipientStatus, Survey, SurveyFeedback, SurveyRecipient, SurveyStatus

MAX_CHARS = 20_000


def page_path(survey_id: int) -> str:
    return f"/s/feedback/{survey_id}"


def get(*, session: Session, survey_id: int) -> SurveyFeedback | None:
    return session.get(SurveyFeedback, survey_id)


def write(*, session: Session, survey: Survey, adopted: str, not_adopted: str) -> SurveyFeedback:
    """Write (or correct) the 采纳情况; a published one stays published with the corrected text."""
    if survey.status not in (SurveyStatus.open, SurveyStatus.closed):
        raise WrongState("问卷开始收集后才能填写采纳情况")
    if not (adopted.strip() or not_adopted.strip()):
        raise NotReady("采纳情况不能为空：请填写采纳了什么，或未采纳什么及原因")
    row = get(session=session, survey_id=survey.id) or SurveyFeedback(survey_id=survey.id)
    row.adopted, row.not_adopted, row.updated_at = adopted.strip(), not_adopted.strip(), utcnow()
    session.add(row)
    session.flush()
    return row


def publish(*, session: Session, survey: Survey) -> SurveyFeedback:
    row = get(session=session, survey_id=survey.id)
    if row is None:
        raise NotReady("请先填写采纳情况")
    if row.published_at is None:
        row.published_at = utcnow()
    session.flush()
    return row


def published(*, session: Session, survey_id: int) -> SurveyFeedback | None:
    row = get(session=session, survey_id=survey_id)
    return row if row is not None and row.published_at is not None else None


def ask(*, session: Session, rec: SurveyRecipient, wants: bool = True) -> None:
    """The respondent asks (or stops asking) to be sent the 采纳情况; only after completing."""
    if rec.status is not RecipientStatus.completed:
        raise WrongState("提交问卷后才能订阅采纳情况")
    rec.wants_feedback = wants
    session.flush()


def _asked(survey_id: int):
    return (SurveyRecipient.survey_id == survey_id, SurveyRecipient.wants_feedback.is_(True),
            SurveyRecipient.status == RecipientStatus.completed, Follower.state == FollowerState.following)


def askers(*, session: Session, survey_id: int, after_id: int = 0, batch: int = 5000) -> Iterator[list[Recipient]]:
    """The followers who completed the survey and asked for the 采纳情况, by ascending id, in batches."""
    while True:
        rows = session.execute(
            select(Follower.id, Follower.openid).join(SurveyRecipient, SurveyRecipient.follower_id == Follower.id)
            .where(*_asked(survey_id), Follower.id > after_id).order_by(Follower.id).limit(batch)).all()
        if not rows:
            return
        yield [Recipient(r[0], r[1]) for r in rows]
        after_id = rows[-1][0]


def askers_count(*, session: Session, survey_id: int) -> int:
    return session.scalar(select(func.count()).select_from(SurveyRecipient)
                          .join(Follower, SurveyRecipient.follower_id == Follower.id).where(*_asked(survey_id))) or 0
