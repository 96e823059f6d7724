"""`policypush run` brings the whole system up on embedded defaults and stops it cleanly."""
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests import live

pytestmark = pytest.mark.slow


def test_run_starts_everything_and_the_chat_reaches_the_webhook(tmp_path):
    port, sandbox_port = live.free_port(), live.free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WECHAT_", "DATABASE_URL", "REDIS_URL", "DATA_DIR", "PUBLIC_BASE_URL"))}
    env["DATA_DIR"] = str(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "run", "--port", str(port),
                             "--sandbox-port", str(sandbox_port), "--worker-concurrency", "1"],
                            cwd=live.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        live.wait_until_up(f"http://127.0.0.1:{port}/healthz", proc, timeout=60)
        live.wait_until_up(f"http://127.0.0.1:{sandbox_port}/sandbox/", proc, timeout=30)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
        chat = httpx.post(f"http://127.0.0.1:{sandbox_port}/sandbox/chat/oRunTest0001/text",
                          json={"content": "帮助"}, timeout=10).json()
        assert chat["reply"]["kind"] == "reply" and chat["reply"]["text"]
        answer = httpx.post(f"http://127.0.0.1:{sandbox_port}/sandbox/chat/oRunTest0001/text",
                            json={"content": "怎样提出申请"}, timeout=30).json()  # an FAQ question, as asked
        assert f"http://127.0.0.1:{port}/faq/" in answer["reply"]["text"]  # links reach the server run started
        menu = httpx.get(f"http://127.0.0.1:{sandbox_port}/sandbox/account").json()["menu"]
        assert [b["name"] for b in menu["button"]] == ["政策问答", "企业服务", "互动"]
        token = httpx.post(f"http://127.0.0.1:{port}/api/auth/token",
                           data={"username": "demo-admin", "password": "policypush-demo"})
        assert token.status_code == 200
        _sign_in_to_the_console(f"http://127.0.0.1:{port}")  # console sessions live in the embedded Redis
        assert (tmp_path / "redis.sock").exists() or any(tmp_path.glob("*.sock"))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-2000:]
    assert f"links        http://127.0.0.1:{port} " in out
    time.sleep(0.5)
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert leftover.strip() == "", "processes left running after Ctrl-C"


def _sign_in_to_the_console(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as browser:
        form = browser.get("/console/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        signed_in = browser.post("/console/login", data={"username": "demo-admin", "password": "policypush-demo",
                                                         "csrf_token": csrf, "next": "/console/"})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/"
        for page in ("/console/", "/console/policies"):  # the second request renews the session
            assert browser.get(page).status_code == 200, page


def test_run_against_the_real_wechat_api_without_public_base_url_refuses_before_starting_anything(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WECHAT_", "DATABASE_URL", "REDIS_URL", "DATA_DIR", "PUBLIC_BASE_URL"))}
    env.update(DATA_DIR=str(tmp_path), WECHAT_API_BASE="https://api.weixin.qq.com/cgi-bin/")
    done = subprocess.run([sys.executable, "-m", "cli.main", "run", "--port", str(live.free_port())],
                          cwd=live.ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "PUBLIC_BASE_URL" in done.stderr and "loopback" in done.stderr
    assert list(tmp_path.iterdir()) == []  # no database, no Redis: nothing was started


def test_run_derives_the_links_from_its_own_host_and_port():
    from cli.run import public_base_url

    assert public_base_url("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert public_base_url("192.168.1.20", 9000) == "http://192.168.1.20:9000"
    assert public_base_url("0.0.0.0", 9000) == "http://127.0.0.1:9000"  # with a warning to set it


def _children(pid: int) -> dict[str, int]:
    """The run command's children by part (server, worker, beat, sandbox)."""
    found = {}
    for child in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split():
        try:
            cmdline = open(f"/proc/{child}/cmdline").read().split("\0")
        except FileNotFoundError:
            continue
        for part, marker in (("server", "uvicorn"), ("worker", "worker"), ("beat", "beat"), ("sandbox", "sandbox")):
            if marker in cmdline and part not in found:
                found[part] = int(child)
                break
    return found


def _wait_for(condition, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_run_restarts_a_crashed_worker_and_a_dead_embedded_redis_and_keeps_the_webhook_up(tmp_path):
    import redis as redis_client

    port, sandbox_port = live.free_port(), live.free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WECHAT_", "DATABASE_URL", "REDIS_URL", "DATA_DIR"))}
    env["DATA_DIR"] = str(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "run", "--port", str(port),
                             "--sandbox-port", str(sandbox_port), "--worker-concurrency", "1"],
                            cwd=live.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    health = f"http://127.0.0.1:{port}/healthz"
    try:
        live.wait_until_up(health, proc, timeout=60)
        parts = _wait_for(lambda: (found := _children(proc.pid)) and len(found) == 4 and found)
        os.kill(parts["worker"], signal.SIGKILL)
        restarted = _wait_for(lambda: _children(proc.pid).get("worker") not in (None, parts["worker"]))
        assert restarted and proc.poll() is None
        assert _children(proc.pid)["server"] == parts["server"]  # the webhook never went down
        assert httpx.get(health, timeout=5).status_code == 200

        sock = next(tmp_path.glob("*.sock"))
        redis_pid = redis_client.Redis.from_url(f"unix://{sock}").info("server")["process_id"]
        os.kill(redis_pid, signal.SIGKILL)
        _wait_for(lambda: _ping(f"unix://{sock}", redis_client))
        _wait_for(lambda: httpx.get(health, timeout=5).json()["status"] == "ok")
        assert proc.poll() is None and _children(proc.pid)["server"] == parts["server"]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-2000:]
    time.sleep(0.5)
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert leftover.strip() == "", "processes left running after Ctrl-C"


def _ping(url: str, redis_client) -> bool:
    try:
        return bool(redis_client.Redis.from_url(url, socket_timeout=0.5).ping())
    except (redis_client.RedisError, OSError):
        return False
