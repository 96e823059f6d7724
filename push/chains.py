"""Batch chains: each running campaign is sent by a few self-continuing `push.send_batch` tasks.

Chain n of campaign c is alive while Redis holds `push:chain:c:n` (set by the running link, or
"handoff" while its successor waits in the queue). A worker killed mid-batch stops renewing the key;
when it expires the beat tick starts the chain again. Two links of one chain never run at once: a
link first takes the key, and a duplicate finds it taken and ends.
"""
from __future__ import annotations

import redis

HANDOFF = "handoff"

_ACQUIRE = """
local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[2] or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3]) return 1 end
return 0
"""
_IF_HELD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
  return 1 end
return 0
"""


def key(campaign_id: int, chain: int) -> str:
    return f"push:chain:{campaign_id}:{chain}"


class Chains:
    def __init__(self, client: redis.Redis, *, ttl: int = 20) -> None:
        self.r, self.ttl = client, ttl  # ttl: seconds without a sign of life before the tick restarts it
        self._acquire = client.register_script(_ACQUIRE)
        self._if_held = client.register_script(_IF_HELD)

    def reserve(self, campaign_id: int, chain: int, ttl: int | None = None) -> bool:
        """Mark a chain as about to start (before enqueueing it); False when it is alive already."""
        return bool(self.r.set(key(campaign_id, chain), HANDOFF, nx=True, ex=ttl or self.ttl))

    def acquire(self, campaign_id: int, chain: int, token: str, ttl: int | None = None) -> bool:
        return bool(self._acquire(keys=[key(campaign_id, chain)], args=[token, HANDOFF, ttl or self.ttl]))

    def beat(self, campaign_id: int, chain: int, token: str, ttl: int | None = None) -> None:
        self._if_held(keys=[key(campaign_id, chain)], args=[token, token, ttl or self.ttl])

    def hand_off(self, campaign_id: int, chain: int, token: str, ttl: int | None = None) -> None:
        self._if_held(keys=[key(campaign_id, chain)], args=[token, HANDOFF, ttl or self.ttl])

    def drop(self, campaign_id: int, chain: int, token: str) -> None:
        self._if_held(keys=[key(campaign_id, chain)], args=[token, "", 0])

    def alive(self, campaign_id: int, count: int) -> list[bool]:
        return [bool(v) for v in self.r.mget([key(campaign_id, n) for n in range(count)])]
