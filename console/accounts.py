"""管理 > 员工账号 (admins: list, create, role, deactivate and reactivate, reset password) and 我的账号
(everyone: bind one's own WeChat by scanning a one-time QR code, change one's password). Each route
calls the same staff services as the API."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from redis.exceptions import RedisError
from wechatpy.exceptions import WeChatClientException

from console import sessions
from console.auth import set_session_cookie
from console.deps import Admin, AnyStaff, Staff, check_csrf
from console.templating import ROLE_LABELS, render
from core.ids import Id
from core.masking import mask_openid
from core.settings import get_settings
from staff import binding, service
from staff.deps import DbSession
from staff.models import Role, StaffUser
from staff.security import verify_password
from wechat.client import get_client

router = APIRouter(prefix="/console", include_in_schema=False, dependencies=[Depends(check_csrf)])


def _back(staff: Staff, path: str, message: str, level: str = "success") -> RedirectResponse:
    sessions.flash(staff.session.token, message, level)
    return RedirectResponse(path, status_code=303)


# --- 员工账号 ---------------------------------------------------------------------------------------------

def _users_page(request: Request, session: DbSession, staff: Staff, *, values: dict[str, str] | None = None,
                error: str = "", status_code: int = 200) -> HTMLResponse:
    return render(request, "accounts/users.html", {
        "users": service.list_users(session=session), "roles": ROLE_LABELS, "values": values or {},
        "error": error, "mask_openid": mask_openid, "min_password": get_settings().password_min_length},
        staff=staff, status_code=status_code)


def user_or_404(user_id: Id, session: DbSession, _staff: Admin) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise HTTPException(404, f"员工账号 {user_id} 不存在")
    return user


Found = Annotated[StaffUser, Depends(user_or_404)]


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, session: DbSession, staff: Admin) -> HTMLResponse:
    return _users_page(request, session, staff)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(request: Request, session: DbSession, staff: Admin, username: Annotated[str, Form()] = "",
                role: Annotated[str, Form()] = "", password: Annotated[str, Form()] = ""):
    try:
        user = service.create_user(session=session, username=username, password=password, role=role,
                                   created_by=staff.user)
    except service.StaffError as exc:
        return _users_page(request, session, staff, values={"username": username, "role": role}, error=str(exc),
                           status_code=409 if isinstance(exc, service.Conflict) else 422)
    service.audit(session=session, actor=staff.user, action="user.create", target=f"user:{user.id}",
                  role=user.role.value)
    return _back(staff, "/console/admin/users", f"已创建员工账号“{user.username}”")


def _update(session: DbSession, staff: Staff, user: StaffUser, **changes) -> RedirectResponse:
    before = {"role": user.role.value, "active": user.active}
    try:
        service.update_user(session=session, user=user, **changes)
    except service.Conflict as exc:
        return _back(staff, "/console/admin/users", str(exc), "danger")
    service.audit(session=session, actor=staff.user, action="user.update", target=f"user:{user.id}",
                  before=before, after={"role": user.role.value, "active": user.active})
    return _back(staff, "/console/admin/users", f"已更新“{user.username}”")


@router.post("/admin/users/{user_id}/role")
def change_role(session: DbSession, staff: Admin, user: Found, role: Annotated[str, Form()] = ""):
    if role not in Role.__members__:
        return _back(staff, "/console/admin/users", "请选择有效的角色", "danger")
    return _update(session, staff, user, role=Role(role))


@router.post("/admin/users/{user_id}/active")
def change_active(session: DbSession, staff: Admin, user: Found, active: Annotated[str, Form()] = ""):
    return _update(session, staff, user, active=active == "1")


@router.post("/admin/users/{user_id}/password")
def reset_password(session: DbSession, staff: Admin, user: Found, password: Annotated[str, Form()] = ""):
    try:
        service.set_password(session=session, user=user, password=password)
    except service.Invalid as exc:
        return _back(staff, "/console/admin/users", f"“{user.username}”的密码未重置：{exc}", "danger")
    service.audit(session=session, actor=staff.user, action="user.password_reset", target=f"user:{user.id}")
    return _back(staff, "/console/admin/users", f"已重置“{user.username}”的密码，其已登录的会话全部退出")


# --- 我的账号 ---------------------------------------------------------------------------------------------

def _me_page(request: Request, staff: Staff, *, code: str | None = None, error: str = "",
             status_code: int = 200) -> HTMLResponse:
    return render(request, "accounts/me.html", {"code": code, "error": error, "mask_openid": mask_openid},
                  staff=staff, status_code=status_code)


@router.get("/account", response_class=HTMLResponse)
def me(request: Request, staff: AnyStaff, code: str | None = None) -> HTMLResponse:
    try:
        live = code if code and binding.ticket_of(token=code, user=staff.user) else None
    except RedisError:
        live = None
    return _me_page(request, staff, code=live)


@router.get("/account/wechat", response_class=HTMLResponse)
def wechat_state(request: Request, staff: AnyStaff, code: str | None = None) -> HTMLResponse:
    """The binding state, polled by the page while a code is shown."""
    return render(request, "accounts/_wechat.html", {"code": code, "mask_openid": mask_openid}, staff=staff)


@router.post("/account/binding")
def start_binding(session: DbSession, staff: AnyStaff):
    try:
        code = binding.start(client=get_client(), user=staff.user)
    except (WeChatClientException, RedisError):
        return _back(staff, "/console/account", "暂时无法生成二维码，请稍后再试", "danger")
    service.audit(session=session, actor=staff.user, action="user.binding_code", target=f"user:{staff.user.id}")
    return RedirectResponse(f"/console/account?code={code.token}", status_code=303)


@router.get("/account/binding/{code}/image")
def binding_image(code: str, staff: AnyStaff) -> Response:
    """The QR image, fetched by the server from WeChat (staff browsers on an intranet may not reach it)."""
    try:
        ticket = binding.ticket_of(token=code, user=staff.user)
        image = get_client().qrcode.show(ticket) if ticket else None
    except (RedisError, OSError):
        image = None
    if image is None or not image.ok:
        raise HTTPException(404, "二维码已使用或已过期")
    return Response(image.content, media_type=image.headers.get("content-type", "image/jpeg"),
                    headers={"Cache-Control": "no-store"})


@router.post("/account/password")
def change_password(request: Request, session: DbSession, staff: AnyStaff,
                    current_password: Annotated[str, Form()] = "", new_password: Annotated[str, Form()] = ""):
    if not verify_password(current_password, staff.user.password_hash):
        return _me_page(request, staff, error="当前密码不正确", status_code=422)
    try:
        service.set_password(session=session, user=staff.user, password=new_password)
    except service.Invalid as exc:
        return _me_page(request, staff, error=str(exc), status_code=422)
    service.audit(session=session, actor=staff.user, action="user.password_change", target=f"user:{staff.user.id}")
    sessions.destroy(staff.session.token)  # this session too was ended: a new one at the new version
    live = sessions.create(staff.user.id, staff.user.token_version)
    sessions.flash(live.token, "密码已修改；其他设备上的登录均已退出")
    response = RedirectResponse("/console/account", status_code=303)
    set_session_cookie(response, request, live)
    return response
