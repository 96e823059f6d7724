"""The webhook as WeChat's servers see it: a real uvicorn process, checked by the independent probe."""
import re
import subprocess
import sys
import threading

import httpx
import pytest

from tests import live
from tests.conftest import TEST_WECHAT
from tests.webhooks import wx

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("aes", [True, False], ids=["with-aes-key", "plaintext-only"])
def test_probe_conformance(app_env, aes):
    env = {**app_env, **({} if aes else {"WECHAT_AES_KEY": ""})}
    with live.server(env) as url:
        args = [sys.executable, str(live.PROBE), "--url", f"{url}/wechat", "--token", TEST_WECHAT["WECHAT_TOKEN"]]
        if aes:
            args += ["--aes-key", TEST_WECHAT["WECHAT_AES_KEY"], "--appid", TEST_WECHAT["WECHAT_APPID"]]
        out = subprocess.run(args + ["conformance"], capture_output=True, text=True, timeout=60).stdout
    assert re.search(r"^\d+ passed, 0 failed$", out, re.M), out
    assert int(out.split(" passed")[0].split()[-1]) == (17 if aes else 13)


def counted(url: str, outcome: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    m = re.search(rf'^policypush_webhook_requests_total{{outcome="{outcome}"}} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def test_retries_across_two_server_processes_are_handled_once(app_env):
    """The same MsgId sent to two processes at once: one handles it, the other returns its reply."""
    with live.server(app_env) as a, live.server(app_env) as b:
        for n in range(20):
            xml = wx.message(f"oTwo{n:06d}", msg_id=9_000_000 + n, Content="你好")
            query = wx.signed_query()
            replies = {}

            def send(base):
                replies[base] = httpx.post(f"{base}/wechat", params=query, content=xml.encode()).text

            threads = [threading.Thread(target=send, args=(base,)) for base in (a, b)]
            [t.start() for t in threads]
            [t.join() for t in threads]
            assert replies[a] == replies[b] and "<Content>" in replies[a]
        handled = counted(a, "replied") + counted(b, "replied")
        retried = counted(a, "retry") + counted(b, "retry")
    assert (handled, retried) == (20, 20)
