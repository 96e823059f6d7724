"""Masks for personal and commercial data: what followers typed, contacts, credit codes and openids.

The one place for them: API views for roles that may not see personal data, and every log line.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


def keep_ends(value: object) -> str:
    """Keep a few characters at each end so that records can still be told apart and correlated."""
    text = str(value)
    if len(text) <= 6:
        return "*" * len(text)
    return f"{text[:3]}***{text[-3:]}"


def mask_openid(openid: str | None) -> str:
    return keep_ends(openid) if openid else ""


def mask_phone(phone: str | None) -> str:
    """`13812345678` -> `138****5678`; short numbers keep only their last two digits."""
    if not phone:
        return ""
    if len(phone) >= 11:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * max(len(phone) - 2, 1) + phone[-2:]


def mask_name(name: str | None) -> str:
    """`张三丰` -> `张**`."""
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_credit_code(code: str | None) -> str:
    """`91440300708461136T` -> `914403**********6T`: region visible, the organisation hidden."""
    if not code:
        return ""
    if len(code) < 8:
        return "*" * len(code)
    return code[:6] + "*" * (len(code) - 8) + code[-2:]


def mask_id_card(number: str) -> str:
    """`11010519491231002X` -> `110105********002X`: the birth date hidden."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


_NOT_BEFORE, _NOT_AFTER = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
_CODE_CHAR = "[0-9A-HJ-NPQRTUWXY]"  # GB 32100: no I, O, S, V, Z
# Most specific first: an ID-card number also has a credit code's shape, and both hold phone-like runs.
_PATTERNS: list[tuple[re.Pattern[str], Callable[[str], str]]] = [
    # 居民身份证: 6-digit region, birth date (19xx/20xx), 3-digit sequence, check digit or X; 15-digit old form
    (re.compile(_NOT_BEFORE + r"(?:\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:[0-2]\d|3[01])\d{3}[\dXx]"
                r"|\d{6}\d{2}(?:0[1-9]|1[0-2])(?:[0-2]\d|3[01])\d{3})" + _NOT_AFTER), mask_id_card),
    # 统一社会信用代码: registering authority and type, 6-digit region, 9-character organisation code, check
    (re.compile(_NOT_BEFORE + f"{_CODE_CHAR}{{2}}\\d{{6}}{_CODE_CHAR}{{10}}" + _NOT_AFTER, re.IGNORECASE),
     mask_credit_code),
    # mobile numbers, with an optional +86 and spaces or dashes as people type them; landlines with an area code
    (re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)"
                r"|(?<![\d-])0\d{2,3}-\d{7,8}(?!\d)"), mask_phone),
    # WeChat openids: 28 characters starting with "o"
    (re.compile(r"(?<![A-Za-z0-9_-])o[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])"), mask_openid),
]


def mask_text(text: str | None) -> str | None:
    """Free text with every phone, ID-card and credit-code number and every openid in it masked."""
    if not text:
        return text
    for pattern, mask in _PATTERNS:
        text = pattern.sub(lambda m, mask=mask: mask(m.group()), text)
    return text


def mask_data(value: Any) -> Any:
    """`mask_text` over every string inside lists and dicts (a stored conversation, a log record's extras)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(v) for v in value]
    return value
