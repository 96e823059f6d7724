"""Slow figures (the dashboard's 30 days, a year's assessment, a campaign's breakdown) kept in Redis for
FIGURES_CACHE_SECONDS, as listmonk caches its dashboard: the first request computes them, the next ones in
that time read them. With Redis unreachable they are computed each time."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from core.redis import get_redis
from core.settings import get_settings

KEY = "figures:{}"


def cached(key: str, compute: Callable[[], Any]) -> Any:
    """`compute()`'s JSON-able value, from the cache when it holds one for `key`."""
    seconds = get_settings().figures_cache_seconds
    if seconds <= 0:
        return compute()
    try:
        hit = get_redis().get(KEY.format(key))
    except RedisError:
        hit = None
    if hit is not None:
        return json.loads(hit)
    value = compute()
    try:
        get_redis().set(KEY.format(key), json.dumps(value, ensure_ascii=False, default=str), ex=seconds)
    except RedisError:
        pass
    return value
