"""`policypush run`: the whole system on one machine: embedded Redis, migrations, demo data, the webhook
server, a worker, the scheduler and the sandbox WeChat API, stopped together with Ctrl-C."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from core.settings import UnreachableLinks, get_settings, is_loopback_host


def run(host: Annotated[str, typer.Option(help="address the server and sandbox listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="webhook server and staff API")] = 8000,
        sandbox_port: Annotated[int, typer.Option(help="sandbox WeChat API and chat simulator")] = 8001,
        server_processes: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
        worker_concurrency: Annotated[int, typer.Option(help="Celery worker processes")] = 2,
        seed: Annotated[bool, typer.Option(help="load demo data into an empty database")] = True) -> None:
    """Run everything on embedded defaults (no servers to install)."""
    from core import migrate
    from core.redis import start_embedded

    sandbox = "WECHAT_API_BASE" not in os.environ
    if sandbox:  # no real account configured: talk to the sandbox
        os.environ["WECHAT_API_BASE"] = f"http://{host}:{sandbox_port}/cgi-bin/"
    if not os.environ.get("PUBLIC_BASE_URL"):  # followers' links go to the server this command starts
        os.environ["PUBLIC_BASE_URL"] = public_base_url(host, port)
    get_settings.cache_clear()
    settings = get_settings()
    try:
        settings.check_public_base_url()
    except UnreachableLinks as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    if not settings.redis_url:
        os.environ["REDIS_URL"] = start_embedded(settings.data_dir)
        get_settings.cache_clear()
    env = dict(os.environ)
    typer.echo(migrate.loaded_text(migrate.upgrade()))
    if seed:
        from cli.seed import seed_demo

        for line in seed_demo():
            typer.echo(line)

    py = sys.executable
    commands = {
        "server": [py, "-m", "uvicorn", "server:app", "--host", host, "--port", str(port),
                   "--workers", str(server_processes), "--log-level", "warning"],
        # WARNING: at INFO Celery logs every beat tick and task, which buries everything else
        "worker": [py, "-m", "celery", "-A", "worker", "worker", "--loglevel", "WARNING",
                   "--concurrency", str(worker_concurrency)],
        "beat": [py, "-m", "celery", "-A", "worker", "beat", "--loglevel", "WARNING",
                 "--schedule", str(settings.data_dir / "beat-schedule")],
    }
    if sandbox:
        commands["sandbox"] = [py, "-m", "sandbox", "--host", host, "--port", str(sandbox_port),
                               "--webhook-url", f"http://{host}:{port}/wechat"]
    procs = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}
    if sandbox:
        _publish_menu(procs["sandbox"])
    typer.echo(f"\nwebhook      http://{host}:{port}/wechat\n"
               f"staff API    http://{host}:{port}/docs\n"
               f"links        {settings.public_base_url} (PUBLIC_BASE_URL: where followers' links point)\n"
               + (f"chat         http://{host}:{sandbox_port}/sandbox/\n" if sandbox else "")
               + "Ctrl-C stops everything.")
    _supervise(procs, commands, env, embedded_redis=None if settings.redis_url else settings.data_dir)


def public_base_url(host: str, port: int) -> str:
    """Where followers' links point when PUBLIC_BASE_URL is unset: the server this command starts."""
    if is_loopback_host(host) and host not in ("localhost", "127.0.0.1", "::1"):  # 0.0.0.0, ::
        typer.secho(f"links point at 127.0.0.1:{port}; set PUBLIC_BASE_URL to the address phones reach "
                    "this machine at", fg="yellow", err=True)
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _publish_menu(sandbox: subprocess.Popen, timeout: float = 30) -> None:
    """Give the sandbox account the chat menu once it answers, so the simulator shows its buttons."""
    from wechatpy.exceptions import WeChatClientException

    from bot import menu

    deadline = time.monotonic() + timeout
    while sandbox.poll() is None and time.monotonic() < deadline:
        try:
            menu.publish()
            return
        except WeChatClientException as exc:
            if exc.errcode is not None:  # the sandbox answered, and refused
                break
            time.sleep(0.2)  # not listening yet
    typer.secho("the sandbox did not take the menu; the chat works without it", fg="yellow", err=True)


def _supervise(procs: dict[str, subprocess.Popen], commands: dict[str, list[str]], env: dict[str, str], *,
               embedded_redis: Path | None) -> None:
    """Until Ctrl-C: a child that exits is started again, and so is the embedded Redis when it stops
    answering, each after a back-off that grows while it keeps failing; the rest keep running meanwhile
    (a crashed worker no longer takes the webhook, and the receipts WeChat sends to it, down too)."""
    from core.redis import redis_answers, start_embedded

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    backoff = {name: Backoff() for name in [*procs, "redis"]}
    while not stopping:
        now = time.monotonic()
        if embedded_redis is not None and not redis_answers(env["REDIS_URL"]) and backoff["redis"].due(now):
            typer.secho("embedded redis does not answer; starting it again", fg="yellow", err=True)
            try:
                start_embedded(embedded_redis)
            except RuntimeError as exc:
                typer.secho(str(exc), fg="red", err=True)
            backoff["redis"].failed(now)
        for name, proc in procs.items():
            if proc.poll() is None:
                backoff[name].running(now)
            elif backoff[name].due(now):
                typer.secho(f"{name} exited with {proc.returncode}; starting it again", fg="yellow", err=True)
                procs[name] = subprocess.Popen(commands[name], env=env)
                backoff[name].failed(now)
        time.sleep(0.5)
    for p in procs.values():
        if p.poll() is None:
            p.terminate()
    for p in procs.values():
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()


class Backoff:
    """When a failing part may be started again: 1 s after its first failure, doubling up to 60 s; a part
    that has run for a minute since starts from 1 s again."""

    STEADY = 60.0

    def __init__(self) -> None:
        self.delay, self.next_at, self.started_at = 0.0, 0.0, 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def failed(self, now: float) -> None:
        self.delay = min(max(self.delay * 2, 1.0), 60.0)
        self.next_at, self.started_at = now + self.delay, now

    def running(self, now: float) -> None:
        if self.delay and now - self.started_at > self.STEADY:
            self.delay = 0.0
