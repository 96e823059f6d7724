from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.text import TextInput
from staff.models import Role


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
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    action: str
    target: str | None
    detail: dict[str, Any]
