"""Signing in, the one way for the API's token route and the console's login form: throttled
(staff.throttle), every refusal in the audit log once, a demo account only against the sandbox."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.settings import get_settings
from staff import service, throttle, usernames
from staff.models import StaffUser

WRONG = "用户名或密码错误"


class SignInRefused(Exception):
    """Why a sign-in was refused: HTTP status, a Chinese message, and seconds to wait (429)."""

    def __init__(self, status: int, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


def wait_text(seconds: int) -> str:
    return f"{seconds} 秒" if seconds < 60 else f"{-(-seconds // 60)} 分钟"


def typed_name(raw: str, user: StaffUser | None) -> str:
    """The username for the audit log: an account's own name, else only its start, since what was typed
    into the username field is sometimes a password."""
    if user is not None:
        return user.username
    name = usernames.canonical(raw)
    return f"{name[:2]}***（{len(name)} 个字符）" if len(name) > 2 else "***"


def sign_in(*, session: Session, username: str, password: str, address: str, channel: str) -> StaffUser:
    """The account signed in (audited, its failure count cleared), or SignInRefused. Callers commit in
    either case: the audit entry of a refusal must stay."""
    name = usernames.canonical(username)[: usernames.MAX_LENGTH]
    wait = throttle.retry_after(username=name, address=address)
    if wait:  # not audited: the failure that started the lockout was, and a flood must not fill the log
        raise SignInRefused(429, f"登录失败次数过多，请 {wait_text(wait)}后再试", wait)
    user, reason = service.authenticate(session=session, username=username, password=password)
    if reason == "ok" and user.demo and get_settings().uses_real_wechat:
        _refused(session, raw=username, user=user, reason="demo_account", address=address, channel=channel)
        raise SignInRefused(403, "演示账号只能在沙箱环境中登录（已配置真实的微信接口）")
    if reason != "ok":
        locked = throttle.record_failure(username=name, address=address)
        _refused(session, raw=username, user=user, reason=reason, address=address, channel=channel,
                 locked_seconds=locked)
        if locked:
            raise SignInRefused(401, f"{WRONG}；失败次数过多，请 {wait_text(locked)}后再试", locked)
        raise SignInRefused(401, WRONG)
    throttle.record_success(username=name)
    service.audit(session=session, actor=user, action="auth.sign_in", target=f"user:{user.id}",
                  channel=channel, address=address)
    return user


def _refused(session: Session, *, raw: str, user: StaffUser | None, reason: str, address: str, channel: str,
             **more: int) -> None:
    service.audit(session=session, actor=None, action="auth.sign_in_failed",
                  target=f"user:{user.id}" if user else None, username=typed_name(raw, user), reason=reason,
                  address=address, channel=channel, **{k: v for k, v in more.items() if v})
