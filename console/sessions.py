"""Console sign-in sessions, kept in Redis: the cookie holds a random token, Redis holds (under the
token's hash) the staff member, their token version, the CSRF token and one-shot flash messages. Each
request renews the idle expiry; signing out deletes the session at once, and whatever raises the
account's token version (sign-out from the API, a new password, deactivation) ends it too."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from core.redis import get_redis
from core.settings import get_settings

COOKIE = "pp_session"
PREFIX = "console:session:"


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    token: str
    user_id: int
    version: int  # the account's token version at sign-in
    csrf: str

    def csrf_ok(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(candidate, self.csrf)


def _key(token: str) -> str:
    # only a hash of the cookie is stored: a copy of Redis gives no way to sign in
    return PREFIX + hashlib.sha256(token.encode()).hexdigest()


def idle_seconds() -> int:
    return get_settings().console_idle_minutes * 60


def create(user_id: int, version: int) -> ConsoleSession:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    r = get_redis()
    r.hset(_key(token), mapping={"user_id": user_id, "version": version, "csrf": csrf, "flash": "[]"})
    r.expire(_key(token), idle_seconds())
    return ConsoleSession(token=token, user_id=user_id, version=version, csrf=csrf)


def load(token: str | None) -> ConsoleSession | None:
    """The live session for this cookie, its idle expiry renewed; None when absent or expired."""
    if not token:
        return None
    r = get_redis()
    key = _key(token)
    with r.pipeline() as pipe:
        pipe.hmget(key, "user_id", "version", "csrf")
        pipe.expire(key, idle_seconds())  # a no-op on a missing key; XX needs Redis 7, the embedded one is older
        (user_id, version, csrf), _ = pipe.execute()
    if user_id is None or version is None or csrf is None:
        return None
    return ConsoleSession(token=token, user_id=int(user_id), version=int(version), csrf=csrf)


def destroy(token: str) -> None:
    get_redis().delete(_key(token))


def flash(token: str, message: str, level: str = "success") -> None:
    """A message shown once, on the next page this session renders (post/redirect/get)."""
    key = _key(token)
    r = get_redis()
    current = json.loads(r.hget(key, "flash") or "[]")
    with r.pipeline() as pipe:
        pipe.hset(key, "flash", json.dumps([*current, [level, message]], ensure_ascii=False))
        pipe.expire(key, idle_seconds())
        pipe.execute()


def take_flashes(token: str) -> list[tuple[str, str]]:
    key = _key(token)
    r = get_redis()
    with r.pipeline() as pipe:
        pipe.hget(key, "flash")
        pipe.hset(key, "flash", "[]")
        raw, _ = pipe.execute()
    return [tuple(x) for x in json.loads(raw or "[]")]
