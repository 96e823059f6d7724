"""Staff accounts and the audit log."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from staff import passwords, usernames
from staff.models import AuditEntry, Role, StaffUser
from staff.schemas import AuditQuery
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


def record_refusal(*, session: Session, actor: StaffUser | None, action: str, target: str | None = None,
                   **detail: Any) -> AuditEntry:
    """Log that `action` was refused (as `<action>.refused`) and commit it with what the session holds,
    so that the entry stays although the request then fails. Callers roll back first what must not stay."""
    entry = audit(session=session, actor=actor, action=f"{action}.refused", target=target, **detail)
    session.commit()
    return entry


def audit_log(*, session: Session, query: AuditQuery) -> list[tuple[AuditEntry, str | None]]:
    """Entries matching every filter given, newest first, each with its actor's username."""
    q = query
    stmt = (select(AuditEntry, StaffUser.username).outerjoin(StaffUser, StaffUser.id == AuditEntry.actor_id)
            .order_by(AuditEntry.id.desc()).limit(q.limit))
    if q.before_id is not None:
        stmt = stmt.where(AuditEntry.id < q.before_id)
    if q.actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == q.actor_id)
    if q.action is not None:
        stmt = stmt.where(or_(AuditEntry.action == q.action, AuditEntry.action.startswith(f"{q.action}.", autoescape=True)))
    if q.refused:
        stmt = stmt.where(AuditEntry.action.endswith(".refused", autoescape=True))
    if q.object_type is not None:
        stmt = stmt.where(AuditEntry.target == f"{q.object_type}:{q.object_id}" if q.object_id is not None
                          else AuditEntry.target.startswith(f"{q.object_type}:", autoescape=True))
    if q.since is not None:
        stmt = stmt.where(AuditEntry.at >= q.since)
    if q.until is not None:
        stmt = stmt.where(AuditEntry.at < q.until)
    return [(entry, username) for entry, username in session.execute(stmt)]


def staff_names(*, session: Session) -> list[tuple[int, str]]:
    """(id, username) of every staff account, by name: for choosing one."""
    return [(id_, name) for id_, name in session.execute(select(StaffUser.id, StaffUser.username).order_by(StaffUser.username))]


def audit_actions(*, session: Session) -> list[str]:
    """Every action the log holds, for choosing one."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
