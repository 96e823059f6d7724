"""Request and response models of the policy library (pydantic v2)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from core.ids import Id
from core.text import TextInput
from policies.models import STATUS_LABELS, PolicyStatus
from subscriptions import reference


def _names(v: list[str]) -> list[str]:
    return list(dict.fromkeys(s.strip() for s in v if s.strip()))


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- policies ------------------------------------------------------------------------------------

class _PolicyFields(TextInput):
    model_config = ConfigDict(extra="forbid")

    @field_validator("industries", check_fields=False)
    @classmethod
    def _check_industries(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else reference.industry_codes(v)

    @field_validator("topics", "parks", "tags", check_fields=False)
    @classmethod
    def _check_names(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _names(v)


class PolicyCreate(_PolicyFields):
    """A new policy. `status` may be given only as revised (with `superseded_by_id`) or repealed; the
    other statuses follow the dates. Topics, parks and tags are given by name."""

    title: str = Field(min_length=1, max_length=300)
    doc_number: str | None = Field(default=None, max_length=100)
    issuer: str = Field(default="", max_length=200)
    issued_on: date | None = None
    effective_on: date | None = None
    expires_on: date | None = None
    status: PolicyStatus | None = None
    superseded_by_id: Id | None = None
    body: str = ""
    industries: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    parks: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    source_url: str = Field(default="", max_length=1000)


class PolicyUpdate(_PolicyFields):
    """The fields to change; omitted fields stay as they are."""

    title: str = Field(default=None, min_length=1, max_length=300)
    doc_number: str | None = Field(default=None, max_length=100)
    issuer: str = Field(default=None, max_length=200)
    issued_on: date | None = None
    effective_on: date | None = None
    expires_on: date | None = None
    status: PolicyStatus | None = None
    superseded_by_id: Id | None = None
    body: str = None
    industries: list[str] = None
    topics: list[str] = None
    parks: list[str] = None
    tags: list[str] = None
    source_url: str = Field(default=None, max_length=1000)


class InterpretationUpdate(TextInput):
    """The parts to set (created when the policy has none); omitted parts stay as they are."""

    model_config = ConfigDict(extra="forbid")

    background: str | None = None
    goals: str | None = None
    main_content: str | None = None
    keywords: str | None = None
    scope: str | None = None
    standards: str | None = None
    benefits: str | None = None
    changes: str | None = None
    image_url: str | None = Field(default=None, max_length=1000)
    video_url: str | None = Field(default=None, max_length=1000)


class InterpretationRead(_Read):
    background: str
    goals: str
    main_content: str
    keywords: str
    scope: str
    standards: str
    benefits: str
    changes: str
    image_url: str | None
    video_url: str | None
    updated_at: datetime


class Completeness(BaseModel):
    complete: bool
    missing: list[str] = Field(description="the required parts still empty, by their Chinese names")


class PolicyBrief(_Read):
    id: int
    title: str
    doc_number: str | None
    issuer: str
    issued_on: date | None
    status: PolicyStatus

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


class PolicyRead(PolicyBrief):
    effective_on: date | None
    expires_on: date | None
    superseded_by_id: int | None
    body: str
    industries: list[str]
    topics: list[str]
    parks: list[str]
    tags: list[str]
    source_url: str
    created_at: datetime
    updated_at: datetime
    interpretation: InterpretationRead | None
    completeness: Completeness

    @field_validator("topics", "parks", "tags", mode="before")
    @classmethod
    def _named(cls, v: Any) -> list[str]:
        return [getattr(x, "name", x) for x in v]


class RevisionRead(_Read):
    id: int
    at: datetime
    actor_id: int | None
    action: str
    via: str
    changes: dict[str, Any]


# --- FAQ -----------------------------------------------------------------------------------------

class FaqCreate(TextInput):
    model_config = ConfigDict(extra="forbid")

    external_id: str | None = Field(default=None, max_length=64)
    category: str = Field(default="", max_length=100)
    question: str = Field(min_length=1, max_length=500)
    answer: str = Field(min_length=1)
    similar: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    issuer: str = Field(default="", max_length=200)
    source_url: str = Field(default="", max_length=1000)
    policy_number: str | None = Field(default=None, max_length=100)

    @field_validator("similar", "keywords")
    @classmethod
    def _clean(cls, v: list[str]) -> list[str]:
        return _names(v)


class FaqUpdate(TextInput):
    model_config = ConfigDict(extra="forbid")

    external_id: str | None = Field(default=None, max_length=64)
    category: str = Field(default=None, max_length=100)
    question: str = Field(default=None, min_length=1, max_length=500)
    answer: str = Field(default=None, min_length=1)
    similar: list[str] = None
    keywords: list[str] = None
    issuer: str = Field(default=None, max_length=200)
    source_url: str = Field(default=None, max_length=1000)
    policy_number: str | None = Field(default=None, max_length=100)

    @field_validator("similar", "keywords")
    @classmethod
    def _clean(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _names(v)


class FaqRead(_Read):
    id: int
    external_id: str | None
    category: str
    question: str
    answer: str
    similar: list[str]
    keywords: list[str]
    issuer: str
    source_url: str
    policy_number: str | None
    created_at: datetime
    updated_at: datetime
