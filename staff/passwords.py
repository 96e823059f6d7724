"""The password policy, applied wherever a password is set (create, reset, change): a minimum length
(PASSWORD_MIN_LENGTH), not the username nor containing it, not a common password (a list shipped in
staff/data/, read once; nothing is fetched at run time)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from core.settings import get_settings

COMMON = Path(__file__).with_name("data") / "common-passwords.txt"
MAX_LENGTH = 256
SHORTEST_NAME_CHECKED = 3  # "containing the username" would refuse nearly everything for a name like "li"


class PasswordRejected(ValueError):
    """The message says why, in Chinese."""


@lru_cache
def common_passwords() -> frozenset[str]:
    return frozenset(line.strip() for line in COMMON.read_text(encoding="utf-8").splitlines() if line.strip())


def check(password: str, *, username: str) -> None:
    """PasswordRejected when `password` may not be set for `username` (its canonical spelling)."""
    minimum = get_settings().password_min_length
    if len(password) < minimum:
        raise PasswordRejected(f"密码至少需要 {minimum} 个字符")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"密码最多 {MAX_LENGTH} 个字符")
    folded = password.casefold()
    if folded == username or (len(username) >= SHORTEST_NAME_CHECKED and username in folded):
        raise PasswordRejected("密码不能是用户名，也不能包含用户名")
    if folded in common_passwords():
        raise PasswordRejected("这个密码太常见，很容易被猜中，请换一个")
