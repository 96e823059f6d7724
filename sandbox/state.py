"""Everything the sandbox remembers, in memory, for one process.

Concurrency: every method here is synchronous and the server is one asyncio loop, so each call
runs to completion without interleaving; handlers never await between a check and its update.
"""
from __future__ import annotations

import itertools
import secrets
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.config import Knobs, SandboxConfig

Entry = dict[str, Any]  # one conversation line or sent-message record, served as JSON as is
DEDUPE_SECONDS = 600  # client_msg_id makes a repeat within 10 minutes a no-op
MASS_DEDUPE_SECONDS = 24 * 3600  # a mass send's clientmsgid makes a repeat within 24 h a no-op (45065)
# 客服消息下发规则: a follower's message allows 5 customer-service messages within 48 h of it; a menu
# click, a follow or a scan allows 3 within 1 minute. Each action starts its allowance afresh.
MESSAGE_ALLOWANCE = (5, 48 * 3600)
EVENT_ALLOWANCE = (3, 60)
OLD_TOKEN_GRACE = 300  # after a refresh WeChat keeps the previous token valid for 5 minutes
CONVERSATION_LENGTH = 1000
MAX_CONVERSATIONS = 50_000  # least recently active followers' conversations are forgotten first
BEIJING = 8 * 3600  # quotas reset at midnight China time
SENT_KINDS = frozenset({"template", "custom", "mass", "preview"})  # what the account sent through the API


@dataclass
class Follower:
    openid: str
    subscribed: bool = True
    subscribe_time: int = 0
    nickname: str = ""
    tags: list[int] = field(default_factory=list)
    subscribe_scene: str = "ADD_SCENE_OTHERS"
    qr_scene_str: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Allowance:
    """Customer-service messages still allowed since the action at `opened_at`."""

    opened_at: float
    left: int


class State:
    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.time) -> None:
        self.config, self.clock = config, clock
        self.reset()

    def reset(self) -> None:
        now = self.clock()
        self.knobs: Knobs = self.config.knobs()
        self.tokens: dict[str, float] = {}  # token -> expires at
        self.followers: dict[str, Follower] = {
            o: Follower(o, subscribe_time=int(now), subscribe_scene="ADD_SCENE_SEARCH")
            for o in self.config.followers}
        self.tags: dict[int, str] = {2: "星标组"}  # WeChat's one system tag
        self.next_tag_id = 100
        self.menu: dict[str, Any] | None = None
        self.qrcodes: dict[str, dict[str, Any]] = {}  # ticket -> QR code
        self.records: deque[Entry] = deque(maxlen=self.config.max_records)
        self.conversations: OrderedDict[str, deque[Entry]] = OrderedDict()  # LRU: bounded memory
        # (openid, "message" | "event") -> its allowance; a follower never seen acting has none
        self.allowances: dict[tuple[str, str], Allowance] = {}
        self.dedupe: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()
        self.mass_dedupe: dict[str, tuple[int, float]] = {}  # clientmsgid -> (msg_id, at); a few a day
        self.daily: Counter[tuple[str, int]] = Counter()  # (what, China day) -> count
        self.monthly: Counter[tuple[str, str]] = Counter()  # (what, China month) -> count
        self.stats: Counter[str] = Counter()
        self.errors: Counter[int] = Counter()
        self.ids = itertools.count(1)  # conversation/record ids, for polling with ?after=
        self.msgids = itertools.count(1_000_000_001)
        self.inbound_msgids = itertools.count(24_000_000_000_000_001)  # MsgId of followers' messages
        self.started_at = now

    # --- tokens ---------------------------------------------------------------
    def issue_token(self) -> str:
        now = self.clock()
        for tok, expires in self.tokens.items():
            self.tokens[tok] = min(expires, now + OLD_TOKEN_GRACE)
        token = secrets.token_urlsafe(96)[:128]
        self.tokens[token] = now + self.knobs.token_ttl
        self.stats["tokens_issued"] += 1
        return token

    def token_error(self, token: str | None) -> int:
        """0 when `token` may call the API, else the WeChat error code."""
        if not token:
            return 41001
        expires = self.tokens.get(token)
        if expires is None:
            return 40001
        return 42001 if expires <= self.clock() else 0

    def expire_tokens(self) -> None:
        now = self.clock()
        for tok in self.tokens:
            self.tokens[tok] = now

    # --- quotas -----------------------------------------------------------------
    def today(self) -> int:
        return int((self.clock() + BEIJING) // 86400)

    def this_month(self) -> str:
        return time.strftime("%Y-%m", time.gmtime(self.clock() + BEIJING))

    # --- followers --------------------------------------------------------------
    def follower(self, openid: str) -> Follower:
        """The follower record, created on first sight (any well-formed openid follows)."""
        found = self.followers.get(openid)
        if found is None:
            found = self.followers[openid] = Follower(openid, subscribe_time=int(self.started_at))
        return found

    def is_following(self, openid: str) -> bool:
        if openid in self.knobs.unfollowed:
            return False
        known = self.followers.get(openid)
        return known is None or known.subscribed

    def note_activity(self, openid: str, action: str, at: float | None = None) -> None:
        """A follower's message (`text`) or event (`CLICK`, `subscribe`, `SCAN`) starts its allowance."""
        by, (count, _) = ("message", MESSAGE_ALLOWANCE) if action == "text" else ("event", EVENT_ALLOWANCE)
        self.allowances[(openid, by)] = Allowance(self.clock() if at is None else at, count)

    def take_custom(self, openid: str) -> int:
        """0 when a customer-service message to `openid` may go now (it is counted), else 45015 (no
        allowance open) or 45047 (open but used up). The 1-minute allowance is used before the 48-hour one.
        A follower the sandbox never saw act may be sent to without limit, so API tests need no chat."""
        if openid in self.knobs.outside_window:
            return 45015
        found = [(self.allowances.get((openid, by)), seconds)
                 for by, (_, seconds) in (("event", EVENT_ALLOWANCE), ("message", MESSAGE_ALLOWANCE))]
        if all(a is None for a, _ in found):
            return 0
        now, open_ = self.clock(), False
        for allowance, seconds in found:
            if allowance is not None and now - allowance.opened_at <= seconds:
                open_ = True
                if allowance.left:
                    allowance.left -= 1
                    return 0
        return 45047 if open_ else 45015

    # --- what was said ----------------------------------------------------------
    def add_entry(self, openids: list[str], entry: Entry, *, record: bool) -> Entry:
        """Stamp `entry` and add it to each follower's conversation (and the sent record)."""
        entry["id"], entry["at"] = next(self.ids), self.clock()
        if record:
            self.records.append(entry)
        conversations = self.conversations
        for openid in openids:
            conv = conversations.get(openid)
            if conv is None:
                conv = conversations[openid] = deque(maxlen=CONVERSATION_LENGTH)
                if len(conversations) > MAX_CONVERSATIONS:
                    conversations.popitem(last=False)
            else:
                conversations.move_to_end(openid)
            conv.append(entry)
        return entry

    def sent(self, *, touser: str | None = None, kind: str | None = None,
             limit: int = 50, offset: int = 0) -> list[Entry]:
        """Sent-message records, newest first."""
        source = self.conversations.get(touser, ()) if touser else self.records
        out: list[Entry] = []
        for entry in reversed(source):
            if entry["kind"] not in SENT_KINDS or (kind and entry["kind"] != kind):
                continue
            if offset:
                offset -= 1
                continue
            out.append(entry)
            if len(out) >= limit:
                break
        return out

    def clean_dedupe(self) -> None:
        horizon = self.clock() - DEDUPE_SECONDS
        while self.dedupe:
            key, (_, at) = next(iter(self.dedupe.items()))
            if at > horizon:
                break
            del self.dedupe[key]
