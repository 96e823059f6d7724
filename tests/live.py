"""Real processes for the tests: uvicorn servers and Celery workers on this machine."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT.parent / "shared" / "tools" / "wechat_probe.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


@contextmanager
def process(args: list[str], env: dict, ready_url: str | None = None) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env})
    try:
        if ready_url:
            wait_until_up(ready_url, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def server(env: dict, port: int | None = None) -> Iterator[str]:
    """`uvicorn server:app`; yields its base URL."""
    port = port or free_port()
    args = [sys.executable, "-m", "uvicorn", "server:app", "--port", str(port), "--log-level", "warning"]
    with process(args, env, f"http://127.0.0.1:{port}/healthz"):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def worker(env: dict, concurrency: int = 2, name: str = "w1") -> Iterator[subprocess.Popen]:
    """`celery -A worker worker`; yields once it has connected to the broker."""
    args = [sys.executable, "-m", "celery", "-A", "worker", "worker", "--concurrency", str(concurrency),
            "--hostname", f"{name}@%h", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"]
    with process(args, env) as proc:
        from core.queue import celery_app

        deadline = time.monotonic() + 30
        while not (celery_app.control.ping(timeout=0.5) or []):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("celery worker did not start")
        yield proc
