"""Staff API for questions the bot handed over, and the frequent-questions report."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status

from bot import flows, service
from bot.models import Question, QuestionStatus
from bot.schemas import (
    AnswerCreate,
    FaqFromQuestion,
    FrequentQuestionRead,
    QuestionRead,
    ReportRead,
    SimilarFromQuestion,
)
from core.ids import Id
from core.masking import mask_data, mask_text
from staff.deps import CurrentUser, DbSession, require
from staff.models import FULL_VIEW, Role, StaffUser
from staff.service import audit
from bot.tasks import send_answer

router = APIRouter(prefix="/api/questions", tags=["questions"])
Reader = Annotated[StaffUser, Depends(require(Role.editor, Role.analyst))]
Editor = Annotated[StaffUser, Depends(require(Role.editor))]


def question_or_404(question_id: Id, session: DbSession, _user: CurrentUser) -> Question:
    question = service.get_question(session=session, question_id=question_id)
    if question is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no question {question_id}")
    return question


QuestionOr404 = Annotated[Question, Depends(question_or_404)]


def _question_read(question: Question, user: StaffUser) -> QuestionRead:
    """What followers typed, with phone, ID-card and credit-code numbers masked for analysts."""
    read = QuestionRead.model_validate(question)
    if user.role in FULL_VIEW:
        return read
    return read.model_copy(update={"text": mask_text(read.text), "conversation": mask_data(read.conversation),
                                   "answer": mask_text(read.answer)})


@router.get("", response_model=list[QuestionRead], summary="Questions handed over to staff, newest first")
def list_questions(session: DbSession, user: Reader,
                   state: Literal["open", "answered", "withdrawn", "undelivered", "all"] = Query("open", alias="status"),
                   limit: int = Query(50, ge=1, le=500), before_id: Id | None = None) -> list[QuestionRead]:
    found = service.list_questions(session=session, status=None if state == "all" else QuestionStatus(state),
                                   limit=limit, before_id=before_id)
    return [_question_read(q, user) for q in found]


@router.get("/report", response_model=ReportRead,
            summary="Most frequent questions, answered and handed over, over a date range")
def report(session: DbSession, user: Reader, since: date | None = None, until: date | None = None,
           limit: int = Query(50, ge=1, le=500)) -> ReportRead:
    until = until or datetime.now(UTC).date()
    since = since or until - timedelta(days=29)
    if since > until:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since is after until")
    start = datetime.combine(since, time(), UTC)
    end = datetime.combine(until + timedelta(days=1), time(), UTC)
    rows = service.frequent_questions(session=session, since=start, until=end, limit=limit)
    if user.role not in FULL_VIEW:
        rows = [FrequentQuestionRead.model_validate(r).model_copy(update={
            "normalized": mask_text(r.normalized), "example": mask_text(r.example)}) for r in rows]
    return ReportRead(since=since, until=until, questions=rows,
                      **service.ask_totals(session=session, since=start, until=end))


@router.get("/{question_id}", response_model=QuestionRead)
def get_question(question: QuestionOr404, user: Reader) -> QuestionRead:
    return _question_read(question, user)


@router.post("/{question_id}/answer", response_model=QuestionRead,
             summary="Answer: sent to the follower as a customer-service message (within WeChat's allowance)")
def answer_question(body: AnswerCreate, question: QuestionOr404, session: DbSession,
                    editor: Editor) -> QuestionRead:
    try:
        message = flows.answer(session=session, question=question, answer=body.answer, staff=editor,
                               add_to_faq=body.add_to_faq, category=body.category)
    except service.QuestionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    audit(session=session, actor=editor, action="question.answer", target=f"question:{question.id}",
          faq_id=question.faq_id)
    session.commit()  # the worker must find the answer recorded
    send_answer.delay(question.id, message)
    return QuestionRead.model_validate(question)


@router.post("/{question_id}/add-to-faq", response_model=QuestionRead,
             summary="Add the question and its answer to the FAQ")
def add_to_faq(body: FaqFromQuestion, question: QuestionOr404, session: DbSession,
               editor: Editor) -> QuestionRead:
    try:
        faq_id = flows.faq_from_question(session=session, question=question, staff=editor, text=body.question,
                                         answer=body.answer, category=body.category)
    except service.QuestionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    audit(session=session, actor=editor, action="question.add_to_faq", target=f"question:{question.id}",
          faq_id=faq_id)
    return QuestionRead.model_validate(question)


@router.post("/{question_id}/add-to-similar", response_model=QuestionRead,
             summary="Add a withdrawn question to the similar questions of the FAQ entry that answered it")
def add_to_similar(body: SimilarFromQuestion, question: QuestionOr404, session: DbSession,
                   editor: Editor) -> QuestionRead:
    try:
        faq_id = flows.similar_from_question(session=session, question=question, text=body.question)
    except service.QuestionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    audit(session=session, actor=editor, action="question.add_to_similar", target=f"question:{question.id}",
          faq_id=faq_id)
    return QuestionRead.model_validate(question)
