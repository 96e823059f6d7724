"""What arrives at the webhook, in a form the domains can use without knowing about HTTP."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

REPLY_BYTES = 2048  # WeChat's limit for a text message, in UTF-8 bytes
MORE = "…"
RECEIPTS = frozenset({"templatesendjobfinish", "masssendjobfinish"})  # WeChat's reports, not the follower's doing


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message or event from a follower. `kind` is the MsgType, `event` the lower-cased Event."""

    openid: str
    account: str
    kind: str
    created_at: datetime
    event: str | None = None
    content: str = ""
    event_key: str = ""
    msg_id: str | None = None
    fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_fields(cls, fields: dict) -> Inbound:
        """Build from the top-level fields of WeChat's XML (as xmltodict gives them)."""
        flat = {k: v if isinstance(v, str) else "" for k, v in fields.items()}
        kind = flat.get("MsgType", "").lower()
        try:
            created = datetime.fromtimestamp(int(flat.get("CreateTime", "0")), UTC)
        except (ValueError, OverflowError, OSError):
            created = datetime.now(UTC)
        return cls(openid=flat.get("FromUserName", ""), account=flat.get("ToUserName", ""), kind=kind,
                   created_at=created, event=flat["Event"].lower() if flat.get("Event") else None,
                   content=flat.get("Content", "").strip(), event_key=flat.get("EventKey", ""),
                   msg_id=flat.get("MsgId") or flat.get("MsgID"), fields=flat)

    @property
    def route(self) -> str:
        """The routing-table key: 'text', 'image', …, or 'event.subscribe', 'event.click', …"""
        return f"event.{self.event}" if self.kind == "event" else self.kind

    @property
    def from_follower(self) -> bool:
        """The follower's own message or event: what counts as their activity."""
        return not (self.kind == "event" and self.event in RECEIPTS)

    @property
    def dedupe_key(self) -> str:
        """WeChat retries carry the same MsgId; events have none and are told apart by sender, time, event
        and EventKey (two menu taps in one second are two events)."""
        if self.msg_id:
            return f"m:{self.msg_id}"
        return f"e:{self.openid}:{int(self.created_at.timestamp())}:{self.event or self.kind}:{self.event_key}"


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    description: str
    url: str
    image: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """A handler's reply: text, or up to 8 news articles."""

    text: str = ""
    articles: tuple[Article, ...] = ()


def as_text(answer: Answer) -> str:
    """An answer as one text message (customer-service messages carry links as text)."""
    if not answer.articles:
        return answer.text
    return "\n\n".join(f"{a.title}\n{a.description}\n{a.url}".strip() for a in answer.articles)


def size(text: str) -> int:
    return len(text.encode())


def cut(text: str, limit: int = REPLY_BYTES, more: str = MORE) -> str:
    """`text` within `limit` bytes, ending at a sentence or line break where one is near, then `more`."""
    if size(text) <= limit:
        return text
    budget = limit - size(more)
    if budget <= 0:
        return ""
    head = text.encode()[:budget].decode(errors="ignore")
    stop = max(head.rfind(c) for c in "。！？；\n")
    if stop >= len(head) * 2 // 3:  # a sentence end not too far back
        head = head[:stop + 1]
    return head.rstrip() + more
