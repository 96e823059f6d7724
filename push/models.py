"""Push campaigns and their deliveries: one row per targeted follower, written once at launch."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class CampaignKind(enum.StrEnum):
    policy = "policy"  # a policy in force, pushed with its interpretation (三同步)
    notice = "notice"  # a plain notice text
    survey = "survey"  # a survey's invitation (round 0) or reminder round n, to its recipients (surveys/invitations.py)
    feedback = "feedback"  # a survey's published 采纳情况, to the respondents who asked for it (surveys/feedback.py)


class Channel(enum.StrEnum):
    template = "template"  # template message (default): daily quota, client_msg_id, receipts
    custom = "custom"  # customer-service message: only followers active within 48 h
    mass_tag = "mass_tag"  # one mass send by WeChat tag: the segment must be one mirrored park or section


class CampaignStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    scheduled = "scheduled"
    running = "running"
    paused = "paused"
    finished = "finished"
    cancelled = "cancelled"


class PauseReason(enum.StrEnum):
    staff = "staff"  # paused by a person
    quota = "quota"  # 45009: daily quota used; resumes by itself after the reset
    stopped = "stopped"  # 40037 or another configuration error staff must fix, then resume
    changed = "changed"  # what was approved changed after launch: restore it and resume, or cancel


class DeliveryStatus(enum.StrEnum):
    pending = "pending"  # waiting (or waiting for a retry after next_attempt_at)
    claimed = "claimed"  # a worker holds it (until claimed_at + lease): sending now
    sent = "sent"  # WeChat accepted it (msgid); waiting for the receipt
    delivered = "delivered"  # receipt: success
    failed = "failed"  # gave up (reason, errcode)
    skipped = "skipped"  # not sent: unfollowed, muted, outside the 48 h window, campaign cancelled
    blocked = "blocked"  # receipt: failed:user block


OPEN = (DeliveryStatus.pending, DeliveryStatus.claimed)  # work still to do


def _enum(kind: type[enum.Enum], length: int = 16) -> Enum:
    return Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Campaign(Base):
    __tablename__ = "campaign"
    __table_args__ = (
        # one campaign per survey round, however many ticks race to start it
        UniqueConstraint("survey_id", "survey_round", name="uq_campaign_survey_id_survey_round"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[CampaignKind] = mapped_column(_enum(CampaignKind), default=CampaignKind.policy)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id", ondelete="RESTRICT"))
    notice_text: Mapped[str] = mapped_column(Text, default="")
    # kind survey: the survey and the round (0 the invitation, n the n-th reminder); approved with the survey
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    survey_round: Mapped[int | None]
    summary: Mapped[str] = mapped_column(String(500), default="")  # shown in the message; default from content
    # audience: a saved segment (its filter as at approval is pinned by the hash) or an inline filter
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segment.id", ondelete="RESTRICT"))
    segment_filter: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.template)
    template_id: Mapped[str | None] = mapped_column(String(64))  # None: settings.push_template_id
    send_at: Mapped[datetime | None]  # None: as soon as launched
    quiet_hours: Mapped[str | None] = mapped_column(String(11))  # "22:00-08:00"; None: settings; "" none
    status: Mapped[CampaignStatus] = mapped_column(_enum(CampaignStatus), default=CampaignStatus.draft,
                                                   index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    test_sent_hash: Mapped[str | None] = mapped_column(String(64))  # content hash of the last test send
    test_sent_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    approved_at: Mapped[datetime | None]
    approved_hash: Mapped[str | None] = mapped_column(String(64))  # what exactly was approved
    # the last rejection: who, when and the reason the author reads
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    rejected_at: Mapped[datetime | None]
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    launched_at: Mapped[datetime | None]
    materialized_at: Mapped[datetime | None]  # every recipient written into delivery
    finished_at: Mapped[datetime | None]
    pause_reason: Mapped[PauseReason | None] = mapped_column(_enum(PauseReason))
    pause_detail: Mapped[str | None] = mapped_column(String(500))  # why (paused, or a mass send's end), for staff
    paused_until: Mapped[datetime | None]  # quota pauses: when the quota resets
    targeted: Mapped[int | None]  # cache: deliveries written
    # mass_tag: the one mass send, claimed (committed) before the call so that it is never made twice
    mass_started_at: Mapped[datetime | None]
    mass_msg_id: Mapped[int | None] = mapped_column(BigInteger)  # WeChat's, for MASSSENDJOBFINISH
    # from MASSSENDJOBFINISH: its Status and TotalCount, FilterCount, SentCount, ErrorCount
    mass_status: Mapped[str | None] = mapped_column(String(64))
    mass_total: Mapped[int | None]
    mass_filtered: Mapped[int | None]
    mass_sent: Mapped[int | None]
    mass_errors: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Delivery(Base):
    """One follower of one campaign. Claimed before the WeChat call, its outcome recorded after it."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("campaign_id", "follower_id", name="uq_delivery_campaign_id_follower_id"),
        # the claim query: a campaign's pending rows in id order; also the per-status counts
        Index("ix_delivery_campaign_id_status_id", "campaign_id", "status", "id"),
        Index("ix_delivery_msgid", "msgid"),  # receipts
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    follower_id: Mapped[int] = mapped_column(ForeignKey("follower.id", ondelete="CASCADE"))
    openid: Mapped[str] = mapped_column(String(64))
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus), default=DeliveryStatus.pending)
    reason: Mapped[str | None] = mapped_column(String(64))
    errcode: Mapped[int | None]
    client_msg_id: Mapped[str] = mapped_column(String(64))  # f(campaign, follower): a resend is a no-op
    msgid: Mapped[int | None] = mapped_column(BigInteger)  # WeChat's, for the receipt
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]  # after a retryable error
    claimed_by: Mapped[str | None] = mapped_column(String(32))  # the batch run holding the claim
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    receipt_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]


class PendingReceipt(Base):
    """A receipt that matched nothing yet (it overtook the worker's write of its msgid). Kept in the
    database, not in Redis: receipts keep coming while Redis is down, and WeChat sends each only once."""

    __tablename__ = "pending_receipt"

    id: Mapped[int] = mapped_column(primary_key=True)
    msgid: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, str] | None] = mapped_column(JSON)  # MASSSENDJOBFINISH's; None for a template
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
