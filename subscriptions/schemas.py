"""Request and response models of the subscriptions domain (pydantic v2)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from subscriptions import reference


class SegmentCriteria(BaseModel):
    """One side of a segment filter: OR within a key, AND across keys.

    `industries` holds section letters (A-T) or two-digit divisions (01-97); `parks`, `topics` and
    `tags` hold ids; `sizes` holds 大/中/小/微.
    """

    model_config = ConfigDict(extra="forbid")

    industries: list[str] = Field(default_factory=list)
    parks: list[int] = Field(default_factory=list)
    topics: list[int] = Field(default_factory=list)
    tags: list[int] = Field(default_factory=list)
    sizes: list[str] = Field(default_factory=list)

    @field_validator("industries")
    @classmethod
    def _industries(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for raw in v:
            code = raw.strip().upper()
            try:
                reference.expand_industry(code)
            except KeyError:
                raise ValueError(
                    f"unknown industry code {raw!r}: use a GB/T 4754-2017 section letter A-T or a "
                    f"two-digit division 01-97 / 未知行业代码“{raw}”") from None
            if code not in out:
                out.append(code)
        return out

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for raw in v:
            try:
                code = reference.normalize_size(raw)
            except ValueError:
                raise ValueError(f"unknown size {raw!r}: use 大, 中, 小 or 微 / 未知规模“{raw}”") from None
            if code not in out:
                out.append(code)
        return out

    @field_validator("parks", "topics", "tags")
    @classmethod
    def _ids(cls, v: list[int]) -> list[int]:
        return list(dict.fromkeys(v))

    def enterprise_keys(self) -> bool:
        """Whether any key that describes enterprises (all but topics) is given."""
        return bool(self.industries or self.parks or self.tags or self.sizes)


class SegmentFilter(SegmentCriteria):
    """`{"industries": [...], "parks": [...], "topics": [...], "tags": [...], "sizes": [...],
    "exclude": {same keys}}`."""

    exclude: SegmentCriteria = Field(default_factory=SegmentCriteria)


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ParkCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    qr_scene: str | None = Field(default=None, max_length=64)


class ParkUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    qr_scene: str | None = Field(default=None, max_length=64)


class ParkRead(_Read):
    id: int
    name: str
    qr_scene: str | None


class TopicCreate(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    description: str = Field(default="", max_length=200)
    sort_order: int | None = None


class TopicUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=200)
    sort_order: int | None = None
    active: bool | None = None


class TopicRead(_Read):
    id: int
    name: str
    description: str
    sort_order: int
    active: bool


class TagCreate(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    description: str = Field(default="", max_length=200)


class TagUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=200)


class TagRead(_Read):
    id: int
    name: str
    description: str


class EnterpriseBrief(BaseModel):
    """What a preview sample shows: the credit code masked, no contact."""

    id: int
    name: str
    credit_code_masked: str
    industry_code: str | None
    industry_name: str
    park: str | None
    size: str | None


class SegmentCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    filter: SegmentFilter


class SegmentUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    filter: SegmentFilter | None = None


class SegmentRead(_Read):
    id: int
    name: str
    description: str
    filter: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class PreviewResult(BaseModel):
    enterprises: int = Field(description="enterprises matching the enterprise keys (topics do not apply)")
    followers: int = Field(description="reachable followers: following, not muted, matching")
    sample: list[EnterpriseBrief]


class RowError(BaseModel):
    row: int = Field(description="row number as the spreadsheet shows it (header is row 1)")
    column: str
    code: str = Field(description="missing_required, bad_credit_code, unknown_industry, unknown_park, "
                                   "unknown_tag, bad_size, bad_phone, too_long, duplicate_in_file")
    reason: str


class ImportReport(BaseModel):
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.errors})
