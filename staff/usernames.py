"""One spelling per staff username: `DEMO-ADMIN`, `ｄｅｍｏ-admin` (full width) and `demo-admin` with a
zero-width space are all `demo-admin`, so none of them can be created beside it, and each signs in as it."""
from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 64
# letters and digits of any script (Chinese names too), and . _ - @
ALLOWED = re.compile(r"[\w.@-]+")


class UsernameRejected(ValueError):
    """The message says why, in Chinese."""


def _invisible(ch: str) -> bool:
    # format characters (zero-width space and joiners, bidi marks, soft hyphen, BOM ...) show as nothing
    return unicodedata.category(ch) == "Cf"


def canonical(raw: str) -> str:
    """The stored spelling of what was typed at sign-in: NFKC, case folded, invisible characters and
    the spaces around it dropped. Never refuses: a sign-in with an odd name is simply not found."""
    text = "".join(ch for ch in unicodedata.normalize("NFKC", raw) if not _invisible(ch))
    return unicodedata.normalize("NFKC", text.casefold()).strip()


def checked(raw: str) -> str:
    """The canonical spelling of a new username; UsernameRejected for what no one should be named."""
    if any(_invisible(ch) for ch in raw):
        raise UsernameRejected("用户名不能包含不可见字符（如零宽空格），请删除后重试")
    name = canonical(raw)
    if not name:
        raise UsernameRejected("用户名不能为空")
    if len(name) > MAX_LENGTH:
        raise UsernameRejected(f"用户名最多 {MAX_LENGTH} 个字符")
    if not ALLOWED.fullmatch(name):
        raise UsernameRejected("用户名只能包含字母、数字、汉字和 . _ - @")
    return name
