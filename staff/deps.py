"""Route dependencies: the request's database session, the signed-in staff member, role checks."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from core.db import request_session
from staff.models import Role, StaffUser
from staff.security import read_token

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)
# scope="function": the session commits before the response starts, so a client reading back at once sees the write
DbSession = Annotated[Session, Depends(request_session, scope="function")]


def current_user(session: DbSession, token: Annotated[str | None, Depends(oauth2)]) -> StaffUser:
    user_id = read_token(token) if token else None
    user = session.get(StaffUser, user_id) if user_id is not None else None
    if user is None or not user.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


def require(*roles: Role):
    """A dependency admitting the given roles (admins always)."""
    allowed = {Role.admin, *roles}

    def check(user: Annotated[StaffUser, Depends(current_user)]) -> StaffUser:
        if user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role {user.role} may not do this; needs {', '.join(sorted(allowed))}")
        return user

    return check


CurrentUser = Annotated[StaffUser, Depends(current_user)]
Admin = Annotated[StaffUser, Depends(require())]
