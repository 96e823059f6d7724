"""Sign-in, staff accounts and the audit log."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from redis.exceptions import RedisError
from wechatpy.exceptions import WeChatClientException

from core.ids import Id
from core.problems import Problem
from staff import binding, service, signin
from staff.deps import Admin, CurrentUser, DbSession, client_address
from staff.schemas import (
    AuditQuery,
    AuditRead,
    BindingRead,
    PasswordChange,
    PasswordReset,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from staff.models import StaffUser
from staff.security import issue_token, verify_password
from wechat.client import get_client

router = APIRouter(prefix="/api", tags=["staff"])


def _token(user) -> TokenRead:
    return TokenRead(access_token=issue_token(user.id, user.role, user.token_version))


@router.post("/auth/token", response_model=TokenRead, summary="Sign in (OAuth2 password form)",
             responses={429: {"model": Problem, "description": "too many failed sign-ins: wait Retry-After seconds"}})
def sign_in(request: Request, session: DbSession, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenRead:
    try:
        user = signin.sign_in(session=session, username=form.username, password=form.password,
                              address=client_address(request), channel="api")
    except signin.SignInRefused as exc:
        session.commit()  # the refusal's audit entry stays
        headers = {"WWW-Authenticate": "Bearer"}
        if exc.retry_after:
            headers["Retry-After"] = str(exc.retry_after)
        raise HTTPException(exc.status, exc.message, headers=headers) from None
    return _token(user)


@router.post("/auth/sign-out", status_code=204, summary="Sign out: every token and console session of the account ends")
def sign_out(session: DbSession, user: CurrentUser) -> Response:
    service.revoke_tokens(session=session, user=user)
    service.audit(session=session, actor=user, action="auth.sign_out", target=f"user:{user.id}", channel="api")
    return Response(status_code=204)


@router.get("/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


@router.post("/me/password", response_model=TokenRead,
             summary="Change one's own password: every earlier token and session ends; answers a new token")
def change_password(body: PasswordChange, session: DbSession, user: CurrentUser) -> TokenRead:
    if not verify_password(body.current_password, user.password_hash):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "当前密码不正确")
    try:
        service.set_password(session=session, user=user, password=body.new_password)
    except service.Invalid as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    service.audit(session=session, actor=user, action="user.password_change", target=f"user:{user.id}")
    return _token(user)


@router.post("/me/openid-binding", response_model=BindingRead, status_code=201,
             summary="A one-time QR code (10 minutes) that binds whoever scans it as one's own WeChat, for test sends")
def start_binding(session: DbSession, user: CurrentUser) -> BindingRead:
    try:
        code = binding.start(client=get_client(), user=user)
    except (WeChatClientException, RedisError) as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "暂时无法生成二维码（微信接口或 Redis 不可用），请稍后再试") from exc
    service.audit(session=session, actor=user, action="user.binding_code", target=f"user:{user.id}")
    return BindingRead(ticket=code.ticket, url=code.url, expires_at=code.expires_at)


def user_or_404(user_id: Id, session: DbSession, _admin: Admin) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"员工账号 {user_id} 不存在")
    return user


Found = Annotated[StaffUser, Depends(user_or_404)]


@router.get("/users", response_model=list[UserRead], summary="Staff accounts (admins)")
def list_users(session: DbSession, _admin: Admin) -> list[UserRead]:
    return [UserRead.model_validate(u) for u in service.list_users(session=session)]


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(user: Found) -> UserRead:
    return UserRead.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserRead,
              summary="Change a role or (de)activate; deactivating ends the account's tokens and sessions")
def update_user(body: UserUpdate, user: Found, session: DbSession, admin: Admin) -> UserRead:
    changes = body.model_dump(exclude_unset=True)
    before = {"role": user.role.value, "active": user.active}
    try:
        service.update_user(session=session, user=user, **changes)
    except service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    after = {"role": user.role.value, "active": user.active}
    if after != before:
        service.audit(session=session, actor=admin, action="user.update", target=f"user:{user.id}",
                      before=before, after=after)
    return UserRead.model_validate(user)


@router.post("/users/{user_id}/password", status_code=204,
             summary="Reset a password (admins): the policy applies; the account's tokens and sessions end")
def reset_password(body: PasswordReset, user: Found, session: DbSession, admin: Admin) -> Response:
    try:
        service.set_password(session=session, user=user, password=body.password)
    except service.Invalid as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    service.audit(session=session, actor=admin, action="user.password_reset", target=f"user:{user.id}")
    return Response(status_code=204)


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, session: DbSession, admin: Admin) -> UserRead:
    try:
        user = service.create_user(session=session, username=body.username, password=body.password,
                                   role=body.role, openid=body.openid, created_by=admin)
    except service.Invalid as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    service.audit(session=session, actor=admin, action="user.create", target=f"user:{user.id}",
                  role=user.role.value)
    return UserRead.model_validate(user)


@router.get("/audit", response_model=list[AuditRead], summary="The audit log, filtered, newest first")
def audit_log(session: DbSession, _admin: Admin, query: Annotated[AuditQuery, Query()]) -> list[AuditRead]:
    """Keyset paged: pass the last `id` of a page as `before_id` for the next."""
    return [AuditRead(id=e.id, at=e.at, actor_id=e.actor_id, actor=actor, action=e.action, target=e.target,
                      detail=e.detail) for e, actor in service.audit_log(session=session, query=query)]
