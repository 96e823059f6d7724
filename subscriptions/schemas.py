"""Request and response models of the subscriptions domain (pydantic v2)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from core.ids import MAX_ID, Id
from core.masking import mask_credit_code, mask_name, mask_openid, mask_phone
from core.text import TextInput
from subscriptions import reference


class SegmentCriteria(TextInput):
    """One side of a segment filter: OR within a key, AND across keys.

    `industries` holds section letters (A-T) or two-digit divisions (01-97); `parks`, `topics` and
    `tags` hold ids; `sizes` holds 大/中/小/微.
    """

    model_config = ConfigDict(extra="forbid")

    industries: list[str] = Field(default_factory=list)
    parks: list[Id] = Field(default_factory=list)
    topics: list[Id] = Field(default_factory=list)
    tags: list[Id] = Field(default_factory=list)
    sizes: list[str] = Field(default_factory=list)

    @field_validator("industries")
    @classmethod
    def _industries(cls, v: list[str]) -> list[str]:
        return reference.industry_codes(v)

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
    "exclude": {same keys}, "verified": false}`."""

    exclude: SegmentCriteria = Field(default_factory=SegmentCriteria)
    verified: bool = Field(default=False, description=(
        "true: followers are reached only through verified bindings of verified enterprises (confirmed by "
        "staff or by the contact on record), never through a park QR scan alone"))


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def no_blank_scene(v: str | None) -> str | None:
    """A blank scene is no scene (two parks with "" would collide on the unique column)."""
    return (v or "").strip() or None


class ParkCreate(TextInput):
    name: str = Field(min_length=1, max_length=100)
    qr_scene: str | None = Field(default=None, max_length=64)

    _scene = field_validator("qr_scene")(no_blank_scene)


class ParkUpdate(TextInput):
    name: str = Field(default=None, min_length=1, max_length=100)
    qr_scene: str | None = Field(default=None, max_length=64)

    _scene = field_validator("qr_scene")(no_blank_scene)


class ParkRead(_Read):
    id: int
    name: str
    qr_scene: str | None = Field(description="scene of the park's QR code; scanning it records the park")
    qr_url: str | None = Field(default=None, description="the QR code's content URL, once made")
    qr_ticket: str | None = Field(default=None, description="ticket for showqrcode, once made")
    qr_created_at: datetime | None = None


class TopicCreate(TextInput):
    name: str = Field(min_length=1, max_length=50)
    description: str = Field(default="", max_length=200)
    sort_order: int | None = Field(default=None, ge=0, le=MAX_ID)


class TopicUpdate(TextInput):
    name: str = Field(default=None, min_length=1, max_length=50)
    description: str = Field(default=None, max_length=200)
    sort_order: int = Field(default=None, ge=0, le=MAX_ID)
    active: bool = None


class TopicRead(_Read):
    id: int
    name: str
    description: str
    sort_order: int
    active: bool


class TagCreate(TextInput):
    name: str = Field(min_length=1, max_length=50)
    description: str = Field(default="", max_length=200)


class TagUpdate(TextInput):
    name: str = Field(default=None, min_length=1, max_length=50)
    description: str = Field(default=None, max_length=200)
    active: bool = None


class TagRead(_Read):
    id: int
    name: str
    description: str
    active: bool


class EnterpriseBrief(BaseModel):
    """What a preview sample shows: the credit code masked, no contact."""

    id: int
    name: str
    credit_code_masked: str
    industry_code: str | None
    industry_name: str
    park: str | None
    size: str | None


class SegmentCreate(TextInput):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    filter: SegmentFilter


class SegmentUpdate(TextInput):
    name: str = Field(default=None, min_length=1, max_length=100)
    description: str = Field(default=None, max_length=500)
    filter: SegmentFilter = None


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


# --- enterprises (staff API) -------------------------------------------------------------------

def _credit_code(v: str) -> str:
    from subscriptions import credit_code

    try:
        return credit_code.validate(v)
    except credit_code.InvalidCreditCode as exc:
        raise ValueError(str(exc)) from None


def _division(v: str | None) -> str | None:
    return reference.normalize_division(v) if v not in (None, "") else None


def _size(v: str | None) -> str | None:
    return reference.normalize_size(v) if v not in (None, "") else None


CreditCode = Annotated[str, AfterValidator(_credit_code), Field(description="统一社会信用代码, checked per GB 32100-2015")]
Division = Annotated[str | None, AfterValidator(_division),
                     Field(description="GB/T 4754-2017 division, e.g. 13 or C1351")]
SizeClass = Annotated[str | None, AfterValidator(_size), Field(description="大, 中, 小 or 微")]


class EnterpriseCreate(TextInput):
    credit_code: CreditCode
    name: str = Field(min_length=1, max_length=200)
    industry_code: Division = None
    park_id: Id | None = None
    size: SizeClass = None
    tag_ids: list[Id] = Field(default_factory=list)
    contact_name: str | None = Field(default=None, max_length=50)
    contact_phone: str | None = Field(default=None, max_length=32)


class EnterpriseUpdate(TextInput):
    """Fields to change; the credit code identifies the enterprise and does not change. Only the fields
    typed `| None` may be cleared with null."""

    name: str = Field(default=None, min_length=1, max_length=200)
    industry_code: Division = None
    park_id: Id | None = None
    size: SizeClass = None
    tag_ids: list[Id] = None
    contact_name: str | None = Field(default=None, max_length=50)
    contact_phone: str | None = Field(default=None, max_length=32)


class EnterpriseRead(BaseModel):
    """An enterprise; `credit_code` and the contact are masked unless the reader may export them."""

    id: int
    credit_code: str
    name: str
    industry_code: str | None
    industry_name: str
    park_id: int | None
    park: str | None
    size: str | None
    tags: list[str]
    contact_name: str | None
    contact_phone: str | None
    masked: bool = Field(description="true when credit code and contact are masked for this role")
    verified_at: datetime | None = Field(description="null: a follower registered it in the chat and staff have "
                                                     "not confirmed it (POST /api/enterprises/{id}/verify)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def shown(cls, e: Any, *, full: bool) -> EnterpriseRead:
        """`e` (an Enterprise) as a role reads it: in full, or with credit code and contact masked."""
        return cls(
            id=e.id, credit_code=e.credit_code if full else mask_credit_code(e.credit_code), name=e.name,
            industry_code=e.industry_code, industry_name=reference.industry_label(e.industry_code),
            park_id=e.park_id, park=e.park.name if e.park else None, size=e.size, tags=[t.name for t in e.tags],
            contact_name=e.contact_name if full else (mask_name(e.contact_name) or None),
            contact_phone=e.contact_phone if full else (mask_phone(e.contact_phone) or None),
            masked=not full, verified_at=e.verified_at, created_at=e.created_at, updated_at=e.updated_at)


class EnterprisePage(BaseModel):
    items: list[EnterpriseRead]
    next_after_id: int | None = Field(description="pass as `after_id` for the next page; null at the end")


# --- followers (staff API) ---------------------------------------------------------------------

class FollowerRead(BaseModel):
    id: int
    openid: str = Field(description="masked for roles that may not see personal data")
    state: str
    park_id: int | None
    park: str | None
    enterprises: int = Field(description="how many enterprises the follower is bound to")
    muted: bool
    muted_until: datetime | None
    followed_at: datetime
    unfollowed_at: datetime | None
    last_interaction_at: datetime | None


    @classmethod
    def shown(cls, f: Any, *, bound: int, full: bool) -> FollowerRead:
        """`f` (a Follower bound to `bound` enterprises) as a role reads it: the openid masked unless `full`."""
        return cls(id=f.id, openid=f.openid if full else mask_openid(f.openid), state=f.state.value,
                   park_id=f.park_id, park=f.park.name if f.park else None, enterprises=bound, muted=f.muted,
                   muted_until=f.muted_until, followed_at=f.followed_at, unfollowed_at=f.unfollowed_at,
                   last_interaction_at=f.last_interaction_at)


class FollowerPage(BaseModel):
    items: list[FollowerRead]
    next_after_id: int | None


class FollowerDetail(FollowerRead):
    qr_scene: str | None
    subscriptions: list[TopicRead]
    bound_enterprises: list[EnterpriseBrief]


# --- segment preview and WeChat tags -----------------------------------------------------------

class PreviewRequest(TextInput):
    """Either an inline `filter` or the id of a saved segment."""

    model_config = ConfigDict(extra="forbid")

    filter: dict[str, Any] | None = Field(default=None, description="a segment filter (see SegmentFilter)")
    segment_id: Id | None = None
    sample_size: int = Field(default=10, ge=0, le=100)


class TagSyncReport(BaseModel):
    """What one WeChat tag sync did; `skipped_tags` names parks/sections left out and why."""

    tags_created: list[str] = Field(default_factory=list)
    tags_renamed: list[str] = Field(default_factory=list)
    tags_deleted: list[str] = Field(default_factory=list)
    skipped_tags: list[str] = Field(default_factory=list)
    tagged: int = 0
    untagged: int = 0
    forgotten: int = Field(default=0, description="unfollowed followers dropped from tags without a call")
    skipped_followers: int = Field(default=0, description="tagging refused: the user has 20 tags")
    batch_sizes: list[int] = Field(default_factory=list, description="openids per (un)tagging call")
    retries: int = 0
    finished_at: datetime | None = None


class WeChatTagRead(_Read):
    id: int
    tag_id: int
    name: str
    park_id: int | None
    section: str | None
    synced_at: datetime | None
    members: int = 0


class TagSyncQueued(BaseModel):
    queued: bool = True
    last_report: TagSyncReport | None = None


# --- binding verification (staff API) ----------------------------------------------------------

class BindingRead(BaseModel):
    follower_id: int
    openid: str = Field(description="masked for analysts")
    enterprise_id: int
    enterprise: str
    credit_code: str = Field(description="masked for analysts")
    park: str | None
    enterprise_verified: bool = Field(description="false: a follower registered it in the chat, staff have not "
                                                  "confirmed it yet")
    contact_on_record: bool = Field(description="the follower can verify by the contact phone's last 4 digits")
    bound_at: datetime
    verified: bool = Field(description="the binding is verified and so is its enterprise")
    verified_at: datetime | None
    verified_by: str | None = Field(description="`staff:<username>` or `contact`")


class BindingPage(BaseModel):
    items: list[BindingRead]
    next_after_enterprise_id: int | None = Field(
        description="pass with next_after_follower_id as `after_enterprise_id`/`after_follower_id`; null at the end")
    next_after_follower_id: int | None
