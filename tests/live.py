"""Real processes for the tests: uvicorn servers and Celery workers on this machine."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

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


def killable_worker(env: dict, name: str, concurrency: int = 2) -> subprocess.Popen:
    """A real `celery worker` in its own process group, so that SIGKILL to the group takes it and its pool;
    the caller stops it."""
    args = [sys.executable, "-m", "celery", "-A", "worker", "worker", "--concurrency", str(concurrency),
            "--hostname", f"{name}-{uuid.uuid4().hex[:6]}@%h", "--loglevel", "WARNING",
            "--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, start_new_session=True)


@contextmanager
def serve(app) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on a free port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


@contextmanager
def sandbox(env: dict, webhook_url: str | None = None, **knobs) -> Iterator[tuple[str, object]]:
    """The sandbox WeChat API for the account in `env`; yields its /cgi-bin/ base and its state."""
    from sandbox import SandboxConfig, create_app

    config = SandboxConfig(appid=env["WECHAT_APPID"], secret=env["WECHAT_SECRET"], token=env["WECHAT_TOKEN"],
                           aes_key=env.get("WECHAT_AES_KEY") or None, webhook_url=webhook_url, **knobs)
    app = create_app(config)
    with serve(app) as url:
        yield f"{url}/cgi-bin/", app.state.sandbox
