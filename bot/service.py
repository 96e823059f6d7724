"""The bot domain's functions: questions handed to staff, the question log and its report, feedback."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from bot import text as bot_text
from bot.models import AskedQuestion, AskOutcome, Feedback, HandoverReason, Question, QuestionStatus
from core.db import utcnow
from core.redis import get_redis
from staff.models import StaffUser
from subscriptions import service as followers
from subscriptions.models import Follower
from wechat import allowance


class QuestionError(ValueError):
    """A staff action on a question that cannot be carried out; the message says why."""


class Undeliverable(QuestionError):
    """WeChat would not deliver a customer-service message to the follower now (45015 / 45047)."""

    def __init__(self, refused: allowance.Refused) -> None:
        super().__init__(f"{refused} 问题仍待答复，未发送任何消息。")
        self.errcode = refused.errcode


def ensure_follower(*, session: Session, openid: str) -> Follower:
    """The follower writing to us; created when the webhook has not recorded them yet."""
    follower = followers.get_by_openid(session=session, openid=openid)
    if follower is None:
        followers.touch(session=session, last_seen={openid: utcnow()})
        follower = followers.get_by_openid(session=session, openid=openid)
    return follower


# --- the question log --------------------------------------------------------------------------

def log_ask(*, session: Session, text: str, outcome: AskOutcome, answer_kind: str | None = None,
            answer_id: int | None = None, confidence: float | None = None) -> AskedQuestion:
    asked = AskedQuestion(text=text[:500], normalized=bot_text.normalize(text), outcome=outcome,
                          answer_kind=answer_kind, answer_id=answer_id, confidence=confidence)
    session.add(asked)
    session.flush()
    return asked


def mark_handed_over(*, session: Session, asked_id: int) -> None:
    """The follower asked for a person after an answer: the question counts as not answered."""
    asked = session.get(AskedQuestion, asked_id)
    if asked is not None and asked.outcome in (AskOutcome.answered, AskOutcome.choices):
        asked.outcome = AskOutcome.asked_for_person
        session.flush()


@dataclass(frozen=True)
class FrequentQuestion:
    normalized: str
    example: str
    asked: int
    answered: int  # one confident answer or a list to choose from
    handed_over: int  # low_confidence + asked_for_person
    low_confidence: int
    asked_for_person: int
    useful: int
    not_useful: int


def frequent_questions(*, session: Session, since: datetime, until: datetime,
                       limit: int = 50) -> list[FrequentQuestion]:
    """The most asked questions (by normalized text) between `since` and `until`, most asked first."""
    def count(*outcomes: AskOutcome):
        return func.sum(case((AskedQuestion.outcome.in_(outcomes), 1), else_=0))

    rows = session.execute(
        select(AskedQuestion.normalized, func.min(AskedQuestion.text), func.count(),
               count(AskOutcome.answered, AskOutcome.choices), count(AskOutcome.low_confidence),
               count(AskOutcome.asked_for_person))
        .where(AskedQuestion.created_at >= since, AskedQuestion.created_at < until)
        .group_by(AskedQuestion.normalized)
        .order_by(func.count().desc(), AskedQuestion.normalized)
        .limit(limit)).all()
    votes: dict[str, tuple[int, int]] = {}
    if rows:
        votes = {n: (int(u or 0), int(c - (u or 0))) for n, u, c in session.execute(
            select(Feedback.normalized, func.sum(case((Feedback.useful, 1), else_=0)), func.count())
            .where(Feedback.created_at >= since, Feedback.created_at < until,
                   Feedback.normalized.in_([r[0] for r in rows]))
            .group_by(Feedback.normalized))}
    return [FrequentQuestion(normalized=n, example=ex, asked=total, answered=int(ans or 0),
                             handed_over=int((low or 0) + (person or 0)), low_confidence=int(low or 0),
                             asked_for_person=int(person or 0), useful=votes.get(n, (0, 0))[0],
                             not_useful=votes.get(n, (0, 0))[1])
            for n, ex, total, ans, low, person in rows]


# --- feedback ----------------------------------------------------------------------------------

def record_feedback(*, session: Session, openid: str, question: str, answer_kind: str, answer_id: int,
                    useful: bool) -> Feedback:
    follower = followers.get_by_openid(session=session, openid=openid)
    feedback = Feedback(follower_id=follower.id if follower else None, question=question[:500],
                        normalized=bot_text.normalize(question), answer_kind=answer_kind,
                        answer_id=answer_id, useful=useful)
    session.add(feedback)
    session.flush()
    return feedback


# --- questions handed to staff -----------------------------------------------------------------

def hand_over(*, session: Session, openid: str, text: str, reason: HandoverReason,
              conversation: list[dict[str, Any]]) -> Question:
    follower = ensure_follower(session=session, openid=openid)
    question = Question(follower_id=follower.id, text=text, reason=reason, conversation=conversation)
    session.add(question)
    session.flush()
    return question


def withdraw_question(*, session: Session, question_id: int, helped_kind: str, helped_id: int) -> bool:
    """The follower found the answer (`helped_kind` "faq" or "policy", `helped_id`) and withdrew the
    question: it leaves the staff queue if it is still open. False when staff answered it first."""
    done = session.execute(update(Question)
                           .where(Question.id == question_id, Question.status == QuestionStatus.open)
                           .values(status=QuestionStatus.withdrawn, helped_kind=helped_kind, helped_id=helped_id))
    return done.rowcount == 1


def get_question(*, session: Session, question_id: int) -> Question | None:
    return session.get(Question, question_id)


def list_questions(*, session: Session, status: QuestionStatus | None = QuestionStatus.open,
                   limit: int = 50, before_id: int | None = None, after_id: int | None = None,
                   oldest_first: bool = False) -> list[Question]:
    """Newest first (or oldest first, the order staff work the queue in), a page at a time: `before_id`
    or `after_id` is the last id of the previous page."""
    stmt = select(Question).order_by(Question.id if oldest_first else Question.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Question.status == status)
    if before_id is not None:
        stmt = stmt.where(Question.id < before_id)
    if after_id is not None:
        stmt = stmt.where(Question.id > after_id)
    return list(session.scalars(stmt))


def answer_question(*, session: Session, question: Question, answer: str, staff: StaffUser,
                    now: datetime | None = None) -> Question:
    """Record staff's answer (an undelivered one may be answered again); raises QuestionError when it was
    answered already and Undeliverable when WeChat would not deliver it now (the question then stays as
    it was)."""
    if question.status is QuestionStatus.answered:
        raise QuestionError(f"question {question.id} was answered already")
    if not answer.strip():
        raise QuestionError("the answer is empty")
    try:
        allowance.check(get_redis(), question.follower.openid)
    except allowance.Refused as exc:
        raise Undeliverable(exc) from None
    question.status, question.answer, question.undelivered_reason = QuestionStatus.answered, answer.strip(), None
    question.answered_at, question.answered_by = now or utcnow(), staff.id
    session.flush()
    return question


def mark_undelivered(*, session: Session, question: Question, reason: str) -> None:
    """WeChat did not take staff's answer: the question is back with staff, with the answer and why."""
    question.status, question.undelivered_reason = QuestionStatus.undelivered, reason[:300]
    session.flush()


def staff_message(question: Question) -> str:
    """The customer-service message that carries staff's answer to the follower."""
    head = f"您好，关于您咨询的“{bot_text.cut(question.text, 150)}”，工作人员答复如下：\n"
    tail = "\n\n回复“有用”或“没用”告诉我们答复是否有帮助。"
    return head + (question.answer or "") + tail


def outcome_totals(by_outcome: dict[AskOutcome, int]) -> dict[str, int]:
    """Questions counted by outcome as staff read them: asked, answered by the chat, handed over."""
    return {
        "asked": sum(by_outcome.values()),
        "answered": by_outcome.get(AskOutcome.answered, 0) + by_outcome.get(AskOutcome.choices, 0),
        "handed_over": by_outcome.get(AskOutcome.low_confidence, 0)
        + by_outcome.get(AskOutcome.asked_for_person, 0),
    }


def ask_totals(*, session: Session, since: datetime, until: datetime) -> dict[str, int]:
    """Questions asked between `since` and `until`: all, answered, handed over, withdrawn by the follower after
    the hand-over; and open questions now."""
    by_outcome = dict(session.execute(
        select(AskedQuestion.outcome, func.count())
        .where(AskedQuestion.created_at >= since, AskedQuestion.created_at < until)
        .group_by(AskedQuestion.outcome)).all())
    return {
        **outcome_totals(by_outcome),
        "open_questions": session.scalar(
            select(func.count()).select_from(Question).where(Question.status == QuestionStatus.open)),
        "withdrawn": session.scalar(
            select(func.count()).select_from(Question)
            .where(Question.status == QuestionStatus.withdrawn, Question.created_at >= since,
                   Question.created_at < until)),
    }
