"""Password hashing (Argon2 via pwdlib) and signed bearer tokens (JWT)."""
from __future__ import annotations

from datetime import timedelta

import jwt
from pwdlib import PasswordHash

from core.db import utcnow
from core.settings import get_settings

_hasher = PasswordHash.recommended()
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return _hasher.verify(password, hashed)


def issue_token(user_id: int, role: str) -> str:
    s = get_settings()
    claims = {"sub": str(user_id), "role": role, "exp": utcnow() + timedelta(minutes=s.token_ttl_minutes)}
    return jwt.encode(claims, s.signing_key, algorithm=ALGORITHM)


def read_token(token: str) -> int | None:
    """The user id a valid, unexpired token speaks for; None otherwise."""
    try:
        claims = jwt.decode(token, get_settings().signing_key, algorithms=[ALGORITHM])
        return int(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None
