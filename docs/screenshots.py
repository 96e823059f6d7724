"""Screenshots of the console's main pages for the README, from the whole system as `policypush run` starts it.

    .venv/bin/python docs/screenshots.py [--out docs/screenshots]

Starts `policypush run` on free ports in a temporary data directory (demo data, sandbox WeChat API), has a few
sandbox followers chat (answered questions, a hand-over), signs in as demo-admin in Debian's Chromium
(/usr/bin/chromium, `apt-get install chromium chromium-l10n fonts-wqy-zenhei`) and saves one PNG per page, charts drawn
without animation.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.live import free_port, wait_until_up  # noqa: E402
CHROMIUM = "/usr/bin/chromium"
QUESTIONS = ["稳岗返还怎么申请", "小微企业社保补贴有哪些", "人工", "我们企业想了解研发费用加计扣除的最新口径"]
PAGES = [  # (file, path, what to wait for)
    ("dashboard", "/console/", "工作台"),
    ("knowledge", "/console/knowledge", "知识库"),
    ("questions", "/console/questions", "人工咨询"),
    ("questions-report", "/console/questions/report", "高频问题"),
    ("policies", "/console/policies", "政策库"),
    ("enterprises", "/console/enterprises", "企业"),
    ("enterprise-import", "/console/enterprises/import", "导入企业名单"),
    ("segments", "/console/segments", "分组"),
    ("campaign-compose", "/console/campaigns/new", "推送"),
    ("campaigns", "/console/campaigns", "推送"),
    ("surveys", "/console/surveys", "问卷"),
    ("assessment", "/console/assessment", "考核"),
    ("audit", "/console/audit", "审计"),
    ("docs", "/docs", "PolicyPush"),
]


def chat(sandbox: str) -> None:
    """Followers subscribe and ask, as in the chat simulator; the last one's question goes to a person."""
    with httpx.Client(base_url=sandbox, timeout=30) as client:
        for n, question in enumerate(QUESTIONS):
            openid = f"oScreenshot{n:02d}".ljust(28, "0")
            client.post(f"/sandbox/chat/{openid}/event", json={"event": "subscribe"})
            client.post(f"/sandbox/chat/{openid}/text", json={"content": question})
        client.post(f"/sandbox/chat/{'oScreenshot02'.ljust(28, '0')}/text", json={"content": "园区企业怎么申请稳岗返还？"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "WECHAT_API_BASE")}
    env |= {"DATA_DIR": tempfile.mkdtemp(prefix="policypush-screenshots-"), "LOG_LEVEL": "WARNING"}
    run = subprocess.Popen([str(ROOT / ".venv" / "bin" / "policypush"), "run", "--port", str(port),
                            "--sandbox-port", str(sandbox_port)], cwd=ROOT, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz", run, timeout=180)
        chat(f"http://127.0.0.1:{sandbox_port}")
        time.sleep(3)  # the hand-over and answers are written by the worker
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--lang=zh-CN"],
                                        env={**os.environ, "LANGUAGE": "zh_CN"})  # Chromium's own words too
            page = browser.new_context(base_url=base, locale="zh-CN", timezone_id="Asia/Shanghai",
                                       viewport={"width": 1366, "height": 900}).new_page()
            page.goto("/console/login")
            page.get_by_label("用户名").fill("demo-admin")
            page.get_by_label("密码").fill("policypush-demo")
            page.get_by_role("button", name="登录").click()
            page.wait_for_url("**/console/")
            for name, path, text in PAGES:
                sep = "&" if "?" in path else "?"
                response = page.goto(f"{path}{sep}animation=0")
                page.get_by_text(text).first.wait_for()
                page.wait_for_timeout(300)
                page.screenshot(path=args.out / f"{name}.png", full_page=True)
                print(f"{response.status} {path:45} -> {args.out / name}.png", flush=True)
            browser.close()
    finally:
        os.killpg(run.pid, 15)
        run.wait(30)


if __name__ == "__main__":
    sys.exit(main())
