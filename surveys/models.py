"""Consultation surveys. Recipients and responses are kept apart: a recipient row per invited follower
(its token, progress and reminders, and the segment cells it counts in), and response rows that, for an
anonymous survey, hold no follower, token, recipient, enterprise or exact time, and have random ids, so
no column and no order links a response back to who gave it."""
from __future__ import annotations

import enum
import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class SurveyStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    open = "open"
    closed = "closed"


class SurveyPurpose(enum.StrEnum):
    consult = "consult"  # 意见征集: before a policy is made (item 10)
    evaluate = "evaluate"  # 评价: how a policy in force worked (item 13)
    general = "general"  # 需求调查 and anything else


class RecipientStatus(enum.StrEnum):
    invited = "invited"
    started = "started"  # answered at least one question; answers so far kept in `draft`
    completed = "completed"
    screened_out = "screened_out"  # their quota cell was full: thanked and stopped


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


def new_token() -> str:
    return secrets.token_urlsafe(18)  # 24 characters, 144 bits


class Survey(Base):
    __tablename__ = "survey"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    introduction: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[SurveyPurpose] = mapped_column(_enum(SurveyPurpose), default=SurveyPurpose.general)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id", ondelete="RESTRICT"))
    opens_at: Mapped[datetime | None]  # None: when launched
    closes_at: Mapped[datetime]
    public: Mapped[bool] = mapped_column(default=False)  # anyone who follows the account may answer
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segment.id", ondelete="RESTRICT"))
    segment_filter: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    anonymous: Mapped[bool] = mapped_column(default=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)  # SurveyJS JSON (surveys.definition)
    quotas: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # surveys.quotas
    reminders_max: Mapped[int] = mapped_column(default=2)
    reminder_gap_days: Mapped[int] = mapped_column(default=3)
    status: Mapped[SurveyStatus] = mapped_column(_enum(SurveyStatus), default=SurveyStatus.draft, index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    submitted_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    approved_at: Mapped[datetime | None]
    approved_hash: Mapped[str | None] = mapped_column(String(64))  # the whole definition, as approved
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SurveyRecipient(Base):
    """One follower invited to (or, for a public survey, starting) one survey."""

    __tablename__ = "survey_recipient"
    __table_args__ = (
        UniqueConstraint("survey_id", "follower_id", name="uq_survey_recipient_survey_id_follower_id"),
        Index("ix_survey_recipient_survey_id_status", "survey_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    follower_id: Mapped[int] = mapped_column(ForeignKey("follower.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(32), unique=True, default=new_token)
    status: Mapped[RecipientStatus] = mapped_column(_enum(RecipientStatus), default=RecipientStatus.invited)
    # the answers so far while started, and the question reached; cleared on completion
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_question: Mapped[str | None] = mapped_column(String(40))  # drop-off: where a started one stands
    # segment cells, for response rates by cell: GB/T 4754 section, park, size class
    industry_section: Mapped[str | None] = mapped_column(String(1))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("park.id", ondelete="SET NULL"))
    size: Mapped[str | None] = mapped_column(String(2))
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    reminders_sent: Mapped[int] = mapped_column(default=0)
    last_reminded_at: Mapped[datetime | None]
    completed_on: Mapped[date | None]  # a day, not a time, even for named surveys' recipients
    wants_feedback: Mapped[bool] = mapped_column(default=False)  # to be sent the 采纳情况


class SurveyResponse(Base):
    """A completed response. For an anonymous survey `recipient_id` and `follower_id` are NULL and only
    the day is kept; the cells are kept for cross-tabs, whose small cells are never shown."""

    __tablename__ = "survey_response"
    __table_args__ = (Index("ix_survey_response_survey_id_day", "survey_id", "day"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: secrets.token_hex(16))
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("survey_recipient.id", ondelete="SET NULL"),
                                                     unique=True)
    follower_id: Mapped[int | None] = mapped_column(ForeignKey("follower.id", ondelete="SET NULL"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(8))  # chat / form
    day: Mapped[date]
    completed_at: Mapped[datetime | None]  # named surveys only
    industry_section: Mapped[str | None] = mapped_column(String(1))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("park.id", ondelete="SET NULL"))
    size: Mapped[str | None] = mapped_column(String(2))


class SurveyAnswerCount(Base):
    """How many completed responses gave one answer to one question (and, for the questions cross-tabulated,
    in one segment cell). Raised in the completing transaction (surveys.counts), so the results read a row
    per distinct answer instead of every response. Holds nothing a response does not hold already."""

    __tablename__ = "survey_answer_count"

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True)
    question: Mapped[str] = mapped_column(String(40), primary_key=True)
    digest: Mapped[str] = mapped_column(String(40), primary_key=True)  # of the answer and cells: the key
    value: Mapped[str] = mapped_column(Text)  # the answer as JSON (free text may run to 5,000 characters)
    industry_section: Mapped[str | None] = mapped_column(String(1))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("park.id", ondelete="SET NULL"))
    size: Mapped[str | None] = mapped_column(String(2))
    n: Mapped[int]


class SurveyQuotaCount(Base):
    """Completions counted against one quota of a survey; raised by a guarded UPDATE, so concurrent
    completions never pass the cap."""

    __tablename__ = "survey_quota_count"

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True)
    quota: Mapped[str] = mapped_column(String(64), primary_key=True)  # the quota's key
    cap: Mapped[int]
    count: Mapped[int] = mapped_column(default=0)


class SurveyFeedback(Base):
    """采纳情况: what the office adopted from a survey, what not and why; published as a page."""

    __tablename__ = "survey_feedback"

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True)
    adopted: Mapped[str] = mapped_column(Text, default="")
    not_adopted: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
