"""Staff's answers to handed-over questions: recorded, remembered for feedback, optionally made an FAQ
entry. Sending the answer is the caller's job, after the commit."""
from __future__ import annotations

from sqlalchemy.orm import Session

from bot import memory, service
from bot import text as bot_text
from bot.models import Question
from policies import faq
from policies.schemas import FaqUpdate
from staff.models import StaffUser


def answer(*, session: Session, question: Question, answer: str, staff: StaffUser, add_to_faq: bool = False,
           category: str | None = None) -> str:
    """Record staff's answer (raises service.QuestionError / Undeliverable); returns the message text
    to send to the follower."""
    message = service.staff_message(Question(text=question.text, answer=answer.strip()))
    if bot_text.size(message) > bot_text.REPLY_BYTES:
        raise service.QuestionError(
            f"the message would be {bot_text.size(message)} bytes; WeChat takes {bot_text.REPLY_BYTES} "
            "bytes (about 600 Chinese characters) in one message: shorten the answer or link to a page")
    service.answer_question(session=session, question=question, answer=answer, staff=staff)
    if add_to_faq:
        faq_from_question(session=session, question=question, staff=staff, category=category)
    memory.remember_answer(question.follower.openid, question=question.text, kind="staff", answer_id=question.id)
    return message


def similar_from_question(*, session: Session, question: Question, text: str | None = None) -> int:
    """Add a withdrawn question (or an edit of it) to the similar questions of the FAQ entry that answered
    it, so that it is answered next time; returns the entry's id."""
    if question.helped_kind != "faq" or question.helped_id is None:
        raise service.QuestionError(f"question {question.id} was not withdrawn for an FAQ entry")
    entry = faq.get(session=session, entry_id=question.helped_id)
    if entry is None:
        raise service.QuestionError(f"FAQ entry {question.helped_id} is gone")
    text = (text or question.text).strip()
    if text != entry.question and text not in entry.similar:
        faq.update(session=session, entry=entry, entry_in=FaqUpdate(similar=[*entry.similar, text]))
    question.faq_id = entry.id
    session.flush()
    return entry.id


def faq_from_question(*, session: Session, question: Question, staff: StaffUser, text: str | None = None,
                      answer: str | None = None, category: str | None = None) -> int:
    """Add the question and its answer (either edited) to the FAQ; returns the FAQ entry's id."""
    if question.faq_id is not None:
        raise service.QuestionError(f"question {question.id} is FAQ entry {question.faq_id} already")
    answer = answer or question.answer
    if not answer:
        raise service.QuestionError(f"question {question.id} has no answer yet; answer it or give one")
    entry = faq.add_from_answer(session=session, question=text or question.text, answer=answer,
                                category=category, actor_id=staff.id)
    question.faq_id = entry.id
    session.flush()
    return entry.id
