"""Password hashing (Argon2 via pwdlib) and signed bearer tokens (JWT) naming the account and its
token version (a token of an older version is revoked)."""
from __future__ import annotations

import secrets
from datetime import timedelta
from functools import lru_cache

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


@lru_cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_nobody(password: str) -> None:
    """The same Argon2 work as a real check, for a username that names no account: an unknown name
    must not answer faster than a known one."""
    _hasher.verify(password, _dummy_hash())


def issue_token(user_id: int, role: str, version: int = 1) -> str:
    """A bearer token for the account at its current token version (1 for a new account)."""
    s = get_settings()
    claims = {"sub": str(user_id), "role": role, "ver": version,
              "exp": utcnow() + timedelta(minutes=s.token_ttl_minutes)}
    return jwt.encode(claims, s.signing_key, algorithm=ALGORITHM)


def read_token(token: str) -> tuple[int, int] | None:
    """The user id and token version a valid, unexpired token speaks for; None otherwise."""
    try:
        claims = jwt.decode(token, get_settings().signing_key, algorithms=[ALGORITHM])
        return int(claims["sub"]), int(claims["ver"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None
