"""WeChat retries an unanswered message after 5 s, three tries in all. The first request to claim a
message handles it; a retry (in any server process) waits for and returns the first one's reply.

A claim lasts as long as the signed request could be replayed: until its timestamp falls out of
WECHAT_MAX_CLOCK_SKEW, so a captured request posted again minutes later is answered, not handled."""
from __future__ import annotations

import asyncio
import time

from core.autopipeline import AutoPipeline
from subscriptions.service import LAST_SEEN_KEY
from wechat import allowance
from wechat.messages import Inbound

PENDING = "\x00pending"
TTL = 60  # at least: WeChat's last retry comes about 15 s after the first try


def keep_for(timestamp: int, now: int, max_skew: int) -> int:
    """Seconds to keep a claim: until a request signed at `timestamp` is refused as too old."""
    return max(TTL, timestamp + max_skew - now + 1)


# Claim the message (or read what the first try left); the first try also notes what the follower did:
# their last interaction (not WeChat's delivery receipts) and the customer-service allowance it opens.
_CLAIM = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[4]) then return redis.call('GET', KEYS[1]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[6], ARGV[3], ARGV[6] .. 'u', 0)
  if redis.call('TTL', KEYS[3]) < tonumber(ARGV[7]) then redis.call('EXPIRE', KEYS[3], ARGV[7]) end
end
return false
"""


async def claim(r: AutoPipeline, msg: Inbound, at: int, ttl: int = TTL) -> str | None:
    """Claim `msg` for `ttl` seconds; None if claimed, else the stored reply (or PENDING)."""
    opens = allowance.opening(msg.kind, msg.event)
    return await r.execute("EVAL", _CLAIM, 3, f"wx:dedupe:{msg.dedupe_key}", LAST_SEEN_KEY,
                           allowance.key(msg.openid), PENDING, msg.openid, at, ttl,
                           "1" if msg.from_follower else "", opens, allowance.ttl(opens) if opens else 0)


def store(r: AutoPipeline, key: str, reply: str, ttl: int = TTL) -> None:
    """Queued, not awaited: it reaches Redis with the next batch, long before WeChat's first retry."""
    r.send("SET", f"wx:dedupe:{key}", reply, "EX", ttl)


async def wait_for_reply(r: AutoPipeline, key: str, budget: float) -> str | None:
    """Poll for the first request's reply until the budget runs out."""
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        current = await r.execute("GET", f"wx:dedupe:{key}")
        if current != PENDING:
            return current
    return None
