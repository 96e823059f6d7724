"""The chat simulator: followers talk to the project's webhook through the sandbox.

Each action builds the XML WeChat would post, signs (and encrypts) it via the webhook poster,
reads the reply and keeps both directions in the follower's conversation, next to whatever the
account sent through the API.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.call import OPENID_RE
from sandbox.messages import news_card
from sandbox.signing import XmlFields
from sandbox.state import Entry, State
from sandbox.webhook import WebhookPoster

CHAT_HTML = Path(__file__).with_name("chat.html")
ACTIVE_EVENTS = frozenset({"text", "subscribe", "SCAN", "CLICK"})  # open a customer-service allowance
KIND_NAMES = {"text": "文本", "event": "事件", "reply": "被动回复", "template": "模板消息", "custom": "客服消息",
              "mass": "群发", "preview": "群发预览"}  # as chat.html names them


class Refused(Exception):
    """The follower cannot do that now (e.g. talk without following): HTTP 409."""


def routes(state: State, poster: WebhookPoster) -> list[Route]:
    async def send(openid: str, fields: dict[str, Any], text: str) -> dict[str, Any]:
        now = int(state.clock())
        msg = {"ToUserName": state.config.account, "FromUserName": openid, "CreateTime": now, **fields}
        kind = msg.get("Event", msg["MsgType"])
        if kind in ACTIVE_EVENTS:
            state.note_activity(openid, kind)
        entry = state.add_entry([openid], {"dir": "in", "kind": msg["MsgType"], "text": text,
                                           "body": msg}, record=False)
        done = await poster.deliver(msg)
        entry["delivery"] = {"attempts": done.attempts, "status": done.status,
                             "problems": done.problems}
        reply = None
        if done.reply is not None:
            reply = state.add_entry([openid], reply_entry(state, openid, done.reply), record=False)
        return {"sent": entry, "reply": reply}

    def act(openid: str, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """The message fields for one action, after updating the follower's state."""
        following = state.is_following(openid)
        # The API treats unseen openids as followers; here an unseen openid is a newcomer
        # who can follow (or scan a code) for the first time.
        known = state.followers.get(openid)
        followed = following and known is not None and known.subscribed
        action = str(body.get("event") or body.get("type") or "")
        if action == "text":
            content = str(body.get("content", "")).strip()
            if not content:
                raise ValueError("消息内容为空")
            _need(following, "请先关注公众号")
            return ({"MsgType": "text", "Content": content,
                     "MsgId": next(state.inbound_msgids)}, content)
        if action in ("subscribe", "scan"):
            code = None
            if action == "scan":
                code = state.qrcodes.get(str(body.get("ticket", "")))
                if code is None or code.get("expires_at", float("inf")) < state.clock():
                    raise ValueError("二维码 ticket 不存在或已过期")
            if followed and code is None:
                raise Refused("已关注")
            if followed:  # an existing follower scanning a code
                return (_event("SCAN", code["scene"], Ticket=code["ticket"]),
                        f"扫描二维码 {code['scene']}")
            follower = state.follower(openid)
            state.knobs.unfollowed.discard(openid)
            follower.subscribed, follower.subscribe_time = True, int(state.clock())
            follower.subscribe_scene = "ADD_SCENE_QR_CODE" if code else "ADD_SCENE_SEARCH"
            follower.qr_scene_str = code["scene"] if code else ""
            if code:
                return (_event("subscribe", "qrscene_" + code["scene"], Ticket=code["ticket"]),
                        f"扫描二维码 {code['scene']} 并关注")
            return _event("subscribe"), "关注"
        if action == "unsubscribe":
            _need(following, "尚未关注")
            state.follower(openid).subscribed = False
            return _event("unsubscribe"), "取消关注"
        if action in ("CLICK", "VIEW"):
            key = str(body.get("key", ""))
            if not key:
                raise ValueError("菜单事件须带 key（CLICK）或 url（VIEW）")
            _need(following, "请先关注公众号")
            return _event(action, key), f"{'点击菜单' if action == 'CLICK' else '打开菜单链接'} {key}"
        raise ValueError("event 须为 text、subscribe、unsubscribe、scan、CLICK 或 VIEW")

    async def chat(request: Request) -> JSONResponse:
        openid, what = request.path_params["openid"], request.path_params["what"]
        if what not in ("text", "event"):
            return JSONResponse({"error": "POST /sandbox/chat/{openid}/text 或 /event"}, 404)
        if not OPENID_RE.fullmatch(openid):
            return JSONResponse({"error": "openid 须为 6-64 位字母、数字、_ 或 -"}, 400)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("请发送 JSON 对象")
            if what == "text":
                body["event"] = "text"
            fields, text = act(openid, body)
        except Refused as exc:
            return JSONResponse({"error": str(exc)}, 409)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(await send(openid, fields, text))

    async def inbox(request: Request) -> JSONResponse:
        openid = request.path_params["openid"]
        after = request.query_params.get("after", "0")
        after = int(after) if after.isdigit() else 0
        known = state.followers.get(openid)
        return JSONResponse({
            "openid": openid, "following": state.is_following(openid),
            "follower": known.to_json() if known else None,
            "messages": [e for e in state.conversations.get(openid, ()) if e["id"] > after]})

    async def inbox_html(request: Request) -> HTMLResponse:
        openid = request.path_params["openid"]
        return HTMLResponse(render_inbox(openid, list(state.conversations.get(openid, ()))))

    async def followers(request: Request) -> JSONResponse:
        return JSONResponse([{**f.to_json(), "following": state.is_following(f.openid)}
                             for f in state.followers.values()])

    async def set_follower(request: Request) -> JSONResponse:
        """Test setup without the webhook: set subscribed, nickname or last_active_at (the time of the
        follower's last message, which opens the 48-hour allowance; null: none)."""
        openid = request.path_params["openid"]
        if not OPENID_RE.fullmatch(openid):
            return JSONResponse({"error": "bad openid"}, 400)
        body = await request.json()
        allowed = {"subscribed": bool, "nickname": str, "last_active_at": (int, float, type(None))}
        if not isinstance(body, dict) or any(
                k not in allowed or not isinstance(v, allowed[k]) for k, v in body.items()):
            return JSONResponse({"error": f"fields: {sorted(allowed)}"}, 400)
        follower = state.follower(openid)
        for key, value in body.items():
            if key == "last_active_at":
                state.allowances.pop((openid, "message"), None)
                if value is not None:
                    state.note_activity(openid, "text", at=value)
            else:
                setattr(follower, key, value)
        return JSONResponse(follower.to_json())

    async def account(request: Request) -> JSONResponse:
        config, now = state.config, state.clock()
        return JSONResponse({
            "account": config.account, "appid": config.appid, "webhook_url": config.webhook_url,
            "encrypted": bool(config.aes_key), "menu": state.menu,
            "qrcodes": [c for c in state.qrcodes.values() if c.get("expires_at", now + 1) > now]})

    async def page(request: Request) -> Response:
        return HTMLResponse(CHAT_HTML.read_text(encoding="utf-8"))

    return [
        Route("/sandbox/", page), Route("/sandbox/chat", page),
        Route("/sandbox/chat/{openid}/{what:str}", chat, methods=["POST"]),
        Route("/sandbox/inbox/{openid}.html", inbox_html),
        Route("/sandbox/inbox/{openid}", inbox),
        Route("/sandbox/followers", followers),
        Route("/sandbox/followers/{openid}", set_follower, methods=["POST"]),
        Route("/sandbox/account", account),
    ]


def _need(condition: bool, why: str) -> None:
    if not condition:
        raise Refused(why)


def _event(event: str, key: str | None = None, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"MsgType": "event", "Event": event}
    if key is not None:
        fields["EventKey"] = key
    return {**fields, **extra}


def reply_entry(state: State, openid: str, reply: XmlFields) -> Entry:
    entry = {"dir": "out", "kind": "reply", "text": reply_text(reply), "body": reply,
             "problems": reply_problems(state, openid, reply)}
    if reply.get("MsgType") == "news":
        items = (reply.get("Articles") or {}).get("item", [])
        entry["card"] = news_card([{k.lower(): v for k, v in i.items()} for i in items if isinstance(i, dict)])
    return entry


def reply_text(reply: XmlFields) -> str:
    kind = reply.get("MsgType")
    if kind == "text":
        return str(reply.get("Content", ""))
    if kind == "news":
        items = (reply.get("Articles") or {}).get("item", [])
        return "\n".join(f"{i.get('Title', '')} {i.get('Url', '')}".strip() for i in items)
    if kind == "transfer_customer_service":
        return "[转人工客服]"
    return f"[{kind}]"


def reply_problems(state: State, openid: str, reply: XmlFields) -> list[str]:
    """What WeChat would reject in a passive reply (it shows the user an error instead)."""
    problems = []
    if reply.get("ToUserName") != openid:
        problems.append(f"ToUserName 为 {reply.get('ToUserName')!r}，应为粉丝的 openid")
    if reply.get("FromUserName") != state.config.account:
        problems.append(f"FromUserName 为 {reply.get('FromUserName')!r}，应为公众号")
    if not str(reply.get("CreateTime", "")).isdigit():
        problems.append("缺少 CreateTime")
    if reply.get("MsgType") not in ("text", "image", "voice", "video", "music", "news",
                                    "transfer_customer_service"):
        problems.append(f"未知的 MsgType {reply.get('MsgType')!r}")
    return problems


def render_inbox(openid: str, entries: list[Entry]) -> str:
    rows = "".join(
        f'<li class="{e["dir"]}"><small>#{e["id"]} {KIND_NAMES.get(e["kind"], e["kind"])}'
        f'{" · " + html.escape(str(e["status"])) if e.get("status") else ""}</small>'
        f'<pre>{html.escape(str(e.get("text", "")))}</pre></li>' for e in entries)
    return (f"<!doctype html><html lang=zh-CN><meta charset=utf-8><title>{html.escape(openid)} 的消息记录</title>"
            "<style>body{font:14px sans-serif;max-width:40em;margin:auto;background:#ededed}li{list-style:none;"
            "margin:.5em;padding:.4em;border-radius:6px}.in{background:#95ec69;margin-left:4em}"
            ".out{background:#fff;margin-right:4em}pre{white-space:pre-wrap;margin:0}</style>"
            f"<h1>{html.escape(openid)}</h1><ul>{rows or '<li>还没有消息</li>'}</ul>")
