"""One global send rate for every worker: a token bucket in Redis, refilled by Redis's own clock.

Celery's `rate_limit` is per worker; this bucket is shared, so adding workers never exceeds it.
"""
from __future__ import annotations

import time

import redis

# KEYS[1] bucket; ARGV rate (tokens/s), burst, wanted. Returns {granted, ms to wait when 0}.
_TAKE = """
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(b[1]), tonumber(b[2])
if tokens == nil then tokens, ts = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local got = math.min(want, math.floor(tokens))
tokens = tokens - got
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
if got > 0 then return {got, 0} end
return {0, math.ceil((1 - tokens) * 1000 / rate)}
"""


class TokenBucket:
    def __init__(self, client: redis.Redis, *, rate: float, key: str = "push:rate", burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst or max(1.0, rate * 0.1)  # at most 100 ms of sends at once
        self.key = key
        self._take = client.register_script(_TAKE)

    def take(self, want: int) -> int:
        """Wait until at least one token is free; take up to `want` of them and return how many."""
        want = max(1, min(want, int(self.burst)))
        while True:
            got, wait_ms = self._take(keys=[self.key], args=[self.rate, self.burst, want])
            if got:
                return int(got)
            time.sleep(min(int(wait_ms), 1000) / 1000)
