"""Request and response models of surveys. A definition is checked with surveys.definition and stored
normalised (choices as {value, text}); quotas with surveys.quotas."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.ids import Id
from core.text import TextInput
from surveys import definition as definitions
from surveys.models import RecipientStatus, SurveyPurpose, SurveyStatus


def normalised(raw: dict[str, Any]) -> dict[str, Any]:
    """The definition as stored: validated, defaults left out, choices as {value, text}."""
    return definitions.parse(raw).model_dump(mode="json", exclude_defaults=True)


def _aware(v: datetime | None) -> datetime | None:
    if v is not None and v.tzinfo is None:
        raise ValueError("时间须带时区，例如 2026-05-01T09:00:00+08:00")
    return v


class _Fields(TextInput):
    model_config = ConfigDict(extra="forbid")

    introduction: str | None = Field(None, max_length=5000)
    purpose: SurveyPurpose | None = None
    policy_id: Id | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    public: bool | None = None
    segment_id: Id | None = None
    segment_filter: dict[str, Any] | None = None
    anonymous: bool | None = None
    definition: dict[str, Any] | None = Field(None, description="SurveyJS JSON (subset)")
    quotas: list[dict[str, Any]] | None = None
    reminders_max: int | None = Field(None, ge=0, le=5)
    reminder_gap_days: int | None = Field(None, ge=1, le=30)

    _times = field_validator("opens_at", "closes_at")(_aware)

    @field_validator("definition")
    @classmethod
    def _definition(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is None:
            return v
        try:
            return normalised(v)
        except definitions.DefinitionError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _audience(self):
        if self.segment_id is not None and self.segment_filter is not None:
            raise ValueError("人群只能选一个：segment_id 或 segment_filter")
        return self


class SurveyCreate(_Fields):
    title: str = Field(min_length=1, max_length=200)
    definition: dict[str, Any] = Field(description="SurveyJS JSON (subset)")
    closes_at: datetime


class SurveyUpdate(_Fields):
    title: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _no_nulls(self) -> SurveyUpdate:
        nullable = {"policy_id", "opens_at", "segment_id", "segment_filter"}
        nulls = [k for k in self.model_fields_set - nullable if getattr(self, k) is None]
        if nulls:
            raise ValueError(f"{'、'.join(sorted(nulls))} 不能为空")
        return self


class SurveyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    introduction: str
    purpose: SurveyPurpose
    policy_id: int | None
    opens_at: datetime | None
    closes_at: datetime
    public: bool
    segment_id: int | None
    segment_filter: dict[str, Any] | None
    anonymous: bool
    definition: dict[str, Any]
    quotas: list[dict[str, Any]]
    reminders_max: int
    reminder_gap_days: int
    status: SurveyStatus
    author_id: int
    submitted_at: datetime | None
    approved_by_id: int | None
    approved_at: datetime | None
    approved_hash: str | None
    rejection_reason: str | None
    opened_at: datetime | None
    closed_at: datetime | None


class RejectBody(TextInput):
    reason: str = Field(min_length=1, max_length=500)


class RecipientCounts(BaseModel):
    invited: int = 0
    started: int = 0
    completed: int = 0
    screened_out: int = 0

    @classmethod
    def of(cls, rows: dict[RecipientStatus, int]) -> RecipientCounts:
        return cls(**{str(k): v for k, v in rows.items()})
