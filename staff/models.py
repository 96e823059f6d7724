from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, LargeBinary, String, false
from sqlalchemy.orm import Mapped, deferred, mapped_column

from core.db import Base, utcnow


class Role(enum.StrEnum):
    admin = "admin"
    editor = "editor"
    reviewer = "reviewer"
    analyst = "analyst"


# Roles that see personal data in full (contacts, credit codes, what followers typed, openids) and may
# export it; every other role reads it masked (core.masking).
FULL_VIEW = frozenset({Role.admin, Role.editor})


class StaffUser(Base):
    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)  # canonical (staff.usernames)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    openid: Mapped[str | None] = mapped_column(String(64))  # for test sends to their own WeChat
    active: Mapped[bool] = mapped_column(default=True)
    # raised by sign-out, a password change or reset and deactivation: every token and console session
    # issued before carries the old value and is refused from then on
    token_version: Mapped[int] = mapped_column(default=1, server_default="1")
    demo: Mapped[bool] = mapped_column(default=False, server_default=false())  # signs in only against the sandbox
    # who made the account: they cannot approve that person's campaigns with it (four eyes)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who did what, when: kept for every change staff make, and for what they were refused
    (`<action>.refused`)."""

    __tablename__ = "audit_entry"
    __table_args__ = (  # the log's filters, each newest first
        Index("ix_audit_entry_actor_id_id", "actor_id", "id"),
        Index("ix_audit_entry_action_id", "action", "id"),
        Index("ix_audit_entry_target_id", "target", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ImportStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"  # read to the end: the report says what was stored and which rows were bad
    refused = "refused"  # the file as a whole cannot be imported (`error` says why); nothing stored
    failed = "failed"  # an unexpected error; nothing stored


class ImportJob(Base):
    """An uploaded file that a worker imports; the upload is kept here until then, so a worker on another
    machine can read it and a worker that dies mid-import leaves it to run again."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # staff.import_jobs.KINDS
    filename: Mapped[str] = mapped_column(String(255))
    fmt: Mapped[str] = mapped_column(String(8))
    status: Mapped[ImportStatus] = mapped_column(Enum(ImportStatus, native_enum=False, length=16),
                                                 default=ImportStatus.queued)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # the upload, dropped once finished
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(1000))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
