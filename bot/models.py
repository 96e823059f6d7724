"""What the chat leaves behind for staff: questions handed to a person, every question asked, feedback."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from subscriptions.models import Follower


class QuestionStatus(enum.StrEnum):
    open = "open"
    answered = "answered"
    withdrawn = "withdrawn"  # the follower found the answer among the related entries listed meanwhile
    undelivered = "undelivered"  # answered, but WeChat did not take the message: back with staff


class HandoverReason(enum.StrEnum):
    low_confidence = "low_confidence"  # the knowledge base had no confident answer
    asked_for_person = "asked_for_person"  # the follower wrote 人工


class Question(Base):
    """A question handed over to staff, with the conversation that led to it."""

    __tablename__ = "question"
    __table_args__ = (Index("ix_question_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    follower_id: Mapped[int] = mapped_column(ForeignKey("follower.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[HandoverReason] = mapped_column(Enum(HandoverReason, native_enum=False, length=20))
    conversation: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # oldest turn first
    status: Mapped[QuestionStatus] = mapped_column(
        Enum(QuestionStatus, native_enum=False, length=16), default=QuestionStatus.open)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    faq_id: Mapped[int | None]  # the FAQ entry made from this question and its answer, or given it as a similar one
    # What the follower said answered it, when they withdrew it: "faq" or "policy", and its id.
    helped_kind: Mapped[str | None] = mapped_column(String(16))
    helped_id: Mapped[int | None]
    undelivered_reason: Mapped[str | None] = mapped_column(String(300))  # why WeChat did not take the answer

    follower: Mapped[Follower] = relationship()


class AskOutcome(enum.StrEnum):
    answered = "answered"  # one confident answer
    choices = "choices"  # a numbered list of close matches
    low_confidence = "low_confidence"  # handed over: nothing confident
    asked_for_person = "asked_for_person"  # handed over: the follower asked for a person


class AskedQuestion(Base):
    """Every question the chat was asked and what it did with it: the frequent-questions report."""

    __tablename__ = "asked_question"
    __table_args__ = (Index("ix_asked_question_created_at_normalized", "created_at", "normalized"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(500))
    normalized: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[AskOutcome] = mapped_column(Enum(AskOutcome, native_enum=False, length=20))
    answer_kind: Mapped[str | None] = mapped_column(String(16))  # faq / policy, for one confident answer
    answer_id: Mapped[int | None]
    confidence: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feedback(Base):
    """A follower's 有用/没用 on an answer to a question."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_answer_kind_answer_id", "answer_kind", "answer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    follower_id: Mapped[int | None] = mapped_column(ForeignKey("follower.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(String(500))
    normalized: Mapped[str] = mapped_column(String(500))
    answer_kind: Mapped[str] = mapped_column(String(16))  # faq / policy / staff (a Question's answer)
    answer_id: Mapped[int]
    useful: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
