"""Binding a staff member's own WeChat (their openid, where test sends go) by scanning a QR code.

The console asks WeChat for a temporary QR code (`QR_STR_SCENE`) whose scene is `staff:<random token>`;
the token names the staff member in Redis for as long as the code lives. Whoever scans it sends a `SCAN`
(or, not yet following, `subscribe` with `qrscene_staff:<token>`) to the webhook, and their openid is
bound to that account. The token is taken out of Redis by the first scan: a code binds once, and not
after it expired."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.db import utcnow
from core.masking import mask_openid
from core.redis import get_redis
from staff import service
from staff.models import StaffUser

SCENE_PREFIX = "staff:"
KEY = "staff:binding:"
LIFETIME = 600  # seconds a binding code may be scanned; WeChat's code expires with it


@dataclass(frozen=True, slots=True)
class BindingCode:
    token: str  # the scene's secret part
    ticket: str  # shows the image: WeChat's showqrcode?ticket=
    url: str  # what the image encodes
    expires_at: datetime


def is_binding_scene(scene: str) -> bool:
    return scene.startswith(SCENE_PREFIX)


def start(*, client, user: StaffUser) -> BindingCode:
    """A new single-use code for `user` (an earlier one stays valid until scanned or expired).
    Raises WeChatClientException, and RedisError."""
    token = secrets.token_urlsafe(18)
    answer = client.qrcode.create({"action_name": "QR_STR_SCENE", "expire_seconds": LIFETIME,
                                   "action_info": {"scene": {"scene_str": SCENE_PREFIX + token}}})
    seconds = int(answer.get("expire_seconds", LIFETIME))
    with get_redis().pipeline() as pipe:
        pipe.hset(KEY + token, mapping={"user": user.id, "ticket": answer["ticket"]})
        pipe.expire(KEY + token, seconds)
        pipe.execute()
    return BindingCode(token=token, ticket=answer["ticket"], url=answer["url"],
                       expires_at=utcnow() + timedelta(seconds=seconds))


def ticket_of(*, token: str, user: StaffUser) -> str | None:
    """The ticket of `user`'s own code that is still unused and unexpired; None otherwise."""
    found = get_redis().hmget(KEY + token, "user", "ticket")
    return found[1] if found[0] == str(user.id) else None


def redeem(*, session: Session, scene: str, openid: str) -> StaffUser | None:
    """Bind the scanning follower's openid to the account the code was made for; None when the code was
    used already, expired, or its account is deactivated. Raises RedisError."""
    key = KEY + scene.removeprefix(SCENE_PREFIX)
    with get_redis().pipeline() as pipe:  # MULTI: of two scans at once, one finds it
        pipe.hget(key, "user")
        pipe.delete(key)
        user_id, _ = pipe.execute()
    user = session.get(StaffUser, int(user_id)) if user_id else None
    if user is None or not user.active:
        return None
    user.openid = openid
    service.audit(session=session, actor=user, action="user.bind_openid", target=f"user:{user.id}",
                  openid=mask_openid(openid))
    return user
