"""Sandbox fixtures: the app in-process, a movable clock, and a stand-in webhook on a real port.

The stand-in webhook checks what the sandbox posts with wechatpy's own crypto and parser, so it
shares no code with sandbox/signing.py.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import ArticlesReply, TextReply

from sandbox import SandboxConfig, create_app
from tests.live import serve

APPID, SECRET, TOKEN = "wxsandboxtest0001", "test-secret", "test-token"
# a value for each key of the default POLICY_NOTICE_TPL (政策名称 thing1, 发文单位 thing2, 发布日期 date3,
# 内容摘要 thing4)
POLICY_DATA = {"thing1": {"value": "新政策"}, "thing2": {"value": "市人民政府办公室"},
               "date3": {"value": "2024年5月1日"}, "thing4": {"value": "支持企业研发投入"}}
NEWS_ARTICLE = {"title": "稳岗返还政策解读", "description": "符合条件的企业可申请。",
                "url": "https://example.gov.cn/a/1", "image": "https://example.gov.cn/a/1.jpg"}
AES_KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode().rstrip("=")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0  # 2023-11-15 06:13 China time

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Sandbox:
    """A TestClient on a sandbox app, with a token ready and JSON helpers."""

    def __init__(self, client: TestClient, clock: Clock | None) -> None:
        self.client, self.clock = client, clock
        self.state = client.app.state.sandbox  # type: ignore[attr-defined]
        self.token = self.new_token()

    def new_token(self) -> str:
        return self.client.get("/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": APPID, "secret": SECRET}).json()["access_token"]

    def api(self, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
        params.setdefault("access_token", self.token)
        if body is None:
            return self.client.get(f"/cgi-bin/{path}", params=params).json()
        return self.client.post(f"/cgi-bin/{path}", params=params, json=body).json()

    def knobs(self, **changes: Any) -> dict[str, Any]:
        resp = self.client.post("/sandbox/knobs", json=changes)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def template(self, touser: str = "oUserAAAA0001", **extra: Any) -> dict[str, Any]:
        return self.api("message/template/send", {
            "touser": touser, "template_id": "POLICY_NOTICE_TPL", "data": POLICY_DATA, **extra})


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """make_sandbox(clock=None, **config) -> Sandbox; closed after the test."""
    clients: list[TestClient] = []

    def make(clock: Clock | None = None, **config: Any) -> Sandbox:
        config = {"appid": APPID, "secret": SECRET, "token": TOKEN, **config}
        app = create_app(SandboxConfig(**config), **({"clock": clock} if clock else {}))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return Sandbox(client, clock)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def sb(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox()


@pytest.fixture
def aes_key() -> str:
    return AES_KEY


@pytest.fixture
def clock() -> Clock:
    return Clock()


class StandInWebhook:
    """The project's webhook as a test double: verifies, decrypts, records, replies."""

    def __init__(self) -> None:
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
        self.received: list[Any] = []  # wechatpy message objects
        self.requests: list[dict[str, str]] = []  # query params
        self.bodies: list[bytes] = []
        # echo | news | plain_reply | bad_signature | wrong_appid | not_xml | http500 | slow
        self.behaviour = "echo"
        self.url = ""

    def reset(self) -> None:
        self.received.clear()
        self.requests.clear()
        self.bodies.clear()
        self.behaviour = "echo"

    async def handle(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.requests.append(q)
        expected = hashlib.sha1("".join(sorted([TOKEN, q["timestamp"], q["nonce"]])).encode())
        if q.get("signature") != expected.hexdigest():
            return PlainTextResponse("bad signature", status_code=403)
        body = await request.body()
        self.bodies.append(body)
        encrypted = q.get("encrypt_type") == "aes"
        xml = (self.crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
               if encrypted else body)
        msg = parse_message(xml)
        self.received.append(msg)
        if self.behaviour == "http500":
            return PlainTextResponse("boom", status_code=500)
        if self.behaviour == "slow":
            await asyncio.sleep(1)
        if msg.type == "text" and self.behaviour == "news":
            reply = ArticlesReply(message=msg, articles=[NEWS_ARTICLE]).render()
        elif msg.type == "text":
            reply = TextReply(content=f"echo: {msg.content}", message=msg).render()
        elif msg.type == "event" and msg.event in ("subscribe", "subscribe_scan"):
            reply = TextReply(content="welcome", message=msg).render()
        else:
            return PlainTextResponse("success")
        if self.behaviour == "not_xml":
            return PlainTextResponse("hello")
        if encrypted and self.behaviour != "plain_reply":
            crypto = self.crypto
            if self.behaviour == "wrong_appid":
                crypto = WeChatCrypto(TOKEN, AES_KEY, "wxsomeoneelse0001")
            reply = crypto.encrypt_message(reply, "12345", q["timestamp"])
            if self.behaviour == "bad_signature":
                reply = reply.replace("<MsgSignature><![CDATA[", "<MsgSignature><![CDATA[0")
        return Response(reply, media_type="application/xml")

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 5) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in list(self.received):
                if predicate(msg):
                    return msg
            time.sleep(0.02)
        raise AssertionError(f"webhook got nothing matching; got {self.received!r}")


@pytest.fixture(scope="session")
def _webhook_server() -> Iterator[StandInWebhook]:
    standin = StandInWebhook()
    app = Starlette(routes=[Route("/wechat", standin.handle, methods=["POST"])])
    with serve(app) as base:
        standin.url = base + "/wechat"
        yield standin


@pytest.fixture
def webhook(_webhook_server: StandInWebhook) -> StandInWebhook:
    _webhook_server.reset()
    return _webhook_server


class SandboxServer:
    """A sandbox served by uvicorn on a real port, for clients that speak real HTTP."""

    def __init__(self, url: str, state: Any) -> None:
        self.url, self.state = url, state


@pytest.fixture
def sandbox_server() -> Iterator[SandboxServer]:
    app = create_app(SandboxConfig(appid=APPID, secret=SECRET, token=TOKEN))
    with serve(app) as url:
        yield SandboxServer(url, app.state.sandbox)
