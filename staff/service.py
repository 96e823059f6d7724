"""Staff accounts and the audit log."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from staff import passwords, usernames
from staff.models import AuditEntry, Role, StaffUser
from staff.security import hash_password, verify_nobody, verify_password


class StaffError(ValueError):
    """A request about staff accounts that cannot be carried out; the message says why (in Chinese)."""


class Invalid(StaffError):
    """Refused input: a username or password the policy does not allow, an unknown role."""


class Conflict(StaffError):
    """A username already taken (in any spelling that means the same name)."""


def get_by_username(*, session: Session, username: str) -> StaffUser | None:
    """The account `username` names, however it was typed (case, width, invisible characters)."""
    name = usernames.canonical(username)
    return session.scalar(select(StaffUser).where(StaffUser.username == name)) if name else None


def create_user(*, session: Session, username: str, password: str, role: Role | str,
                openid: str | None = None, demo: bool = False, created_by: StaffUser | None = None) -> StaffUser:
    """A new staff account; `created_by` is who asked for it (None: set up from the command line or the
    demo), recorded so that they cannot approve their own campaigns with it."""
    try:
        name = usernames.checked(username)
        passwords.check(password, username=name)
        role = Role(role)
    except (usernames.UsernameRejected, passwords.PasswordRejected) as exc:
        raise Invalid(str(exc)) from None
    except ValueError:
        raise Invalid(f"未知的角色 {role!r}，可选：{'、'.join(Role)}") from None
    if session.scalar(select(StaffUser.id).where(StaffUser.username == name)) is not None:
        raise Conflict(f"用户名“{name}”已存在")
    user = StaffUser(username=name, password_hash=hash_password(password), role=role, openid=openid, demo=demo,
                     created_by_id=created_by.id if created_by else None)
    session.add(user)
    session.flush()
    return user


def set_password(*, session: Session, user: StaffUser, password: str) -> None:
    """A new password (changed by its owner or reset by an admin): the policy applies, and every token
    and console session of the account ends."""
    try:
        passwords.check(password, username=user.username)
    except passwords.PasswordRejected as exc:
        raise Invalid(str(exc)) from None
    user.password_hash = hash_password(password)
    revoke_tokens(session=session, user=user)


def list_users(*, session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.id)))


def update_user(*, session: Session, user: StaffUser, role: Role | None = None, active: bool | None = None) -> None:
    """A new role and/or active state; Conflict when it would leave no active admin."""
    new_role = role if role is not None else user.role
    new_active = active if active is not None else user.active
    if user.role is Role.admin and user.active and not (new_role is Role.admin and new_active):
        others = session.scalar(select(func.count()).select_from(StaffUser).where(
            StaffUser.role == Role.admin, StaffUser.active.is_(True), StaffUser.id != user.id))
        if not others:
            raise Conflict("至少要保留一个启用的管理员账号")
    user.role = new_role
    set_active(session=session, user=user, active=new_active)


def set_active(*, session: Session, user: StaffUser, active: bool) -> None:
    """Deactivating ends every token and session, and reactivating brings none of them back."""
    if user.active and not active:
        revoke_tokens(session=session, user=user)
    user.active = active
    session.flush()


def revoke_tokens(*, session: Session, user: StaffUser) -> None:
    user.token_version += 1
    session.flush()


def authenticate(*, session: Session, username: str, password: str) -> tuple[StaffUser | None, str]:
    """The account `username` names (None when none does) and whether the password opens it: `ok`, or
    why not (`unknown_user`, `wrong_password`, `inactive`). Known or not, active or not, the password
    costs one Argon2 check, so the answer takes as long either way."""
    user = get_by_username(session=session, username=username)
    if user is None:
        verify_nobody(password)
        return None, "unknown_user"
    if not verify_password(password, user.password_hash):
        return user, "wrong_password"
    return user, "ok" if user.active else "inactive"


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
