"""Request and response models of push campaigns (pydantic v2)."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.ids import Id
from core.text import TextInput
from push.models import CampaignKind, CampaignStatus, Channel, PauseReason

_QUIET = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


def check_quiet_hours(v: str | None) -> str | None:
    if v is None or v == "":
        return v
    if not _QUIET.match(v):
        raise ValueError("quiet hours are HH:MM-HH:MM, e.g. 22:00-08:00 (\"\" for none) / 免打扰时段格式有误")
    return v


class _Content(TextInput):
    model_config = ConfigDict(extra="forbid")

    summary: str | None = Field(default=None, max_length=500)
    segment_id: Id | None = None
    segment_filter: dict[str, Any] | None = Field(default=None, description="inline segment filter")
    channel: Channel | None = None
    template_id: str | None = Field(default=None, max_length=64)
    send_at: datetime | None = None
    quiet_hours: str | None = Field(default=None, description="HH:MM-HH:MM local; \"\" for none; null: default")

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str | None) -> str | None:
        return check_quiet_hours(v)

    @field_validator("send_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("send_at needs a time zone, e.g. 2024-05-01T09:00:00+08:00")
        return v


class CampaignCreate(_Content):
    title: str = Field(min_length=1, max_length=200)
    kind: CampaignKind = CampaignKind.policy
    policy_id: Id | None = None
    notice_text: str = Field(default="", max_length=20_000)
    survey_id: Id | None = Field(None, description="kind feedback: the survey whose 采纳情况 is sent")

    @model_validator(mode="after")
    def _shape(self) -> CampaignCreate:
        if self.kind is CampaignKind.policy and self.policy_id is None:
            raise ValueError("a policy campaign needs policy_id / 政策推送需指定政策")
        if self.kind is CampaignKind.notice and not self.notice_text.strip():
            raise ValueError("a notice campaign needs notice_text / 通知推送需填写通知内容")
        if self.kind is CampaignKind.survey:
            raise ValueError("survey invitations start when the survey opens / 问卷邀请随问卷开始收集自动发送")
        if self.kind is CampaignKind.feedback and self.survey_id is None:
            raise ValueError("a feedback campaign needs survey_id / 采纳情况推送需指定问卷")
        if self.segment_id is not None and self.segment_filter is not None:
            raise ValueError("give segment_id or segment_filter, not both")
        return self


class CampaignUpdate(_Content):
    title: str = Field(default=None, min_length=1, max_length=200)
    policy_id: Id | None = None
    notice_text: str = Field(default=None, max_length=20_000)


class Counts(BaseModel):
    targeted: int = 0
    pending: int = 0
    claimed: int = 0
    sent: int = 0  # accepted by WeChat (includes delivered and blocked, which came back by receipt)
    delivered: int = 0
    blocked: int = 0
    failed: int = 0
    skipped: int = 0
    opened: int = 0
    failed_by_reason: dict[str, int] = Field(default_factory=dict)
    skipped_by_reason: dict[str, int] = Field(default_factory=dict)

    @property
    def done(self) -> int:
        return self.targeted - self.pending - self.claimed


class CampaignReject(TextInput):
    reason: str = Field(min_length=1, max_length=500, description="why, for the author / 退回理由")

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a rejection needs a reason for the author / 请填写退回理由")
        return v.strip()


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    kind: CampaignKind
    policy_id: int | None
    survey_id: int | None = None
    notice_text: str
    summary: str
    segment_id: int | None
    segment_filter: dict[str, Any] | None
    channel: Channel
    template_id: str | None
    send_at: datetime | None
    quiet_hours: str | None
    status: CampaignStatus
    author_id: int
    test_sent_at: datetime | None
    submitted_at: datetime | None
    approved_by_id: int | None
    approved_at: datetime | None
    approved_hash: str | None
    rejected_by_id: int | None  # the last rejection, and the reason the author reads
    rejected_at: datetime | None
    reject_reason: str | None
    launched_at: datetime | None
    finished_at: datetime | None
    pause_reason: PauseReason | None
    pause_detail: str | None
    paused_until: datetime | None
    mass_msg_id: int | None  # mass_tag: WeChat's msg_id of the one mass send
    mass_status: str | None  # mass_tag: the Status of WeChat's receipt
    created_at: datetime
    updated_at: datetime


class CampaignDetail(CampaignRead):
    counts: Counts


class BreakdownRow(BaseModel):
    key: str
    label: str
    targeted: int
    sent: int
    delivered: int
    opened: int


class CampaignStats(BaseModel):
    counts: Counts
    by_industry: list[BreakdownRow]
    by_park: list[BreakdownRow]


class TestSendResult(BaseModel):
    openid: str
    msgid: int | None = None


class PreviewField(BaseModel):
    key: str  # thing1
    kind: str  # thing
    label: str  # 政策名称, as WeChat shows it before the value
    value: str  # what is sent and shown
    original: str  # the campaign's value before it was fitted
    shortened: bool
    problem: str | None  # why it cannot be sent, naming the field


class CampaignPreview(BaseModel):
    """What the follower's WeChat shows: a template message's title and rows (WeChat has shown neither
    `first` nor `remark` since May 2023), or a text message's text."""

    channel: Channel
    template_id: str | None = None
    title: str | None = None
    fields: list[PreviewField] = Field(default_factory=list)
    data: dict[str, dict[str, str]] | None = None  # exactly what message/template/send carries
    text: str | None = None  # customer-service and mass messages
    warnings: list[str] = Field(default_factory=list)  # values shortened to fit
    problems: list[str] = Field(default_factory=list)  # values that cannot be sent: submit is refused


class RelayPark(BaseModel):
    park_id: int
    park: str
    enterprises: int
    summary: str
