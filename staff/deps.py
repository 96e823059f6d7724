"""Route dependencies: the request's database session, the signed-in staff member, role checks."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from core.db import request_session
from staff import service
from staff.models import Role, StaffUser
from staff.security import read_token

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # requests that change nothing
# scope="function": the session commits before the response starts, so a client reading back at once sees the write
DbSession = Annotated[Session, Depends(request_session, scope="function")]


def client_address(request: Request) -> str:
    """The caller's address, for sign-in throttling (behind a proxy, uvicorn takes it from
    X-Forwarded-For when the proxy's address is in FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"


def current_user(session: DbSession, token: Annotated[str | None, Depends(oauth2)]) -> StaffUser:
    claims = read_token(token) if token else None
    user = session.get(StaffUser, claims[0]) if claims is not None else None
    if user is None or not user.active or user.token_version != claims[1]:  # revoked
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


def require(*roles: Role):
    """A dependency admitting the given roles (admins always). A refused request that would change
    something is kept in the audit log."""
    allowed = {Role.admin, *roles}

    def check(request: Request, session: DbSession, user: Annotated[StaffUser, Depends(current_user)]) -> StaffUser:
        if user.role not in allowed:
            if request.method not in SAFE_METHODS:
                refused_by_role(session=session, user=user, request=request, needs=sorted(allowed))
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role {user.role} may not do this; needs {', '.join(sorted(allowed))}")
        return user

    return check


def refused_by_role(*, session: Session, user: StaffUser, request: Request, needs: list[str]) -> None:
    """The audit entry of a state-changing request a role check refused (API and console)."""
    service.record_refusal(session=session, actor=user, action="role", method=request.method,
                           path=request.url.path, role=str(user.role), needs=needs)


CurrentUser = Annotated[StaffUser, Depends(current_user)]
Admin = Annotated[StaffUser, Depends(require())]
