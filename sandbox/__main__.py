"""python -m sandbox --port 8001 --webhook-url http://127.0.0.1:8000/wechat"""
from __future__ import annotations

import argparse

import uvicorn

from core.settings import get_settings
from sandbox.app import create_app
from sandbox.config import SandboxConfig


def main() -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--webhook-url", default=f"{settings.public_base_url.rstrip('/')}/wechat",
                        help="the project's webhook; '' to post nothing")
    parser.add_argument("--account", default="gh_policypush", help="the account's ToUserName")
    parser.add_argument("--compat", action="store_true", help="compatible mode instead of safe mode")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--no-receipts", action="store_true", help="post no delivery receipts")
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args()
    config = SandboxConfig(
        appid=settings.wechat_appid, secret=settings.wechat_secret, token=settings.wechat_token,
        aes_key=settings.wechat_aes_key, webhook_url=args.webhook_url or None,
        account=args.account, encrypt_mode="compat" if args.compat else "safe",
        latency_ms=args.latency_ms, receipts=not args.no_receipts)
    print(f"WeChat sandbox on http://{args.host}:{args.port}/cgi-bin/ "
          f"(chat: http://{args.host}:{args.port}/sandbox/), webhook: {config.webhook_url}")
    uvicorn.run(create_app(config), host=args.host, port=args.port,
                access_log=args.access_log, log_level="info")


if __name__ == "__main__":
    main()
