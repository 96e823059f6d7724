"""`policypush run` brings the whole system up on embedded defaults and stops it cleanly."""
import os
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
           if not k.startswith(("WECHAT_", "DATABASE_URL", "REDIS_URL", "DATA_DIR"))}
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
        menu = httpx.get(f"http://127.0.0.1:{sandbox_port}/sandbox/account").json()["menu"]
        assert [b["name"] for b in menu["button"]] == ["政策问答", "企业服务", "互动"]
        token = httpx.post(f"http://127.0.0.1:{port}/api/auth/token",
                           data={"username": "demo-admin", "password": "policypush-demo"})
        assert token.status_code == 200
        assert (tmp_path / "redis.sock").exists() or any(tmp_path.glob("*.sock"))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-2000:]
    time.sleep(0.5)
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert leftover.strip() == "", "processes left running after Ctrl-C"
