"""Text the chat sends: fitting replies within WeChat's size limit, and question text for counting."""
from __future__ import annotations

import unicodedata

from wechat.messages import REPLY_BYTES, cut, size  # noqa: F401 - the chat's text helpers in one place


def fit(head: str, body: str, tail: str, limit: int = REPLY_BYTES) -> str:
    """head + body + tail within `limit` bytes; only the body is cut."""
    return head + cut(body, limit - size(head) - size(tail)) + tail


def normalize(question: str) -> str:
    """The form questions are counted under: full-width folded, case folded, no spaces or punctuation."""
    text = unicodedata.normalize("NFKC", question).casefold()
    return "".join(c for c in text if not unicodedata.category(c)[0] in "PZSC")[:500]


def number(text: str) -> int | None:
    """A reply that is one number (`2`, `２`, `2.`); None otherwise."""
    digits = unicodedata.normalize("NFKC", text).strip().rstrip(".。、，,")
    return int(digits) if digits.isdigit() else None
