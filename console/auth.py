"""Sign-in and sign-out. Signing in is staff.signin's, as for the API's token route, so the console
shares its throttling, audit and rules. The session cookie is HttpOnly, SameSite=Lax, and Secure over
https."""
from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from redis.exceptions import RedisError

from console import sessions
from console.deps import AnyStaff, check_csrf
from console.templating import render
from staff import service, signin
from staff.deps import DbSession, client_address

router = APIRouter(prefix="/console", include_in_schema=False)
LOGIN_CSRF = "pp_login_csrf"  # double-submit token: nobody else's page can sign a browser in


def _safe_next(target: str | None) -> str:
    # only our own pages: never an open redirect to another site
    return target if target and target.startswith("/console") and not target.startswith("//") else "/console/"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, live: sessions.ConsoleSession) -> None:
    response.set_cookie(sessions.COOKIE, live.token, httponly=True, samesite="lax", secure=_secure(request),
                        path="/", max_age=None)


def _login_page(request: Request, *, next_: str, error: str = "", username: str = "",
                status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {"next": next_, "error": error, "username": username,
                                              "login_csrf": token}, status_code=status_code)
    response.headers.update(headers or {})
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="lax", secure=_secure(request),
                        path="/console/login")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, next_=_safe_next(next))


@router.post("/login")
def login(request: Request, session: DbSession, username: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/console/"):
    expected = request.cookies.get(LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_page(request, next_=_safe_next(next), username=username, status_code=403,
                           error="登录页面已失效，请重新登录")
    try:
        user = signin.sign_in(session=session, username=username, password=password,
                              address=client_address(request), channel="console")
    except signin.SignInRefused as exc:
        return _login_page(request, next_=_safe_next(next), username=username, status_code=exc.status,
                           error=exc.message,
                           headers={"Retry-After": str(exc.retry_after)} if exc.retry_after else None)
    try:
        live = sessions.create(user.id, user.token_version)
    except RedisError:  # sessions live in Redis; the API's bearer tokens still work meanwhile
        session.rollback()
        return _login_page(request, next_=_safe_next(next), username=username, status_code=503,
                           error="系统繁忙（会话服务暂不可用），请稍后再试")
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, request, live)
    response.delete_cookie(LOGIN_CSRF, path="/console/login")
    return response


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(staff: AnyStaff, session: DbSession) -> RedirectResponse:
    sessions.destroy(staff.session.token)
    service.audit(session=session, actor=staff.user, action="auth.sign_out", channel="console")
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response
