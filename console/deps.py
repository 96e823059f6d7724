"""Console dependencies: the signed-in staff member (from the session cookie), role checks and the
CSRF check every state-changing request passes. A page the role may not use is refused here, whatever
the navigation showed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status

from console import sessions
from staff.deps import SAFE_METHODS, DbSession, refused_by_role
from staff.models import Role, StaffUser

# The same role sets as the API's routes: admins may do everything.
READERS = frozenset(Role)
EDITORS = frozenset({Role.admin, Role.editor})
REVIEWERS = frozenset({Role.admin, Role.reviewer})
ADMINS = frozenset({Role.admin})
QUESTION_READERS = frozenset({Role.admin, Role.editor, Role.analyst})  # as the questions API: not reviewers
FULL_VIEW = EDITORS  # everyone else sees contacts and credit codes masked
SUBSCRIPTION_READERS = frozenset({Role.admin, Role.editor, Role.analyst})  # reviewers only approve campaigns


@dataclass(frozen=True, slots=True)
class Staff:
    """Who is signed in, and their session (CSRF token, flash messages)."""

    user: StaffUser
    session: sessions.ConsoleSession

    def can(self, roles: frozenset[Role]) -> bool:
        return self.user.role in roles


def _to_sign_in(request: Request) -> HTTPException:
    target = "/console/login?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    headers = {"Location": target}
    if request.headers.get("HX-Request"):
        headers["HX-Redirect"] = target  # htmx follows this header, not a 303 inside a fragment
    return HTTPException(status.HTTP_303_SEE_OTHER, "请先登录", headers=headers)


async def check_csrf(request: Request) -> None:
    """Every POST carries the session's CSRF token, as a form field or the X-CSRF-Token header (htmx)."""
    if request.method in SAFE_METHODS:
        return
    live = sessions.load(request.cookies.get(sessions.COOKIE))
    if live is None:
        raise _to_sign_in(request)
    candidate = request.headers.get("X-CSRF-Token")
    if candidate is None:
        form = await request.form()  # starlette keeps it; the route reads the same parsed form
        value = form.get("csrf_token")
        candidate = value if isinstance(value, str) else None
    if not live.csrf_ok(candidate):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "请求已失效（CSRF 校验失败），请刷新页面后重试")


def signed_in(request: Request, session: DbSession) -> Staff:
    live = sessions.load(request.cookies.get(sessions.COOKIE))
    user = session.get(StaffUser, live.user_id) if live is not None else None
    if live is None or user is None or not user.active or user.token_version != live.version:
        raise _to_sign_in(request)
    return Staff(user=user, session=live)


def require(roles: frozenset[Role]):
    """Admits the given roles; a refused request that would change something is kept in the audit log."""
    def check(request: Request, session: DbSession, staff: Annotated[Staff, Depends(signed_in)]) -> Staff:
        if not staff.can(roles):
            if request.method not in SAFE_METHODS:
                refused_by_role(session=session, user=staff.user, request=request, needs=sorted(roles))
            raise HTTPException(status.HTTP_403_FORBIDDEN, "当前角色无权进行此操作")
        return staff

    return check


AnyStaff = Annotated[Staff, Depends(signed_in)]
Editor = Annotated[Staff, Depends(require(EDITORS))]
Reviewer = Annotated[Staff, Depends(require(REVIEWERS))]
Admin = Annotated[Staff, Depends(require(ADMINS))]
