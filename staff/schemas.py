from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from core.ids import Id
from core.imports import ImportReport
from core.text import TextInput
from staff.models import ImportStatus, Role


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"


class UserCreate(TextInput):
    username: str = Field(min_length=1, max_length=64, description="stored case folded and NFKC-normalised")
    password: str = Field(max_length=256, description="PASSWORD_MIN_LENGTH or more characters, neither the "
                          "username nor containing it, not a common password")
    role: Role
    openid: str | None = Field(default=None, max_length=64)


class UserUpdate(BaseModel):
    """An omitted field stays as it is; null is refused (422)."""

    role: Role = None
    active: bool = None


class PasswordReset(BaseModel):
    password: str = Field(max_length=256, description="the same policy as on create")


class BindingRead(BaseModel):
    """A one-time QR code that binds whoever scans it as this staff member's own WeChat."""

    ticket: str = Field(description="WeChat's showqrcode?ticket= gives the image")
    url: str = Field(description="what the image encodes")
    expires_at: datetime


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    openid: str | None
    active: bool
    demo: bool
    created_by_id: int | None
    created_at: datetime


class AuditRead(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor: str | None = Field(description="the actor's username; null for the system or the command line")
    action: str
    target: str | None
    detail: dict[str, Any]


class AuditQuery(BaseModel):
    """The audit log's filters, all optional and combined; newest first, paged by `before_id`."""

    model_config = ConfigDict(extra="forbid")

    actor_id: Id | None = None
    action: str | None = Field(default=None, max_length=64, pattern=r"^[a-z_]+(\.[a-z_]+)*$",
                               description="an action (campaign.approve) or a dotted prefix of one (campaign)")
    refused: bool = Field(default=False, description="only what was refused (actions ending in .refused)")
    object_type: str | None = Field(default=None, max_length=32, pattern=r"^[a-z_]+$",
                                    description="what was acted on: campaign, policy, user, ...")
    object_id: Id | None = Field(default=None, description="with object_type: that one record")
    since: AwareDatetime | None = Field(default=None, description="from this time on (inclusive)")
    until: AwareDatetime | None = Field(default=None, description="before this time (exclusive)")
    before_id: Id | None = Field(default=None, description="the last id of the previous page")
    limit: int = Field(default=100, ge=1, le=500)

    @model_validator(mode="after")
    def _object(self) -> AuditQuery:
        if self.object_id is not None and self.object_type is None:
            raise ValueError("object_id needs object_type / 按对象编号筛选时须同时指定对象类型")
        return self


class ImportJobRead(BaseModel):
    id: int
    kind: str = Field(description="enterprises, faq or policies")
    filename: str
    status: ImportStatus = Field(description="queued, running, then done (see report), refused (see error: the "
                                             "file as a whole cannot be imported) or failed; nothing is stored "
                                             "unless done")
    rows_done: int = Field(description="rows read so far")
    rows_total: int | None = Field(description="rows in the file, once known")
    report: ImportReport | None = Field(description="once done: what was stored and every bad row")
    error: str | None = Field(description="why the file was refused, or that the import failed (Chinese)")
    created_at: AwareDatetime
    finished_at: AwareDatetime | None
    status_url: str = Field(description="poll this until status is done, refused or failed")
