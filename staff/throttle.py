"""Sign-in throttling: failures are counted per account (the canonical username typed, known or not, so
a lockout tells nothing about who exists) and per client address. Past SIGNIN_ACCOUNT_FAILURES (or
SIGNIN_ADDRESS_FAILURES) each failure locks further attempts out for 1 s, doubling up to
SIGNIN_MAX_LOCKOUT_SECONDS; a count is forgotten an hour after its last failure; a success clears the
account's count.

The counts live in Redis, shared by every process. While Redis cannot be reached, each process counts in
its own memory instead (and logs it): sign-ins keep working, and guessing stays limited, per process."""
from __future__ import annotations

import logging
import math
import threading
import time

from redis.exceptions import RedisError

from core.redis import get_redis
from core.settings import get_settings

log = logging.getLogger(__name__)
PREFIX = "signin:"
FORGET_AFTER = 3600  # seconds after its last failure that a count starts again from nothing
MEMORY_KEYS = 10_000  # the in-process fallback drops its oldest counts beyond this


def lockout_seconds(failures: int, allowed: int) -> int:
    """How long a key is locked after its `failures`-th failure in a row."""
    if failures < allowed:
        return 0
    return min(2 ** min(failures - allowed, 30), get_settings().signin_max_lockout_seconds)


# count a failure and keep the count FORGET_AFTER from now, in one round trip
_COUNT = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return n
"""


class _Memory:
    """The fallback while Redis is down: the same counts, in this process only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (failures, forget at)
        self._locked: dict[str, float] = {}  # key -> locked until (monotonic)

    def locked_for(self, key: str) -> float:
        with self._lock:
            return max(self._locked.get(key, 0.0) - time.monotonic(), 0.0)

    def fail(self, key: str) -> int:
        now = time.monotonic()
        with self._lock:
            count, forget_at = self._counts.pop(key, (0, now))
            count = count + 1 if forget_at > now else 1
            self._counts[key] = (count, now + FORGET_AFTER)
            while len(self._counts) > MEMORY_KEYS:
                self._counts.pop(next(iter(self._counts)))
            return count

    def lock(self, key: str, seconds: int) -> None:
        with self._lock:
            self._locked[key] = time.monotonic() + seconds
            while len(self._locked) > MEMORY_KEYS:
                self._locked.pop(next(iter(self._locked)))

    def reset(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)
            self._locked.pop(key, None)


_memory = _Memory()


def _keys(username: str, address: str) -> list[tuple[str, int]]:
    s = get_settings()
    return [(f"account:{username}", s.signin_account_failures), (f"address:{address}", s.signin_address_failures)]


def _redis_failed(exc: RedisError) -> None:
    log.warning("sign-in throttling counts in this process only: Redis unreachable (%s)", type(exc).__name__)


def retry_after(*, username: str, address: str) -> int:
    """Whole seconds until this account and address may try again; 0 when they may now."""
    names = [PREFIX + "lock:" + key for key, _ in _keys(username, address)]
    waits = [_memory.locked_for(name) for name in names]  # locks set while Redis was down still hold
    try:
        with get_redis().pipeline(transaction=False) as pipe:
            for name in names:
                pipe.pttl(name)
            waits += [ms / 1000 for ms in pipe.execute() if ms > 0]
    except RedisError as exc:
        _redis_failed(exc)
    return math.ceil(max(waits))


def record_failure(*, username: str, address: str) -> int:
    """Count a failed sign-in; the lockout it starts in whole seconds (0 for none)."""
    longest = 0
    for key, allowed in _keys(username, address):
        count_key, lock_key = PREFIX + "count:" + key, PREFIX + "lock:" + key
        try:
            r = get_redis()
            failures = int(r.eval(_COUNT, 1, count_key, FORGET_AFTER))
            seconds = lockout_seconds(failures, allowed)
            if seconds:
                r.set(lock_key, 1, ex=seconds)
        except RedisError as exc:
            _redis_failed(exc)
            failures = _memory.fail(count_key)
            seconds = lockout_seconds(failures, allowed)
            if seconds:
                _memory.lock(lock_key, seconds)
        longest = max(longest, seconds)
    return longest


def record_success(*, username: str) -> None:
    """A right password clears the account's count and lock (not the address's: one good sign-in must
    not reset the guessing of everyone else behind the same address)."""
    key = "account:" + username
    names = [PREFIX + "count:" + key, PREFIX + "lock:" + key]
    for name in names:
        _memory.reset(name)
    try:
        get_redis().delete(*names)
    except RedisError as exc:
        _redis_failed(exc)
