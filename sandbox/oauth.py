"""WeChat web authorisation (网页授权) as a follower's WeChat browser sees it, for H5 pages:

- `GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state` sends the browser to
  `redirect_uri?code=...&state=...`. WeChat knows who is reading from its own app; here the follower is
  the one the chat simulator opened the link as (`/sandbox/open`, a cookie).
- `GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code` exchanges a code for the
  follower's openid. A code is single-use and lives 5 minutes, as WeChat's does.
"""
from __future__ import annotations

import html
import secrets
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox.call import OPENID_RE
from sandbox.cgi import json_response
from sandbox.errors import error_body
from sandbox.state import State

CODE_SECONDS = 300
COOKIE = "sandbox_openid"
SCOPES = ("snsapi_base", "snsapi_userinfo")


def routes(state: State) -> list[Route]:
    codes: dict[str, tuple[str, float]] = {}  # code -> (openid, issued at)

    def page(text: str, status_code: int = 400) -> HTMLResponse:
        return HTMLResponse(f"<!doctype html><meta charset=utf-8><p>{html.escape(text)}</p>", status_code)

    async def open_as(request: Request) -> Response:
        """The simulator opens a link as one follower, as their WeChat browser would."""
        openid, url = request.query_params.get("openid", ""), request.query_params.get("url", "")
        if not OPENID_RE.fullmatch(openid) or not state.is_following(openid):
            return page("openid 有误或没有关注公众号")
        if urlsplit(url).scheme not in ("http", "https"):
            return page("url 须是 http(s) 链接")
        response = RedirectResponse(url, status_code=302)
        response.set_cookie(COOKIE, openid, httponly=True, samesite="lax")
        return response

    async def authorize(request: Request) -> Response:
        q = request.query_params
        if q.get("appid") != state.config.appid:
            return page("appid 错误（10003 redirect_uri 域名与后台配置不一致 / 40013 invalid appid）")
        if q.get("response_type") != "code" or q.get("scope") not in SCOPES:
            return page("scope 参数错误或没有 scope 权限（10005）")
        redirect = q.get("redirect_uri", "")
        if urlsplit(redirect).scheme not in ("http", "https"):
            return page("redirect_uri 参数错误（10003）")
        openid = request.cookies.get(COOKIE, "")
        if not OPENID_RE.fullmatch(openid) or not state.is_following(openid):
            return page("请在微信中打开此链接（沙箱：从聊天模拟器中打开）", 403)
        code = secrets.token_hex(16)
        codes[code] = (openid, state.clock())
        for old in [c for c, (_, at) in codes.items() if state.clock() - at > CODE_SECONDS]:
            del codes[old]
        sep = "&" if "?" in redirect else "?"
        return RedirectResponse(redirect + sep + urlencode({"code": code, "state": q.get("state", "")}), 302)

    async def access_token(request: Request) -> Response:
        q = request.query_params
        if q.get("grant_type") != "authorization_code":
            return json_response(error_body(40002))
        if q.get("appid") != state.config.appid:
            return json_response(error_body(40013))
        if q.get("secret") != state.config.secret:
            return json_response(error_body(40125))
        found = codes.pop(q.get("code", ""), None)  # single-use
        if found is None or state.clock() - found[1] > CODE_SECONDS:
            return json_response(error_body(40029))
        return json_response({"access_token": secrets.token_hex(16), "expires_in": 7200,
                              "refresh_token": secrets.token_hex(16), "openid": found[0], "scope": "snsapi_base"})

    return [Route("/sandbox/open", open_as), Route("/connect/oauth2/authorize", authorize),
            Route("/sns/oauth2/access_token", access_token)]
