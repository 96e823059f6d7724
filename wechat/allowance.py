"""WeChat's customer-service message allowance (客服消息下发规则), counted in Redis where the system sends.

A follower's message allows 5 customer-service messages within 48 h of it; a menu click, a follow or a
QR scan allows 3 within 1 minute (a click gives no 48-hour allowance). Each new message, or event, starts
its allowance afresh; they do not add up. Beyond them WeChat answers 45047, with none open 45015.

The webhook opens allowances in the command that claims a message (webhooks/dedupe.py), so a retry
opens nothing twice. Every sender takes one message before it calls WeChat (`take`) and gives it back
when WeChat did not deliver (`give_back`). The 1-minute allowance is used first, while it lasts.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import redis
from wechatpy.exceptions import WeChatClientException

from wechat.client import WeChatAPI
from wechat.errors import OUT_OF_RESPONSES, OUTSIDE_WINDOW

MESSAGE_COUNT, MESSAGE_SECONDS = 5, 48 * 3600
EVENT_COUNT, EVENT_SECONDS = 3, 60
# the follower's own events that open the 1-minute allowance (scancode_*: menu buttons that scan)
OPENING_EVENTS = frozenset({"click", "subscribe", "scan", "scancode_push", "scancode_waitmsg"})
# Hash fields: m / e = when the last message / opening event arrived (unix seconds), mu / eu = used since.
_RULES = (("e", EVENT_COUNT, EVENT_SECONDS), ("m", MESSAGE_COUNT, MESSAGE_SECONDS))


def key(openid: str) -> str:
    return f"wx:cs:{openid}"


# KEYS[1] the follower's hash; ARGV: now, then (field, count, seconds) per rule in the order used.
_TAKE = """
local now, open = tonumber(ARGV[1]), false
for i = 2, #ARGV, 3 do
  local f, count, seconds = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local at = tonumber(redis.call('HGET', KEYS[1], f))
  if at and now - at <= seconds then
    open = true
    if tonumber(redis.call('HGET', KEYS[1], f .. 'u') or '0') < count then
      redis.call('HINCRBY', KEYS[1], f .. 'u', 1)
      return {f, at}
    end
  end
end
return open and 'used' or 'closed'
"""
# Only while the same allowance is still the current one: a newer message has started a fresh count.
_GIVE_BACK = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] and tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. 'u') or '0') > 0
then redis.call('HINCRBY', KEYS[1], ARGV[1] .. 'u', -1) end
"""
# WeChat said 45047: whatever we counted, the allowances open now are used up.
_USE_UP = """
if redis.call('HEXISTS', KEYS[1], 'm') == 1 then redis.call('HSET', KEYS[1], 'mu', ARGV[1]) end
if redis.call('HEXISTS', KEYS[1], 'e') == 1 then redis.call('HSET', KEYS[1], 'eu', ARGV[2]) end
"""


@dataclass(frozen=True)
class Taken:
    """One message taken from the allowance opened at `opened_at` (`field` "m" or "e")."""

    openid: str
    field: str
    opened_at: int


class Refused(Exception):
    """No customer-service message may go to the follower now; `errcode` is what WeChat would answer."""

    def __init__(self, openid: str, errcode: int) -> None:
        self.openid, self.errcode = openid, errcode
        super().__init__(explain(errcode))


def explain(errcode: int) -> str:
    """What a refusal means, for staff."""
    if errcode == OUT_OF_RESPONSES:
        return ("该关注者的客服消息额度已用完（微信规则：关注者发消息后48小时内最多5条，点击菜单、关注或扫码后"
                f"1分钟内最多3条；错误码{OUT_OF_RESPONSES}）。关注者再次发消息后即可发送。")
    return (f"该关注者48小时内没有发过消息，微信不再接受发给他的客服消息（错误码{OUTSIDE_WINDOW}）。"
            "关注者再次发消息后即可发送。")


def opening(kind: str, event: str | None) -> str:
    """The allowance an inbound message opens: "m" for a follower's message, "e" for a click, follow or
    scan, "" for anything else (a VIEW, a location, WeChat's delivery receipts)."""
    if kind != "event":
        return "m"
    return "e" if event in OPENING_EVENTS else ""


def ttl(field: str) -> int:
    """How long the hash must live after an allowance opened (a little past its end)."""
    return (MESSAGE_SECONDS if field == "m" else EVENT_SECONDS) + 60


def _rules() -> list[str | int]:
    return [part for rule in _RULES for part in rule]


def take(r: redis.Redis, openid: str, now: float | None = None) -> Taken:
    """Count one customer-service message to `openid`; raises Refused (45047 / 45015) when none may go."""
    now = int(time.time() if now is None else now)
    got = r.eval(_TAKE, 1, key(openid), now, *_rules())
    if isinstance(got, list):
        return Taken(openid, str(got[0]), int(got[1]))
    raise Refused(openid, OUT_OF_RESPONSES if got == "used" else OUTSIDE_WINDOW)


def give_back(r: redis.Redis, taken: Taken) -> None:
    """WeChat did not deliver the message `taken` was for: it does not count."""
    r.eval(_GIVE_BACK, 1, key(taken.openid), taken.field, taken.opened_at)


def used_up(r: redis.Redis, openid: str) -> None:
    """WeChat answered 45047 (messages sent outside this system count too): nothing more until the next
    message or event."""
    r.eval(_USE_UP, 1, key(openid), MESSAGE_COUNT, EVENT_COUNT)


def check(r: redis.Redis, openid: str, now: float | None = None) -> None:
    """Raise Refused when no customer-service message could go to `openid` now; counts nothing."""
    now = int(time.time() if now is None else now)
    fields = r.hmget(key(openid), "e", "eu", "m", "mu")
    open_ = False
    for (_, count, seconds), at, used in zip(_RULES, fields[0::2], fields[1::2], strict=True):
        if at is not None and now - int(at) <= seconds:
            open_ = True
            if int(used or 0) < count:
                return
    raise Refused(openid, OUT_OF_RESPONSES if open_ else OUTSIDE_WINDOW)


def send_text(client: WeChatAPI, r: redis.Redis, openid: str, text: str) -> None:
    """One customer-service text within the follower's allowance. Raises Refused when none may go (by
    our count, or by WeChat's 45047 / 45015), WeChatClientException for any other failure; a message
    WeChat did not take does not count."""
    taken = take(r, openid)
    try:
        client.message.send_text(openid, text)
    except WeChatClientException as exc:
        give_back(r, taken)
        if exc.errcode == OUT_OF_RESPONSES:
            used_up(r, openid)
        if exc.errcode in (OUT_OF_RESPONSES, OUTSIDE_WINDOW):
            raise Refused(openid, exc.errcode) from exc
        raise
