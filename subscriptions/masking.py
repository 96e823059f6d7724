"""Masks for personal and commercial data: contacts and credit codes never go to logs in full."""
from __future__ import annotations


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
