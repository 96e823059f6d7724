"""wechatpy's client, pointed at WECHAT_API_BASE, with one access token shared by every process.

The token lives in Redis; whoever finds it missing or rejected refreshes it under a Redis lock, so a
thousand workers starting together fetch it once (the token endpoint is rate-limited per day).
wechatpy's own retry on 40001 recurses without bound (wechatpy issue 629): it is off, and a
rejected token is refreshed once here.
"""
from __future__ import annotations

import logging
import time
from functools import lru_cache

import redis
import requests
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.client.api import WeChatQRCode
from wechatpy.exceptions import WeChatClientException

from core.redis import get_redis
from core.settings import get_settings
from wechat.errors import TOKEN_INVALID

log = logging.getLogger(__name__)
REAL_API = "https://api.weixin.qq.com/"
REAL_HOSTS = (REAL_API, "https://mp.weixin.qq.com/")
TOKEN_MARGIN = 300  # seconds before WeChat's expiry that the shared token is dropped
# How long a process reuses the token it last read before reading Redis again (a round trip a call saved).
# Safe: WeChat keeps a replaced token working for 5 minutes, and a rejected one is refreshed at once.
TOKEN_REUSE = 30


class _QRCode(WeChatQRCode):
    def show(self, ticket: str | dict) -> requests.Response:
        """wechatpy fetches the image with a bare `requests.get` to mp.weixin.qq.com and no timeout."""
        ticket = ticket["ticket"] if isinstance(ticket, dict) else ticket
        client = self._client
        return client._http.get(client._local("https://mp.weixin.qq.com/cgi-bin/showqrcode"),
                                params={"ticket": ticket}, timeout=client.timeout)


class WeChatAPI(WeChatClient):
    qrcode = _QRCode()

    def __init__(self, *, appid: str, secret: str, api_base: str, redis_client: redis.Redis,
                 timeout: float = 5.0, pool_size: int = 32) -> None:
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base
        self._root = api_base.removesuffix("cgi-bin/")
        self._redis = redis_client
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)
        self.tokens_fetched = 0
        self._held: tuple[str, float] | None = None  # the token last read or fetched, and when

    @property
    def access_token_key(self) -> str:
        return f"wechat:token:{self.appid}"

    @property
    def access_token(self) -> str:
        held = self._held
        if held and time.monotonic() - held[1] < TOKEN_REUSE:
            return held[0]
        return self._hold(self._redis.get(self.access_token_key) or self._refresh(stale=None))

    def _hold(self, token: str) -> str:
        self._held = (token, time.monotonic())
        return token

    def _refresh(self, *, stale: str | None) -> str:
        """Fetch a new token unless another process already replaced `stale`."""
        with self._redis.lock(f"{self.access_token_key}:lock", timeout=30, blocking_timeout=35):
            current = self._redis.get(self.access_token_key)
            if current and current != stale:
                return self._hold(current)
            try:
                resp = self._http.get(self.API_BASE_URL + "token", timeout=self.timeout, params={
                    "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})
            except requests.RequestException as exc:
                raise _network_error(self, exc) from exc
            result = self._decode(resp)
            token, ttl = result["access_token"], int(result.get("expires_in", 7200))
            self._redis.set(self.access_token_key, token, ex=max(ttl - TOKEN_MARGIN, 60))
            self.tokens_fetched += 1
            log.info("access token fetched", extra={"expires_in": ttl})
            return self._hold(token)

    def fetch_access_token(self) -> dict:
        return {"access_token": self._refresh(stale=self._redis.get(self.access_token_key))}

    def _decode(self, resp: requests.Response) -> dict:
        try:
            resp.raise_for_status()
            result = resp.json()
        except (requests.RequestException, ValueError) as exc:
            raise WeChatClientException(None, f"bad response: {exc}", client=self,
                                        request=resp.request, response=resp) from exc
        if result.get("errcode", 0) != 0:
            raise WeChatClientException(int(result["errcode"]), result.get("errmsg", ""), client=self,
                                        request=resp.request, response=resp)
        return result

    def _local(self, url: str) -> str:
        """A URL of WeChat's hosts moved under WECHAT_API_BASE (unchanged against the real API)."""
        if self._root == REAL_API:
            return url
        for host in REAL_HOSTS:
            if url.startswith(host):
                return self._root + url[len(host):]
        return url

    def _request(self, method, url_or_endpoint, **kwargs):
        base = self._local(kwargs.pop("api_base_url", self.API_BASE_URL))
        url = self._local(url_or_endpoint if url_or_endpoint.startswith("http") else base + url_or_endpoint)
        params = kwargs.setdefault("params", {})
        token = params.get("access_token") or self.access_token
        params["access_token"] = token
        try:
            return self._send(method, url, **kwargs)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_INVALID:
                raise
        params["access_token"] = self._refresh(stale=token)
        return self._send(method, url, **kwargs)

    def _send(self, method, url, **kwargs):
        """One call; a network failure becomes a WeChatClientException without errcode (retry)."""
        try:
            return super()._request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise _network_error(self, exc) from exc

    def send_template(self, *, openid: str, template_id: str, data: dict, url: str | None = None,
                      client_msg_id: str | None = None) -> dict:
        """wechatpy 1.8 cannot pass `client_msg_id`, which makes a retried send a no-op at WeChat."""
        body: dict = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return self.post("message/template/send", data=body)


def _network_error(client: WeChatAPI, exc: requests.RequestException) -> WeChatClientException:
    return WeChatClientException(None, f"{type(exc).__name__}: {exc}", client=client, request=exc.request,
                                 response=exc.response)


@lru_cache
def get_client() -> WeChatAPI:
    s = get_settings()
    return WeChatAPI(appid=s.wechat_appid, secret=s.wechat_secret, api_base=s.wechat_api_base,
                     redis_client=get_redis(), timeout=s.wechat_timeout)
