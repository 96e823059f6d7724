"""Cached figures: computed once within FIGURES_CACHE_SECONDS, every time when it is 0 or Redis is gone."""
from __future__ import annotations

import pytest

from core import cache
from core.settings import get_settings


@pytest.fixture
def calls():
    made = []

    def compute():
        made.append(1)
        return {"n": len(made), "rows": [1, 2]}

    return made, compute


def test_a_figure_is_computed_once_then_read_from_redis(redis_client, calls, monkeypatch):
    monkeypatch.setenv("FIGURES_CACHE_SECONDS", "60")
    get_settings.cache_clear()
    made, compute = calls
    assert cache.cached("t", compute) == cache.cached("t", compute) == {"n": 1, "rows": [1, 2]}
    assert len(made) == 1 and 0 < redis_client.ttl("figures:t") <= 60


def test_zero_seconds_or_no_redis_computes_every_time(redis_client, calls, monkeypatch):
    from core import redis as core_redis

    made, compute = calls
    monkeypatch.setenv("FIGURES_CACHE_SECONDS", "0")
    get_settings.cache_clear()
    cache.cached("t", compute)
    cache.cached("t", compute)
    assert len(made) == 2 and not redis_client.exists("figures:t")
    monkeypatch.setenv("FIGURES_CACHE_SECONDS", "60")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    get_settings.cache_clear()
    core_redis.redis_url.cache_clear()
    core_redis.get_redis.cache_clear()
    try:
        assert cache.cached("t", compute)["n"] == 3 and cache.cached("t", compute)["n"] == 4
    finally:
        get_settings.cache_clear()
        core_redis.redis_url.cache_clear()
        core_redis.get_redis.cache_clear()
