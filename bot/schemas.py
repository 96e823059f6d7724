from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.text import TextInput
from bot.models import HandoverReason, QuestionStatus


class QuestionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    follower_id: int
    text: str
    reason: HandoverReason
    conversation: list[dict[str, Any]]
    status: QuestionStatus
    created_at: datetime
    answer: str | None
    answered_at: datetime | None
    answered_by: int | None
    faq_id: int | None
    helped_kind: str | None
    helped_id: int | None
    undelivered_reason: str | None = Field(
        description="status undelivered: why WeChat did not take the answer; answer again once it can go")


class AnswerCreate(TextInput):
    answer: str = Field(min_length=1, max_length=2000)
    add_to_faq: bool = False  # also add the question and this answer to the FAQ
    category: str | None = Field(default=None, max_length=50)  # the FAQ entry's 类目


class FaqFromQuestion(TextInput):
    """Add an answered question to the FAQ; the question or answer may be edited on the way."""

    question: str | None = Field(default=None, min_length=1, max_length=500)
    answer: str | None = Field(default=None, min_length=1)
    category: str | None = Field(default=None, max_length=50)


class SimilarFromQuestion(TextInput):
    """Give a withdrawn question to the FAQ entry that answered it as a similar question; it may be edited."""

    question: str | None = Field(default=None, min_length=1, max_length=500)


class FrequentQuestionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    normalized: str
    example: str
    asked: int
    answered: int
    handed_over: int
    low_confidence: int
    asked_for_person: int
    useful: int
    not_useful: int


class ReportRead(BaseModel):
    since: date
    until: date  # inclusive
    asked: int
    answered: int
    handed_over: int
    open_questions: int  # handed over and not answered yet (all time)
    withdrawn: int  # handed over, then withdrawn by the follower on reading a related entry
    questions: list[FrequentQuestionRead]
