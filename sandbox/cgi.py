"""The /cgi-bin/ front door: latency, access tokens, injected errors, then the handlers.

This is the hot path (thousands of sends a second): plain Starlette, no validation framework,
stdlib json, and no await between a handler's checks and its state changes.
"""
from __future__ import annotations

import asyncio
import html
import json
import random
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import account, messages
from sandbox.call import Call, Registry
from sandbox.errors import ApiError, error_body
from sandbox.state import State
from sandbox.webhook import WebhookPoster

ENDPOINTS = Registry({**messages.api, **account.api})


def json_response(data: Any) -> Response:
    # WeChat answers errors with HTTP 200 too; only the errcode tells.
    return Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                    media_type="application/json; encoding=utf-8")


def routes(state: State, poster: WebhookPoster) -> list[Route]:
    def fail(errcode: int, detail: str = "") -> Response:
        state.errors[errcode] += 1
        return json_response(error_body(errcode, detail))

    async def cgi(request: Request) -> Response:
        path = request.path_params["path"].strip("/")
        knobs = state.knobs
        if knobs.latency_ms:
            await asyncio.sleep(knobs.latency_ms / 1000)
        state.stats["api_calls"] += 1
        query = request.query_params
        if path == "token":
            try:
                return json_response(issue_token(state, query))
            except ApiError as exc:
                return fail(exc.errcode)
        if path == "showqrcode":
            return show_qrcode(state, query.get("ticket", ""))
        endpoint = ENDPOINTS.get(path)
        if endpoint is None:
            return fail(48001)
        errcode = state.token_error(query.get("access_token"))
        if errcode:
            return fail(errcode)
        if knobs.error_rate and random.random() < knobs.error_rate:
            state.stats["errors_injected"] += 1
            return fail(-1)
        raw = await request.body() if request.method == "POST" else b""
        if endpoint.needs_body and not raw.strip():
            return fail(44002)
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return fail(47001)
        if not isinstance(body, dict):
            return fail(47001)
        try:
            return json_response(endpoint.handler(Call(state, poster, body, query)))
        except ApiError as exc:
            return fail(exc.errcode, exc.detail)

    return [Route("/cgi-bin/{path:path}", cgi, methods=["GET", "POST"])]


def issue_token(state: State, query: Mapping[str, str]) -> dict[str, Any]:
    config = state.config
    if query.get("grant_type") != "client_credential":
        raise ApiError(40002)
    if not query.get("appid"):
        raise ApiError(41002)
    if query["appid"] != config.appid:
        raise ApiError(40013)
    if not query.get("secret"):
        raise ApiError(41004)
    if query["secret"] != config.secret:  # the token API docs give 40001 for a wrong AppSecret
        raise ApiError(40001)
    day_key = ("token", state.today())
    if state.daily[day_key] >= state.knobs.token_daily_limit:
        raise ApiError(45009)
    state.daily[day_key] += 1
    return {"access_token": state.issue_token(), "expires_in": state.knobs.token_ttl}


def show_qrcode(state: State, ticket: str) -> Response:
    """A placeholder image naming the scene; the real one encodes the code's url."""
    code = state.qrcodes.get(ticket)
    if code is None:
        return Response("invalid ticket", status_code=404, media_type="text/plain")
    label = html.escape(f"{code['action_name']}: {code['scene']}")
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="430" height="430">'
           '<rect width="430" height="430" fill="#fff" stroke="#000" stroke-width="8"/>'
           f'<text x="215" y="215" font-size="18" text-anchor="middle">{label}</text></svg>')
    return Response(svg, media_type="image/svg+xml")
