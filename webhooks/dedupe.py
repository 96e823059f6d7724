"""WeChat retries an unanswered message after 5 s, three tries in all. The first request to claim a
message handles it; a retry (in any server process) waits for and returns the first one's reply."""
from __future__ import annotations

import asyncio
import time

import redis.asyncio as aredis

from subscriptions.service import LAST_SEEN_KEY

PENDING = "\x00pending"
TTL = 60  # WeChat's last retry comes about 15 s after the first try


async def claim(r: aredis.Redis, key: str, openid: str, at: int) -> str | None:
    """Claim `key` for this request; None if claimed, else the stored reply (or PENDING)."""
    async with r.pipeline(transaction=False) as pipe:
        pipe.set(f"wx:dedupe:{key}", PENDING, nx=True, ex=TTL)
        pipe.get(f"wx:dedupe:{key}")
        if openid:
            pipe.hset(LAST_SEEN_KEY, openid, at)
        claimed, current, *_ = await pipe.execute()
    return None if claimed else current


async def store(r: aredis.Redis, key: str, reply: str) -> None:
    await r.set(f"wx:dedupe:{key}", reply, ex=TTL)


async def wait_for_reply(r: aredis.Redis, key: str, budget: float) -> str | None:
    """Poll for the first request's reply until the budget runs out."""
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        current = await r.get(f"wx:dedupe:{key}")
        if current != PENDING:
            return current
    return None
