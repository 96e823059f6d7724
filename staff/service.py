"""Staff accounts and the audit log."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from staff.models import AuditEntry, Role, StaffUser
from staff.security import hash_password, verify_password

MIN_PASSWORD = 8


class StaffError(ValueError):
    """A request about staff accounts that cannot be carried out; the message says why."""


def get_by_username(*, session: Session, username: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.username == username))


def create_user(*, session: Session, username: str, password: str, role: Role | str,
                openid: str | None = None) -> StaffUser:
    username = username.strip()
    if not username:
        raise StaffError("username is empty")
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"password must have at least {MIN_PASSWORD} characters")
    try:
        role = Role(role)
    except ValueError:
        raise StaffError(f"unknown role {role!r}; one of {', '.join(Role)}") from None
    if get_by_username(session=session, username=username) is not None:
        raise StaffError(f"user {username!r} exists")
    user = StaffUser(username=username, password_hash=hash_password(password), role=role, openid=openid)
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, username: str, password: str) -> StaffUser | None:
    user = get_by_username(session=session, username=username)
    if user is None or not user.active or not verify_password(password, user.password_hash):
        return None
    return user


def audit(*, session: Session, actor: StaffUser | None, action: str, target: str | None = None,
          **detail: Any) -> AuditEntry:
    entry = AuditEntry(actor_id=actor.id if actor else None, action=action, target=target, detail=detail)
    session.add(entry)
    session.flush()
    return entry


def recent_audit(*, session: Session, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))
