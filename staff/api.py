"""Sign-in, staff accounts and the audit log."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from core.ids import Id
from staff import service
from staff.deps import Admin, CurrentUser, DbSession
from staff.schemas import AuditRead, TokenRead, UserCreate, UserRead
from staff.security import issue_token

router = APIRouter(prefix="/api", tags=["staff"])


@router.post("/auth/token", response_model=TokenRead, summary="Sign in (OAuth2 password form)")
def sign_in(session: DbSession, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenRead:
    user = service.authenticate(session=session, username=form.username, password=form.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    service.audit(session=session, actor=user, action="auth.sign_in")
    return TokenRead(access_token=issue_token(user.id, user.role))


@router.get("/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, session: DbSession, admin: Admin) -> UserRead:
    try:
        user = service.create_user(session=session, username=body.username, password=body.password,
                                   role=body.role, openid=body.openid)
    except service.StaffError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    service.audit(session=session, actor=admin, action="user.create", target=f"user:{user.id}",
                  role=user.role.value)
    return UserRead.model_validate(user)


@router.get("/audit", response_model=list[AuditRead])
def audit_log(session: DbSession, _admin: Admin, limit: int = 100,
              before_id: Id | None = None) -> list[AuditRead]:
    entries = service.recent_audit(session=session, limit=min(max(limit, 1), 500), before_id=before_id)
    return [AuditRead.model_validate(e) for e in entries]
